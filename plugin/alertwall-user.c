/* Copyright (c) 2026 alertwall authors */

/* alertwall-user: the mail user's side of the engine. Each mail_user gets
   its alertwall settings at creation (plugin {} is read per user); the
   adapters raise failures and report successes through it, and the
   delivery adapters bracket a delivery so that the storage failures inside
   it are held and raised once with the final reply. */

#include "lib.h"
#include "ioloop.h"
#include "hostpid.h"
#include "module-context.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "mail-error.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-hooks.h"
#include "mail-storage-settings.h"
#include "settings-parser.h"
#include "alertwall-engine-module.h"
#include "alertwall-store.h"
#include "alertwall-events.h"
#include "alertwall-user.h"

#include <sys/stat.h>

#define ALERTWALL_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, alertwall_user_module)

/* a sync success is reported at most this often per session: the user
   index lookup is cheap, but imap syncs all the time */
#define ALERTWALL_SUCCESS_INTERVAL_SECS 10

struct alertwall_user {
	union mail_user_module_context module_ctx;

	struct alertwall_engine_settings set;

	time_t last_success;
	/* the suspension check before this delivery (lmtp and lda have a
	   mail user per delivery) found no alert index and nothing was
	   raised since: its successes have nothing to resolve, and the
	   state is not read again */
	bool unindexed;
	bool delivering;
	bool delivery_saved;
	bool held;
	/* its event carries alertwall-events' log message callback */
	bool log_watched;
	struct alertwall_held_failure held_failure;
};

static MODULE_CONTEXT_DEFINE_INIT(alertwall_user_module,
				  &mail_user_module_register);

static struct mail_user *current_user;
/* whether this process looked for mails a stopped deliver run left */
static bool spool_resume_checked;
/* guards against an alert's own logging raising another alert */
static bool raising;

static const char *alertwall_user_getenv(const char *name, void *context)
{
	struct mail_user *user = context;

	return mail_user_plugin_getenv(user, name);
}

static void
alertwall_failure_fill(struct alertwall_failure *failure,
		       struct mail_user *user)
{
	if (failure->user == NULL && user != NULL)
		failure->user = user->username;
	if (failure->session == NULL && user != NULL)
		failure->session = user->session_id;
	if (failure->service == NULL)
		failure->service = master_service_get_name(master_service);
	if (failure->host == NULL)
		failure->host = my_hostname;
}

static void
alertwall_profile_subject_init(struct alertwall_profile_subject *subject_r,
			       struct mail_user *user, const char *username)
{
	const char *home;

	i_zero(subject_r);
	subject_r->user = username;
	if (user == NULL)
		return;
	if (mail_user_get_home(user, &home) > 0)
		subject_r->mail_path = home;
	subject_r->userdb_fields = user->userdb_fields;
}

void alertwall_user_raise(struct mail_user *user,
			  const struct alertwall_failure *failure_in,
			  const char *orig_headers)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);
	const struct alertwall_engine_module *engine;
	struct alertwall_profile_subject subject;
	struct alertwall_failure failure;

	if (auser == NULL || raising)
		return;
	engine = alertwall_engine_get();
	if (engine == NULL)
		return;
	auser->unindexed = FALSE;
	raising = TRUE;
	T_BEGIN {
		failure = *failure_in;
		alertwall_failure_fill(&failure, user);
		alertwall_profile_subject_init(&subject, user, failure.user);
		engine->failure(&auser->set, &failure, &subject, orig_headers);
	} T_END;
	raising = FALSE;
}

static const char *alertwall_process_getenv(const char *name, void *context)
{
	const struct mail_user_settings *user_set = context;

	return mail_user_set_plugin_getenv(user_set, name);
}

/* The process's mail user settings (plugin {} before any userdb fields),
   NULL in a process that reads none. The storage service's root is a
   copy extended by the storage drivers, found by name as Dovecot does. */
static const struct mail_user_settings *alertwall_process_user_set(void)
{
	struct setting_parser_context *parser;
	const struct setting_parser_info *const *roots;
	void *const *sets;
	unsigned int i;

	parser = master_service_get_settings_parser(master_service);
	if (parser == NULL)
		return NULL;
	roots = settings_parser_get_roots(parser);
	sets = settings_parser_get_list(parser);
	for (i = 0; roots[i] != NULL; i++) {
		if (strcmp(roots[i]->module_name,
			   mail_user_setting_parser_info.module_name) == 0)
			return sets[i];
	}
	return NULL;
}

