/* Copyright (c) 2026 alertwall authors */

/* alertwall-user: the engine. Each mail_user gets its settings at creation;
   alertwall_user_raise() turns a failure into an alert and hands it to the
   sinks (sidecar log, Dovecot's log, the walls' spool). The rules file is
   compiled once per process and reloaded when it changes on disk. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "hostpid.h"
#include "time-util.h"
#include "module-context.h"
#include "master-service.h"
#include "mail-error.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-hooks.h"
#include "alertwall-rules.h"
#include "alertwall-record.h"
#include "alertwall-sidecar.h"
#include "alertwall-spool.h"
#include "alertwall-events.h"
#include "alertwall-user.h"

#include <sys/stat.h>

#define ALERTWALL_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, alertwall_user_module)

/* how often the rules file's stat is checked for changes */
#define ALERTWALL_RULES_CHECK_INTERVAL_SECS 1

struct alertwall_user {
	union mail_user_module_context module_ctx;

	const char *rules_path;
	const char *log_path;
	const char *spool_dir;
	struct alertwall_spool_settings spool_set;
	/* delivering alerts: failures go to the sidecar only (no loops) */
	bool mute;

	bool delivering;
	bool delivery_saved;
	bool held;
	struct alertwall_held_failure held_failure;
};

/* the compiled rules file, shared by all users of the process */
struct alertwall_rules_cache {
	char *path;
	struct alertwall_rules *rules;
	struct stat st;
	time_t last_check;
	/* the file is broken: run on the builtin rules */
	bool invalid;
};

/* one sidecar writer per log path; normally there is one */
struct alertwall_sidecar_entry {
	char *path;
	struct alertwall_sidecar *sidecar;
};

static MODULE_CONTEXT_DEFINE_INIT(alertwall_user_module,
				  &mail_user_module_register);

static struct alertwall_rules_cache rules_cache;
static ARRAY(struct alertwall_sidecar_entry) sidecars;
static struct mail_user *current_user;
/* guards against an alert's own logging raising another alert */
static bool raising;

static const char *
alertwall_user_setting(struct mail_user *user, const char *name,
		       const char *default_value)
{
	const char *value = mail_user_plugin_getenv(user, name);

	return value == NULL || *value == '\0' ? default_value : value;
}

static struct alertwall_sidecar *alertwall_sidecar_get(const char *path)
{
	struct alertwall_sidecar_entry *entry;

	if (!array_is_created(&sidecars))
		i_array_init(&sidecars, 2);
	array_foreach_modifiable(&sidecars, entry) {
		if (strcmp(entry->path, path) == 0)
			return entry->sidecar;
	}
	entry = array_append_space(&sidecars);
	entry->path = i_strdup(path);
	entry->sidecar = alertwall_sidecar_open(path);
	return entry->sidecar;
}

static void alertwall_rules_cache_clear(void)
{
	if (rules_cache.rules != NULL)
		alertwall_rules_free(&rules_cache.rules);
	i_free(rules_cache.path);
	i_zero(&rules_cache);
}

static void
alertwall_rules_invalid(const char *path, const char *errors)
{
	struct alertwall_failure failure;
	const char *const *lines = t_strsplit(errors, "\n");

	for (; *lines != NULL; lines++) {
		if (**lines != '\0')
			i_error("alertwall: %s", *lines);
	}
	i_error("alertwall: Invalid rules file %s: "
		"running on the built-in rules until it is fixed", path);

	alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
	failure.text = t_strdup_printf("alertwall rules file %s is invalid: %s",
				       path, errors);
	alertwall_raise_global(&failure);
}

/* Returns the rules for path: the cached ones, freshly loaded ones when the
   file changed, or the builtin rules when the file is unusable. */
