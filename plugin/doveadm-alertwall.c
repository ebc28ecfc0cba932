/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall: the doveadm module (lib10_doveadm_alertwall_plugin.so
   in the doveadm module dir). Its entry point registers the commands of
   doveadm-alertwall-rules.c (rules check/test), -enable.c (test and
   enable), -alerts.c (list, show, dismiss), -status.c, -summary.c,
   -silence.c and -digest.c, and holds what they share: settings, output,
   id, time and sidecar log helpers. */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "istream.h"
#include "json-parser.h"
#include "iso8601-date.h"
#include "settings-parser.h"
#include "module-dir.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "doveadm.h"
#include "doveadm-print.h"
#include "doveadm-settings.h"
#include "doveadm-util.h"
#include "alertwall-record.h"
#include "alertwall-settings.h"
#include "alertwall-rules-private.h"
#include "doveadm-alertwall.h"

#include <ctype.h>
#include <unistd.h>
#include <sys/stat.h>

/* alert ids are 26 characters today; leave room, refuse anything else */
#define DOVEADM_ALERTWALL_ID_MAX_LEN 64

const char *doveadm_alertwall_plugin_version = DOVECOT_ABI_VERSION;

void doveadm_alertwall_plugin_init(struct module *module);
void doveadm_alertwall_plugin_deinit(void);

static const char *
doveadm_alertwall_getenv(const char *name, void *context ATTR_UNUSED)
{
	return doveadm_plugin_getenv(name);
}

void doveadm_alertwall_settings(struct alertwall_engine_settings *set_r)
{
	alertwall_settings_fill(set_r, doveadm_alertwall_getenv, NULL,
				doveadm_settings->base_dir);
}

static const char *
doveadm_alertwall_user_getenv(const char *name, void *context)
{
	struct mail_user *user = context;

	return mail_user_plugin_getenv(user, name);
}

void doveadm_alertwall_walls_ns(struct mail_user *user, pool_t pool,
				struct alertwall_spool_settings *spool)
{
	struct mail_namespace *ns;

	for (ns = user->namespaces; ns != NULL; ns = ns->next) {
		if ((ns->flags & NAMESPACE_FLAG_INBOX_USER) != 0) {
			spool->folder_prefix = p_strdup(pool, ns->prefix);
			spool->folder_sep = mail_namespace_get_sep(ns);
			return;
		}
	}
}

void doveadm_alertwall_user_settings(struct mail_user *user,
				     struct alertwall_engine_settings *set_r)
{
	alertwall_settings_fill(set_r, doveadm_alertwall_user_getenv, user,
				user->set->base_dir);
	doveadm_alertwall_walls_ns(user, user->pool, &set_r->spool);
}

void doveadm_alertwall_print_init(const char *default_type)
{
	if (!doveadm_print_is_initialized())
		doveadm_print_init(default_type);
}

bool doveadm_alertwall_id_param(struct doveadm_cmd_context *cctx,
				const char *what, const char **id_r)
{
	const char *id, *p;

	if (!doveadm_cmd_param_str(cctx, "id", &id)) {
		i_error("Missing %s id", what);
		doveadm_exit_code = EX_USAGE;
		return FALSE;
	}
	for (p = id; *p != '\0'; p++) {
		if (!i_isdigit(*p) && (*p < 'a' || *p > 'z'))
			break;
	}
	if (*id == '\0' || *p != '\0' ||
	    p - id > DOVEADM_ALERTWALL_ID_MAX_LEN) {
		i_error("Invalid %s id '%s': ids are letters a-z and digits",
			what, str_sanitize(id, 80));
		doveadm_exit_code = EX_USAGE;
		return FALSE;
	}
	*id_r = id;
	return TRUE;
}

const char *doveadm_alertwall_time(time_t t)
{
	string_t *str;
	size_t len;

	if (t == 0)
		return "";
	str = t_str_new(32);
	alertwall_record_append_time((long long)t * 1000000LL, str);
	/* whole seconds: drop the ".000" before the "Z" */
	len = str_len(str);
	if (len > 5 && str_c(str)[len - 5] == '.') {
		str_delete(str, len - 5, 4);
	}
	return str_c(str);
}

bool doveadm_alertwall_status_is_open(enum alertwall_status status)
{
	return status == ALERTWALL_STATUS_OPEN ||
		status == ALERTWALL_STATUS_PERMANENT;
}

void doveadm_alertwall_alert_copy(pool_t pool,
				  const struct alertwall_open_alert *alert,
				  struct alertwall_open_alert *copy_r)
{
	*copy_r = *alert;
	copy_r->key = p_strdup(pool, alert->key);
	copy_r->id = p_strdup(pool, alert->id);
	copy_r->code = p_strdup(pool, alert->code);
	copy_r->user = p_strdup(pool, alert->user);
	copy_r->mailbox = p_strdup(pool, alert->mailbox);
	copy_r->profile = p_strdup(pool, alert->profile);
	copy_r->text = p_strdup(pool, alert->text);
}

struct doveadm_alertwall_find_ctx {
	const char *id;
	pool_t pool;
	struct alertwall_open_alert *alert;
	bool found;
};

static bool doveadm_alertwall_find_func(const struct alertwall_open_alert *alert,
					void *context)
{
	struct doveadm_alertwall_find_ctx *ctx = context;

	if (alert->id == NULL || strcmp(alert->id, ctx->id) != 0)
		return TRUE;
	doveadm_alertwall_alert_copy(ctx->pool, alert, ctx->alert);
	ctx->found = TRUE;
	return FALSE;
}