void alertwall_raise_global(const struct alertwall_failure *failure_in)
{
	const struct mail_user_settings *user_set;
	struct alertwall_profile_subject subject;
	const struct alertwall_engine_module *engine;
	struct alertwall_engine_settings set;
	struct alertwall_failure failure;

	if (current_user != NULL &&
	    ALERTWALL_USER_CONTEXT(current_user) != NULL) {
		alertwall_user_raise(current_user, failure_in, NULL);
		return;
	}
	if (raising)
		return;
	/* No mail user yet: a userdb lookup failed before one was made, or
	   lmtp's first client, whose raw user is made before the mail
	   plugins are loaded. The process's own plugin {} settings apply. */
	user_set = alertwall_process_user_set();
	if (user_set != NULL &&
	    !alertwall_settings_get_bool(alertwall_process_getenv,
					 (void *)user_set,
					 ALERTWALL_SETTING_ENABLE, TRUE))
		return;
	raising = TRUE;
	T_BEGIN {
		if (user_set == NULL)
			alertwall_engine_settings_init(&set);
		else {
			alertwall_settings_fill(&set, alertwall_process_getenv,
				(void *)user_set, user_set->base_dir);
		}
		failure = *failure_in;
		alertwall_failure_fill(&failure, NULL);
		i_zero(&subject);
		subject.user = failure.user;
		engine = alertwall_engine_get();
		if (engine != NULL)
			engine->failure(&set, &failure, &subject, NULL);
	} T_END;
	raising = FALSE;
}

void alertwall_user_success(struct mail_user *user, bool force)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	/* a muted process delivers alert mails: their success (they are
	   small, and go in over quota) says nothing of the mailbox and must
	   not reset or resolve its alerts */
	if (auser == NULL || raising || auser->set.mute)
		return;
	if (!force &&
	    ioloop_time - auser->last_success < ALERTWALL_SUCCESS_INTERVAL_SECS)
		return;
	auser->last_success = ioloop_time;
	if (auser->unindexed ||
	    !alertwall_store_user_maybe_indexed(auser->set.state_uri,
						user->username)) {
		/* nothing to resolve; an alert that another process raised
		   meanwhile is resolved by a later success */
		return;
	}
	raising = TRUE;
	T_BEGIN {
		const struct alertwall_engine_module *engine =
			alertwall_engine_get();

		if (engine != NULL)
			engine->success(&auser->set, user->username);
	} T_END;
	raising = FALSE;
}

bool alertwall_user_is_suspended(struct mail_user *user,
				 const char **reason_r)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);
	const struct alertwall_engine_module *engine;
	bool indexed;

	/* alert mails (delivered muted) still reach a suspended mailbox:
	   its owner must learn why their mail stopped */
	if (auser == NULL || auser->set.mute)
		return FALSE;
	/* most users have no alert: tell it without the engine */
	if (!alertwall_store_user_maybe_indexed(auser->set.state_uri,
						user->username)) {
		auser->unindexed = TRUE;
		return FALSE;
	}
	engine = alertwall_engine_get();
	if (engine == NULL)
		return FALSE;
	if (engine->is_suspended(&auser->set, user->username, reason_r,
				 &indexed))
		return TRUE;
	auser->unindexed = !indexed;
	return FALSE;
}

bool alertwall_user_is_active(struct mail_user *user)
{
	return ALERTWALL_USER_CONTEXT(user) != NULL;
}

bool alertwall_user_is_muted(struct mail_user *user)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	return auser != NULL && auser->set.mute;
}

void alertwall_user_delivery_begin(struct mail_user *user)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	if (auser == NULL)
		return;
	auser->delivering = TRUE;
	auser->delivery_saved = FALSE;
	auser->held = FALSE;
}

void alertwall_user_delivery_saved(struct mail_user *user)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	if (auser != NULL && auser->delivering)
		auser->delivery_saved = TRUE;
}

bool alertwall_user_is_delivering(struct mail_user *user)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	return auser != NULL && auser->delivering;
}

bool alertwall_user_delivery_end(struct mail_user *user,
				 struct alertwall_held_failure *held_r,
				 bool *saved_r)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	i_zero(held_r);
	*saved_r = FALSE;
	if (auser == NULL)
		return FALSE;
	auser->delivering = FALSE;
	*saved_r = auser->delivery_saved;
	if (!auser->held)
		return FALSE;
	*held_r = auser->held_failure;
	auser->held = FALSE;
	return TRUE;
}