static const struct alertwall_rules *alertwall_rules_lookup(const char *path)
{
	struct alertwall_rules *rules;
	struct stat st;
	const char *error;
	bool changed;

	if (rules_cache.path != NULL && strcmp(rules_cache.path, path) == 0 &&
	    ioloop_time - rules_cache.last_check < ALERTWALL_RULES_CHECK_INTERVAL_SECS)
		goto out;

	if (stat(path, &st) < 0) {
		i_zero(&st);
		if (errno != ENOENT)
			i_error("alertwall: stat(%s) failed: %m", path);
	}
	changed = rules_cache.path == NULL ||
		strcmp(rules_cache.path, path) != 0 ||
		st.st_ino != rules_cache.st.st_ino ||
		st.st_dev != rules_cache.st.st_dev ||
		st.st_size != rules_cache.st.st_size ||
		st.st_mtime != rules_cache.st.st_mtime ||
		ST_MTIME_NSEC(st) != ST_MTIME_NSEC(rules_cache.st);
	if (!changed) {
		rules_cache.last_check = ioloop_time;
		goto out;
	}

	alertwall_rules_cache_clear();
	rules_cache.path = i_strdup(path);
	rules_cache.st = st;
	rules_cache.last_check = ioloop_time;
	if (alertwall_rules_load_file(path, &rules, &error) < 0) {
		rules_cache.invalid = TRUE;
		/* the invalid-rules alert is classified by the builtin rules,
		   so lookups during it must already see the fallback */
		alertwall_rules_invalid(path, error);
	} else {
		rules_cache.rules = rules;
	}
out:
	return rules_cache.rules != NULL ? rules_cache.rules :
		alertwall_rules_get_builtin();
}