int doveadm_alertwall_find(const struct alertwall_engine_settings *set,
			   const char *id, pool_t pool,
			   struct alertwall_open_alert *alert_r,
			   const char **error_r)
{
	struct doveadm_alertwall_find_ctx ctx = {
		.id = id,
		.pool = pool,
		.alert = alert_r,
	};

	i_zero(alert_r);
	if (alertwall_engine_iterate(set, doveadm_alertwall_find_func, &ctx,
				     error_r) < 0)
		return -1;
	return ctx.found ? 1 : 0;
}

int doveadm_alertwall_parse_since(const char *value, time_t now,
				  time_t *since_r, const char **error_r)
{
	unsigned int secs;
	time_t t;
	int tz;
	const char *error;

	if (*value == '\0') {
		*error_r = "Empty time (a duration like 1h or 2d, or an RFC "
			"3339 time)";
		return -1;
	}
	if (strchr(value, '-') != NULL || strchr(value, ':') != NULL) {
		if (!iso8601_date_parse((const unsigned char *)value,
					strlen(value), &t, &tz)) {
			*error_r = t_strdup_printf("Invalid time '%s' (an "
				"RFC 3339 time such as 2026-11-26T19:04:05Z)",
				str_sanitize(value, 80));
			return -1;
		}
	} else {
		if (settings_get_time(value, &secs, &error) < 0) {
			*error_r = t_strdup_printf("Invalid duration '%s': %s",
				str_sanitize(value, 80), error);
			return -1;
		}
		t = now - (time_t)secs;
	}
	if (t > now) {
		*error_r = t_strdup_printf("The time %s is in the future",
					   doveadm_alertwall_time(t));
		return -1;
	}
	*since_r = t < 0 ? 0 : t;
	return 0;
}

/* Fill rec from one record line. Returns 0, or -1 when the line is not a
   JSON object. */
int doveadm_alertwall_record_parse(const char *line,
				   struct doveadm_alertwall_record *rec)
{
	struct istream *input;
	struct json_parser *parser;
	enum json_type type;
	const char *key, *value, *error, **dest;
	int ret;

	i_zero(rec);
	input = i_stream_create_from_data(line, strlen(line));
	parser = json_parser_init(input);
	while (json_parse_next(parser, &type, &key) > 0) {
		if (type != JSON_TYPE_OBJECT_KEY)
			break;
		key = t_strdup(key);
		if (json_parse_next(parser, &type, &value) <= 0)
			break;
		if (type == JSON_TYPE_OBJECT || type == JSON_TYPE_ARRAY) {
			json_parse_skip(parser);
			continue;
		}
		if (type != JSON_TYPE_STRING)
			continue;
		dest = strcmp(key, "time") == 0 ? &rec->time :
			strcmp(key, "id") == 0 ? &rec->id :
			strcmp(key, "event") == 0 ? &rec->event :
			strcmp(key, "code") == 0 ? &rec->code :
			strcmp(key, "level") == 0 ? &rec->level :
			strcmp(key, "scope") == 0 ? &rec->scope :
			strcmp(key, "user") == 0 ? &rec->user :
			strcmp(key, "mailbox") == 0 ? &rec->mailbox :
			strcmp(key, "profile") == 0 ? &rec->profile :
			strcmp(key, "summary") == 0 ? &rec->summary : NULL;
		if (dest != NULL)
			*dest = t_strdup(value);
	}
	ret = json_parser_deinit(&parser, &error);
	i_stream_unref(&input);
	return ret < 0 ? -1 : 0;
}

void doveadm_alertwall_split_path(const char *path, const char **dir_r,
				  const char **name_r)
{
	const char *p = strrchr(path, '/');

	*dir_r = p == NULL ? "." : p == path ? "/" : t_strdup_until(path, p);
	*name_r = p == NULL ? path : p + 1;
}

void doveadm_alertwall_as_owner_begin(const struct alertwall_engine_settings *set,
				      struct doveadm_alertwall_creds *saved_r)
{
	const char *dir, *name;
	struct stat st;

	i_zero(saved_r);
	if (geteuid() != 0)
		return;
	doveadm_alertwall_split_path(set->log_path, &dir, &name);
	if (stat(dir, &st) < 0 || st.st_uid == 0)
		return;
	saved_r->uid = geteuid();
	saved_r->gid = getegid();
	if (setegid(st.st_gid) < 0) {
		i_error("setegid(%s) failed: %m", dec2str(st.st_gid));
		return;
	}
	if (seteuid(st.st_uid) < 0) {
		i_error("seteuid(%s) failed: %m", dec2str(st.st_uid));
		if (setegid(saved_r->gid) < 0)
			i_fatal("setegid(%s) failed: %m", dec2str(saved_r->gid));
		return;
	}
	saved_r->switched = TRUE;
}

void doveadm_alertwall_as_owner_end(struct doveadm_alertwall_creds *saved)
{
	if (!saved->switched)
		return;
	/* failing to become root again would run later commands of a
	   doveadm server with the wrong rights */
	if (seteuid(saved->uid) < 0)
		i_fatal("seteuid(%s) failed: %m", dec2str(saved->uid));
	if (setegid(saved->gid) < 0)
		i_fatal("setegid(%s) failed: %m", dec2str(saved->gid));
	saved->switched = FALSE;
}

void doveadm_alertwall_plugin_init(struct module *module ATTR_UNUSED)
{
	doveadm_alertwall_rules_register();
	doveadm_alertwall_enable_register();
	doveadm_alertwall_alerts_register();
	doveadm_alertwall_status_register();
	doveadm_alertwall_summary_register();
	doveadm_alertwall_silence_register();
	doveadm_alertwall_digest_register();
}

void doveadm_alertwall_plugin_deinit(void)
{
	/* the mail plugin, when doveadm loaded it for a mail command, may
	   have closed the engine already; a second deinit is harmless */
	alertwall_engine_deinit();
	alertwall_rules_builtin_deinit();
}
