/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-digest: "doveadm alertwall digest [--hourly|--daily]",
   run by the admin's cron job or systemd timer. Gathers the open alerts
   and suspended mailboxes (state store), the alerts raised or escalated
   since the last digest of the same kind (sidecar log) and the active
   silences, renders one digest mail for the admin and one for each
   profile owner about the profiles they own (alertwall-digest.c), and
   spools them for the alertwall-deliver service into Alerts/Digest, as
   alert mails are: no mail is lost while a mailbox is down, and the
   delivery is muted. The time of the digest is kept in the state store,
   so the next one starts where this one ended. Registered by
   doveadm-alertwall.c. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "time-util.h"
#include "master-service.h"
#include "mail-storage-service.h"
#include "mail-user.h"
#include "doveadm.h"
#include "doveadm-cmd.h"
#include "doveadm-print.h"
#include "alertwall-rules.h"
#include "alertwall-store.h"
#include "alertwall-digest.h"
#include "doveadm-alertwall.h"

#include <stdlib.h>

#define DIGEST_FOLDER "Digest"

struct digest_kind {
	const char *name;
	/* the period when there was no digest of this kind before */
	unsigned int default_secs;
};

static const struct digest_kind digest_hourly = { "hourly", 3600 };
static const struct digest_kind digest_daily = { "daily", 24 * 3600 };

/* a profile owner and the profiles of the digest's data they own */
struct digest_owner {
	const char *owner;
	ARRAY_TYPE(const_string) profiles;
};
ARRAY_DEFINE_TYPE(digest_owner, struct digest_owner);

struct digest_ctx {
	pool_t pool;
	/* the period of the new alerts */
	time_t since;
	time_t now;
	ARRAY_TYPE(alertwall_digest_open) open;
	ARRAY_TYPE(alertwall_digest_new) new_alerts;
	ARRAY_TYPE(alertwall_silence) silences;
};

/* The walls' prefix and separator of the admin's inbox namespace, as the
   admin's mail processes see them, into spool. The user is set up without
   plugins and without opening any mailbox. Returns 1, 0 for an unknown
   user, -1 with *error_r. */
static int digest_admin_walls(const char *username,
			      struct alertwall_spool_settings *spool,
			      const char **error_r)
{
	struct mail_storage_service_ctx *service;
	struct mail_storage_service_input input;
	struct mail_storage_service_user *service_user;
	struct mail_user *user;
	int ret;

	service = mail_storage_service_init(master_service, NULL,
		MAIL_STORAGE_SERVICE_FLAG_USERDB_LOOKUP |
		MAIL_STORAGE_SERVICE_FLAG_NO_CHDIR |
		MAIL_STORAGE_SERVICE_FLAG_NO_LOG_INIT |
		MAIL_STORAGE_SERVICE_FLAG_NO_PLUGINS |
		MAIL_STORAGE_SERVICE_FLAG_NO_RESTRICT_ACCESS);
	i_zero(&input);
	input.module = "mail";
	input.service = "doveadm";
	input.username = username;
	ret = mail_storage_service_lookup_next(service, &input, &service_user,
					       &user, error_r);
	if (ret > 0) {
		doveadm_alertwall_walls_ns(user, pool_datastack_create(),
					   spool);
		mail_user_deinit(&user);
		mail_storage_service_user_unref(&service_user);
	} else if (ret < 0) {
		*error_r = t_strdup(*error_r);
	}
	mail_storage_service_deinit(&service);
	return ret;
}

/* The stored value is "last=USECS": the time the last digest of the kind
   started to gather, in microseconds, so that the next one neither
   repeats nor loses a record. Returns 1 with *last_usecs_r, 0 when there
   was none (or it is damaged), -1 with *error_r. */
static int digest_last_get(struct alertwall_store *store, const char *key,
			   long long *last_usecs_r, const char **error_r)
{
	const char *value;
	unsigned long long num;
	int ret;

	*last_usecs_r = 0;
	ret = alertwall_store_get(store, key, &value, error_r);
	if (ret <= 0)
		return ret;
	if (!str_begins(value, "last=") ||
	    str_to_ullong(t_strcut(value + 5, '\n'), &num) < 0)
		return 0;
	*last_usecs_r = (long long)num;
	return 1;
}