bool alertwall_user_hold_failure(struct mail_user *user,
				 const struct alertwall_failure *failure)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	if (auser == NULL || !auser->delivering)
		return FALSE;
	/* the first failure is the cause and later ones its echoes, except
	   that a missing mailbox is created by the delivery itself */
	if (!auser->held ||
	    auser->held_failure.mail_error == MAIL_ERROR_NOTFOUND) {
		auser->held = TRUE;
		auser->held_failure.source = failure->source;
		auser->held_failure.mail_error = failure->mail_error;
		auser->held_failure.errno_value = failure->errno_value;
		auser->held_failure.text = p_strdup(user->pool, failure->text);
		auser->held_failure.mailbox =
			p_strdup(user->pool, failure->mailbox);
	}
	return TRUE;
}

struct mail_user *alertwall_current_user(void)
{
	return current_user;
}

static void alertwall_user_deinit(struct mail_user *user)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	if (current_user == user)
		current_user = NULL;
	if (auser->log_watched)
		alertwall_events_unwatch_user(user);
	auser->module_ctx.super.deinit(user);
}

static void
alertwall_folder_ns(struct mail_namespace *namespaces, pool_t pool,
		    struct alertwall_spool_settings *set)
{
	struct mail_namespace *ns;

	/* not mail_namespace_find_inbox(): it asserts that an inbox exists,
	   and internal users (lmtp's raw storage) have none */
	for (ns = namespaces; ns != NULL; ns = ns->next) {
		if ((ns->flags & NAMESPACE_FLAG_INBOX_USER) != 0) {
			set->folder_prefix = p_strdup(pool, ns->prefix);
			set->folder_sep = mail_namespace_get_sep(ns);
			return;
		}
	}
}

static void alertwall_mail_namespaces_created(struct mail_namespace *namespaces)
{
	struct mail_user *user;
	struct alertwall_user *auser;

	if (namespaces == NULL)
		return;
	user = namespaces->user;
	auser = ALERTWALL_USER_CONTEXT(user);
	/* the walls use the prefix and separator of the user's inbox
	   namespace; the admin's namespaces come from the same
	   configuration */
	if (auser != NULL)
		alertwall_folder_ns(namespaces, user->pool, &auser->set.spool);
}

static void alertwall_user_settings(struct mail_user *user,
				    struct alertwall_engine_settings *set)
{
	alertwall_settings_fill(set, alertwall_user_getenv, user,
				user->set->base_dir);
}

/* Nudge the deliver service if a stopped run left alert mails behind
   (one stat() otherwise); the engine, which nudges it, only when one
   did. */
static void
alertwall_user_spool_resume(const struct alertwall_spool_settings *set)
{
	const struct alertwall_engine_module *engine;
	struct stat st;

	if (set->spool_dir == NULL || *set->spool_dir == '\0')
		return;
	if (stat(t_strconcat(set->spool_dir, "/"ALERTWALL_SPOOL_PENDING, NULL),
		 &st) < 0)
		return;
	engine = alertwall_engine_get();
	if (engine != NULL)
		engine->spool_notify(set);
}

static void alertwall_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct alertwall_user *auser;

	if (!alertwall_settings_get_bool(alertwall_user_getenv, user,
					 ALERTWALL_SETTING_ENABLE, TRUE))
		return;

	auser = p_new(user->pool, struct alertwall_user, 1);
	auser->module_ctx.super = *v;
	user->vlast = &auser->module_ctx.super;
	v->deinit = alertwall_user_deinit;
	alertwall_user_settings(user, &auser->set);

	MODULE_CONTEXT_SET(user, alertwall_user_module, auser);
	current_user = user;
	/* the raw storage's and shared namespaces' users log under another
	   user's event or outside any: the global callback keeps them */
	if (!user->autocreated)
		auser->log_watched = alertwall_events_watch_user(user);

	if (!spool_resume_checked) {
		spool_resume_checked = TRUE;
		alertwall_user_spool_resume(&auser->set.spool);
	}
}

static struct mail_storage_hooks alertwall_user_hooks = {
	.mail_user_created = alertwall_mail_user_created,
	.mail_namespaces_created = alertwall_mail_namespaces_created,
};

void alertwall_users_init(struct module *module)
{
	mail_storage_hooks_add(module, &alertwall_user_hooks);
}

void alertwall_users_deinit(void)
{
	mail_storage_hooks_remove(&alertwall_user_hooks);
	alertwall_engine_unload();
	current_user = NULL;
}