static void alertwall_failure_fill(struct alertwall_failure *failure,
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

static long long alertwall_now_usecs(void)
{
	struct timeval tv;

	i_gettimeofday(&tv);
	return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

static void
alertwall_raise_with(struct alertwall_user *auser, struct mail_user *user,
		     const char *rules_path, const char *log_path,
		     const struct alertwall_spool_settings *spool_set,
		     const struct alertwall_failure *failure_in,
		     const char *orig_headers)
{
	const struct alertwall_rules *rules;
	const struct alertwall_profile *profile;
	struct alertwall_profile_subject subject;
	struct alertwall_classification class;
	struct alertwall_failure failure = *failure_in;
	struct alertwall_alert alert;
	string_t *record;
	pool_t pool;

	alertwall_failure_fill(&failure, user);
	rules = alertwall_rules_lookup(rules_path);
	alertwall_profile_subject_init(&subject, user, failure.user);
	profile = alertwall_rules_find_profile(rules, &subject);
	alertwall_rules_classify(rules, &failure, &class);
	if (!class.generate)
		return;

	/* its own pool: the alert outlives the data stack frames that the
	   sinks open while they write it */
	pool = pool_alloconly_create("alertwall alert", 1024);
	alertwall_alert_init(&alert, pool, &failure,
			     &class, profile, alertwall_now_usecs());
	record = t_str_new(1024);
	alertwall_record_render(&alert, record);
	/* on failure the sidecar keeps the record queued and reports the
	   problem itself, rate-limited */
	(void)alertwall_sidecar_write(alertwall_sidecar_get(log_path),
				      str_c(record), str_len(record));
	alertwall_events_log_alert(&alert);
	if (auser == NULL || !auser->mute) {
		(void)alertwall_spool_alert(spool_set, &alert, str_c(record),
					    orig_headers);
	}
	pool_unref(&pool);
}

void alertwall_user_raise(struct mail_user *user,
			  const struct alertwall_failure *failure,
			  const char *orig_headers)
{
	struct alertwall_user *auser = ALERTWALL_USER_CONTEXT(user);

	if (auser == NULL || raising)
		return;
	raising = TRUE;
	T_BEGIN {
		alertwall_raise_with(auser, user, auser->rules_path,
				     auser->log_path, &auser->spool_set,
				     failure, orig_headers);
	} T_END;
	raising = FALSE;
}

void alertwall_raise_global(const struct alertwall_failure *failure)
{
	struct mail_user *user = current_user;
	struct alertwall_user *auser =
		user == NULL ? NULL : ALERTWALL_USER_CONTEXT(user);
	struct alertwall_spool_settings spool_set;
	bool was_raising = raising;

	if (auser != NULL) {
		/* the invalid-rules alert is raised while loading rules for
		   a raise already in progress: let it through once */
		raising = FALSE;
		alertwall_user_raise(user, failure, NULL);
		raising = was_raising;
		return;
	}
	if (raising && failure->source != ALERTWALL_SOURCE_OTHER)
		return;
	raising = TRUE;
	T_BEGIN {
		i_zero(&spool_set);
		spool_set.spool_dir = ALERTWALL_DEFAULT_SPOOL;
		spool_set.admin = ALERTWALL_DEFAULT_ADMIN;
		spool_set.folder_sep = '/';
		spool_set.notify_socket = ALERTWALL_DEFAULT_NOTIFY_SOCKET;
		alertwall_raise_with(NULL, NULL, ALERTWALL_DEFAULT_RULES,
				     ALERTWALL_DEFAULT_LOG, &spool_set,
				     failure, NULL);
	} T_END;
	raising = was_raising;
}

bool alertwall_user_is_active(struct mail_user *user)
{
	return ALERTWALL_USER_CONTEXT(user) != NULL;
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
	auser->module_ctx.super.deinit(user);
}

static char alertwall_folder_sep(struct mail_namespace *namespaces)
{
	struct mail_namespace *ns;

	/* not mail_namespace_find_inbox(): it asserts that an inbox exists,
	   and internal users (lmtp's raw storage) have none */
	for (ns = namespaces; ns != NULL; ns = ns->next) {
		if ((ns->flags & NAMESPACE_FLAG_INBOX_USER) != 0)
			return mail_namespace_get_sep(ns);
	}
	return '/';
}

static void alertwall_mail_namespaces_created(struct mail_namespace *namespaces)
{
	struct mail_user *user;
	struct alertwall_user *auser;

	if (namespaces == NULL)
		return;
	user = namespaces->user;
	auser = ALERTWALL_USER_CONTEXT(user);
	/* the walls use the same separator as the user's namespace; the
	   admin's namespaces come from the same configuration */
	if (auser != NULL)
		auser->spool_set.folder_sep = alertwall_folder_sep(namespaces);
}

static void alertwall_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct alertwall_user *auser;
	const char *value;

	value = mail_user_plugin_getenv(user, "alertwall");
	if (value != NULL && (strcasecmp(value, "no") == 0 ||
			      strcmp(value, "0") == 0))
		return;

	auser = p_new(user->pool, struct alertwall_user, 1);
	auser->module_ctx.super = *v;
	user->vlast = &auser->module_ctx.super;
	v->deinit = alertwall_user_deinit;

	auser->rules_path = alertwall_user_setting(user,
		ALERTWALL_SETTING_RULES, ALERTWALL_DEFAULT_RULES);
	auser->log_path = alertwall_user_setting(user,
		ALERTWALL_SETTING_LOG, ALERTWALL_DEFAULT_LOG);
	auser->spool_set.spool_dir = alertwall_user_setting(user,
		ALERTWALL_SETTING_SPOOL, ALERTWALL_DEFAULT_SPOOL);
	auser->spool_set.admin = alertwall_user_setting(user,
		ALERTWALL_SETTING_ADMIN, ALERTWALL_DEFAULT_ADMIN);
	auser->spool_set.from = alertwall_user_setting(user,
		ALERTWALL_SETTING_FROM, NULL);
	auser->spool_set.notify_socket = alertwall_user_setting(user,
		ALERTWALL_SETTING_NOTIFY_SOCKET,
		ALERTWALL_DEFAULT_NOTIFY_SOCKET);
	auser->spool_set.base_dir = user->set->base_dir;
	auser->spool_set.folder_sep = '/';
	value = mail_user_plugin_getenv(user, ALERTWALL_SETTING_MUTE);
	auser->mute = value != NULL && (strcasecmp(value, "yes") == 0 ||
					strcmp(value, "1") == 0);

	MODULE_CONTEXT_SET(user, alertwall_user_module, auser);
	current_user = user;
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
	struct alertwall_sidecar_entry *entry;

	mail_storage_hooks_remove(&alertwall_user_hooks);
	if (array_is_created(&sidecars)) {
		array_foreach_modifiable(&sidecars, entry) {
			alertwall_sidecar_close(&entry->sidecar);
			i_free(entry->path);
		}
		array_free(&sidecars);
	}
	alertwall_rules_cache_clear();
	current_user = NULL;
}