static bool digest_set_value(const char *old_value ATTR_UNUSED,
			     string_t *new_value, void *context)
{
	str_append(new_value, context);
	return TRUE;
}

static const char *digest_pstr(pool_t pool, const char *value)
{
	return value == NULL ? NULL : p_strdup(pool, value);
}

static bool digest_open_func(const struct alertwall_open_alert *alert,
			     void *context)
{
	struct digest_ctx *ctx = context;
	struct alertwall_digest_open *open;

	if (alert->id == NULL || alert->code == NULL ||
	    !doveadm_alertwall_status_is_open(alert->state.status))
		return TRUE;
	open = array_append_space(&ctx->open);
	open->id = p_strdup(ctx->pool, alert->id);
	open->code = p_strdup(ctx->pool, alert->code);
	open->status = alertwall_status_name(alert->state.status);
	open->nature = alertwall_nature_name(alert->state.nature);
	open->scope = alertwall_scope_name(alert->scope);
	open->user = digest_pstr(ctx->pool, alert->user);
	open->mailbox = digest_pstr(ctx->pool, alert->mailbox);
	open->profile = digest_pstr(ctx->pool, alert->profile);
	open->total = alert->state.total;
	open->first_seen = alert->state.first_seen;
	open->last_seen = alert->state.last_seen;
	open->suspended = alert->state.suspended;
	return TRUE;
}

static int digest_open_cmp(const struct alertwall_digest_open *a,
			   const struct alertwall_digest_open *b)
{
	return strcmp(a->id, b->id);
}

static void digest_record_func(const struct doveadm_alertwall_record *rec,
			       void *context)
{
	struct digest_ctx *ctx = context;
	struct alertwall_digest_new *new_alert;

	if (rec->event == NULL || rec->id == NULL ||
	    (strcmp(rec->event, "raised") != 0 &&
	     strcmp(rec->event, "escalated") != 0))
		return;
	new_alert = array_append_space(&ctx->new_alerts);
	new_alert->time = p_strdup(ctx->pool, rec->time);
	new_alert->id = p_strdup(ctx->pool, rec->id);
	new_alert->event = p_strdup(ctx->pool, rec->event);
	new_alert->level = digest_pstr(ctx->pool, rec->level);
	new_alert->code = digest_pstr(ctx->pool, rec->code);
	new_alert->scope = digest_pstr(ctx->pool, rec->scope);
	new_alert->user = digest_pstr(ctx->pool, rec->user);
	new_alert->mailbox = digest_pstr(ctx->pool, rec->mailbox);
	new_alert->profile = digest_pstr(ctx->pool, rec->profile);
	new_alert->summary = digest_pstr(ctx->pool, rec->summary);
}

static bool digest_profile_listed(const ARRAY_TYPE(const_string) *profiles,
				  const char *profile)
{
	const char *name;

	if (profile == NULL)
		return FALSE;
	array_foreach_elem(profiles, name) {
		if (strcmp(name, profile) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
digest_owner_add(const struct alertwall_rules *rules, const char *admin,
		 const char *profile, ARRAY_TYPE(const_string) *seen,
		 ARRAY_TYPE(digest_owner) *owners)
{
	const struct alertwall_profile *p;
	struct digest_owner *owner;
	const char *name;

	if (profile == NULL || digest_profile_listed(seen, profile))
		return;
	array_push_back(seen, &profile);
	p = alertwall_rules_get_profile(rules, profile);
	name = p == NULL ? "" : alertwall_profile_get_owner(p);
	/* the admin's digest has everything already */
	if (*name == '\0' || strcmp(name, admin) == 0)
		return;
	array_foreach_modifiable(owners, owner) {
		if (strcmp(owner->owner, name) == 0) {
			array_push_back(&owner->profiles, &profile);
			return;
		}
	}
	owner = array_append_space(owners);
	owner->owner = t_strdup(name);
	t_array_init(&owner->profiles, 4);
	array_push_back(&owner->profiles, &profile);
}

/* Fill digest with the data of ctx that the owner's profiles cover (all
   of it for owner NULL, the admin). */
static void digest_fill(const struct digest_ctx *ctx,
			const struct digest_owner *owner,
			struct alertwall_digest *digest)
{
	const struct alertwall_digest_open *open;
	const struct alertwall_digest_new *new_alert;
	const struct alertwall_silence *silence;

	array_foreach(&ctx->open, open) {
		if (owner == NULL ||
		    digest_profile_listed(&owner->profiles, open->profile))
			array_push_back(&digest->open, open);
	}
	array_foreach(&ctx->new_alerts, new_alert) {
		if (owner == NULL ||
		    digest_profile_listed(&owner->profiles, new_alert->profile))
			array_push_back(&digest->new_alerts, new_alert);
	}
	array_foreach(&ctx->silences, silence) {
		/* an owner sees the silences of codes and of the owner's
		   profiles, not those of other people's mailboxes */
		if (owner == NULL || silence->kind == ALERTWALL_SILENCE_CODE ||
		    (silence->kind == ALERTWALL_SILENCE_PROFILE &&
		     digest_profile_listed(&owner->profiles, silence->match)))
			array_push_back(&digest->silences, silence);
	}
	if (owner != NULL) {
		string_t *str = t_str_new(64);
		const char *name;

		array_foreach_elem(&owner->profiles, name) {
			if (str_len(str) > 0)
				str_append(str, ", ");
			str_append(str, name);
		}
		digest->profiles = str_c(str);
	}
}

/* Render and spool one digest. Returns 0, or -1 (logged). */
static int digest_send(const struct alertwall_engine_settings *set,
		       const struct digest_kind *kind, time_t since,
		       bool since_last, const char *recipient,
		       const struct digest_ctx *ctx,
		       const struct digest_owner *owner, pool_t pool)
{
	struct alertwall_digest digest;
	string_t *mail, *id;
	int ret;

	alertwall_digest_init(&digest, pool);
	id = t_str_new(32);
	alertwall_alert_id_generate((long long)ioloop_timeval.tv_sec * 1000000LL +
				    ioloop_timeval.tv_usec, id);
	digest.id = str_c(id);
	digest.kind = kind->name;
	digest.recipient = recipient;
	digest.since = since;
	digest.now = ctx->now;
	digest.since_last = since_last;
	digest.from = set->spool.from;
	digest_fill(ctx, owner, &digest);

	mail = t_str_new(8192);
	alertwall_digest_render(&digest, mail);
	ret = alertwall_spool_mail(&set->spool,
		t_strdup_printf("%s.digest", digest.id), recipient,
		alertwall_spool_folder(&set->spool, DIGEST_FOLDER),
		str_c(mail));

	doveadm_print(recipient);
	doveadm_print(digest.profiles == NULL ? "" : digest.profiles);
	doveadm_print_num(array_count(&digest.open));
	doveadm_print_num(alertwall_digest_suspended_count(&digest));
	doveadm_print_num(array_count(&digest.new_alerts));
	doveadm_print(digest.id);
	doveadm_print(ret < 0 ? "failed" : "spooled");
	return ret;
}

static void cmd_alertwall_digest(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alertwall_store *store;
	const struct digest_kind *kind = &digest_daily;
	struct digest_ctx ctx;
	const struct digest_owner *owner;
	ARRAY_TYPE(digest_owner) owners;
	ARRAY_TYPE(const_string) seen;
	const struct alertwall_digest_open *open;
	const struct alertwall_digest_new *new_alert;
	const struct alertwall_rules *rules;
	const char *key, *error;
	bool hourly = FALSE, daily = FALSE, since_last;
	long long last_usecs, now_usecs, since_usecs;
	struct timeval now;
	int ret, failed = 0;

	(void)doveadm_cmd_param_bool(cctx, "hourly", &hourly);
	(void)doveadm_cmd_param_bool(cctx, "daily", &daily);
	if (hourly && daily) {
		i_error("--hourly and --daily exclude each other");
		doveadm_exit_code = EX_USAGE;
		return;
	}
	if (hourly)
		kind = &digest_hourly;

	/* first: the storage service's deinit unloads the mail plugins that
	   doveadm loaded, and the mail plugin's deinit closes the engine's
	   stores; the engine opens them again on use */
	doveadm_alertwall_settings(&set);
	ret = digest_admin_walls(set.spool.admin, &set.spool, &error);
	if (ret <= 0) {
		if (ret < 0) {
			i_error("Looking up the admin %s failed: %s",
				set.spool.admin, error);
			doveadm_exit_code = EX_TEMPFAIL;
		} else {
			i_error("Unknown admin user %s (alertwall_admin)",
				set.spool.admin);
			doveadm_exit_code = DOVEADM_ALERTWALL_EX_UNKNOWN;
		}
		return;
	}
	store = alertwall_engine_store(&set, &error);
	if (store == NULL) {
		i_error("The digest needs the state store: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}

	key = t_strconcat(ALERTWALL_DIGEST_KEY_PREFIX, kind->name, NULL);
	ret = digest_last_get(store, key, &last_usecs, &error);
	if (ret < 0) {
		i_error("Reading the last digest's time failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}
	/* taken before the log is read: a record written meanwhile is in
	   the next digest too, never in neither */
	i_gettimeofday(&now);
	now_usecs = (long long)now.tv_sec * 1000000LL + now.tv_usec;
	since_last = ret > 0 && last_usecs <= now_usecs;
	since_usecs = since_last ? last_usecs :
		now_usecs - (long long)kind->default_secs * 1000000LL;
	i_zero(&ctx);
	ctx.since = (time_t)(since_usecs / 1000000);
	ctx.now = now.tv_sec;

	ctx.pool = pool_alloconly_create("alertwall digest", 8192);
	p_array_init(&ctx.open, ctx.pool, 32);
	p_array_init(&ctx.new_alerts, ctx.pool, 32);
	p_array_init(&ctx.silences, ctx.pool, 4);
	if (alertwall_engine_iterate(&set, digest_open_func, &ctx,
				     &error) < 0 ||
	    alertwall_silence_list(store, ioloop_time, ctx.pool,
				   &ctx.silences, &error) < 0) {
		i_error("Reading the alert state failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&ctx.pool);
		return;
	}
	if (doveadm_alertwall_read_log(set.log_path, since_usecs,
				       digest_record_func, &ctx) < 0) {
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&ctx.pool);
		return;
	}
	array_sort(&ctx.open, digest_open_cmp);

	/* the profile owners of what the digest shows */
	rules = alertwall_engine_rules(&set);
	t_array_init(&owners, 4);
	t_array_init(&seen, 8);
	array_foreach(&ctx.open, open)
		digest_owner_add(rules, set.spool.admin, open->profile, &seen,
				 &owners);
	array_foreach(&ctx.new_alerts, new_alert)
		digest_owner_add(rules, set.spool.admin, new_alert->profile,
				 &seen, &owners);

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("recipient");
	doveadm_print_header_simple("profiles");
	doveadm_print_header("open", "open", DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	doveadm_print_header("suspended", "suspended",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	doveadm_print_header("new", "new", DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("result");

	if (digest_send(&set, kind, ctx.since, since_last,
			set.spool.admin, &ctx, NULL, ctx.pool) < 0)
		failed++;
	array_foreach(&owners, owner) {
		if (digest_send(&set, kind, ctx.since, since_last,
				owner->owner, &ctx, owner, ctx.pool) < 0)
			failed++;
	}
	pool_unref(&ctx.pool);

	if (failed > 0) {
		/* the next run covers this period again */
		i_error("Spooling %d digest mail(s) into %s failed",
			failed, set.spool.spool_dir);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}
	if (alertwall_store_update(store, key, digest_set_value,
			(void *)t_strdup_printf("last=%lld\n", now_usecs),
			&error) < 0) {
		i_error("Keeping the digest's time failed (the next digest "
			"repeats this period): %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
	}
}

static struct doveadm_cmd_ver2 alertwall_digest_command = {
	.name = "alertwall digest",
	.cmd = cmd_alertwall_digest,
	.usage = "[--hourly|--daily]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "hourly", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('\0', "daily", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAMS_END
};

void doveadm_alertwall_digest_register(void)
{
	doveadm_cmd_register_ver2(&alertwall_digest_command);
}
