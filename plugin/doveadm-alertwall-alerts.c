/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-alerts: the admin's commands on alerts by id, read
   from the state store with doveadm's own plugin {} settings:
   "doveadm alertwall list" (open alerts, or any status, or the open
   alerts that an active silence mutes, filtered),
   "doveadm alertwall show ID" (one alert's state and its history from
   the sidecar log) and "doveadm alertwall dismiss ID". Output goes
   through doveadm's formatter (-f table/flow/pager/json/tab).
   Registered by doveadm-alertwall.c. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "json-parser.h"
#include "doveadm.h"
#include "doveadm-cmd.h"
#include "doveadm-print.h"
#include "ioloop.h"
#include "settings-parser.h"
#include "alertwall-state.h"
#include "alertwall-silence.h"
#include "doveadm-alertwall.h"

/* ---- list ---- */

struct alerts_list_ctx {
	pool_t pool;
	const char *user;
	const char *profile;
	const char *code;
	bool any_status;
	bool have_status;
	enum alertwall_status status;
	bool have_scope;
	enum alertwall_scope scope;
	/* -l LEVEL: the level the alert's mails had (permanent ones are
	   errors; others take their rule's level) */
	bool have_level;
	enum alertwall_level level;
	const struct alertwall_rules *rules;
	/* -t SINCE: seen within the last SINCE */
	time_t since;
	/* -s silenced: open alerts that one of these silences mutes */
	bool silenced;
	ARRAY_TYPE(alertwall_silence) silences;

	ARRAY(struct alertwall_open_alert) alerts;
};

static enum alertwall_level
alerts_level(const struct alerts_list_ctx *ctx,
	     const struct alertwall_open_alert *alert)
{
	const struct alertwall_rule *rule;
	struct alertwall_classification class;

	if (alert->state.nature == ALERTWALL_NATURE_PERMANENT)
		return ALERTWALL_LEVEL_ERROR;
	rule = alertwall_rules_find_code(ctx->rules, alert->code);
	if (rule == NULL)
		return ALERTWALL_LEVEL_WARNING;
	alertwall_rule_get_classification(ctx->rules, rule, &class);
	return class.level;
}

static bool alerts_list_matches(const struct alerts_list_ctx *ctx,
				const struct alertwall_open_alert *alert)
{
	if (ctx->silenced) {
		if (!doveadm_alertwall_status_is_open(alert->state.status) ||
		    alertwall_silences_find(&ctx->silences, alert->code,
					    alert->user, alert->profile,
					    ioloop_time) == NULL)
			return FALSE;
	} else if (ctx->have_status) {
		if (alert->state.status != ctx->status)
			return FALSE;
	} else if (!ctx->any_status &&
		   !doveadm_alertwall_status_is_open(alert->state.status)) {
		return FALSE;
	}
	if (ctx->have_scope && alert->scope != ctx->scope)
		return FALSE;
	if (ctx->user != NULL && null_strcmp(alert->user, ctx->user) != 0)
		return FALSE;
	if (ctx->profile != NULL &&
	    null_strcmp(alert->profile, ctx->profile) != 0)
		return FALSE;
	if (ctx->code != NULL && strcmp(alert->code, ctx->code) != 0)
		return FALSE;
	if (ctx->since != 0 && alert->state.last_seen < ctx->since)
		return FALSE;
	if (ctx->have_level && alerts_level(ctx, alert) != ctx->level)
		return FALSE;
	return TRUE;
}

static bool alerts_list_func(const struct alertwall_open_alert *alert,
			     void *context)
{
	struct alerts_list_ctx *ctx = context;
	struct alertwall_open_alert *copy;

	/* only alert objects have an id and a code; the store also keeps
	   other bookkeeping */
	if (alert->id == NULL || alert->code == NULL ||
	    !alerts_list_matches(ctx, alert))
		return TRUE;
	copy = array_append_space(&ctx->alerts);
	doveadm_alertwall_alert_copy(ctx->pool, alert, copy);
	return TRUE;
}

static int alerts_id_cmp(const struct alertwall_open_alert *a,
			 const struct alertwall_open_alert *b)
{
	/* ids sort by the time they were made */
	return strcmp(a->id, b->id);
}

static const char *alerts_str(const char *value)
{
	return value == NULL ? "" : value;
}

static bool alerts_list_params(struct doveadm_cmd_context *cctx,
			       struct alerts_list_ctx *ctx)
{
	const char *value;

	(void)doveadm_cmd_param_str(cctx, "user", &ctx->user);
	(void)doveadm_cmd_param_str(cctx, "profile", &ctx->profile);
	(void)doveadm_cmd_param_str(cctx, "code", &ctx->code);
	if (doveadm_cmd_param_str(cctx, "status", &value)) {
		if (strcasecmp(value, "all") == 0)
			ctx->any_status = TRUE;
		else if (strcasecmp(value, "silenced") == 0)
			ctx->silenced = TRUE;
		else if (alertwall_status_parse(value, &ctx->status) == 0)
			ctx->have_status = TRUE;
		else {
			i_error("Unknown status '%s' (open, permanent, "
				"resolved, dismissed, silenced or all)", value);
			doveadm_exit_code = EX_USAGE;
			return FALSE;
		}
	}
	if (doveadm_cmd_param_str(cctx, "level", &value)) {
		if (alertwall_level_parse(value, &ctx->level) < 0) {
			i_error("Unknown level '%s' (info, warning or error)",
				value);
			doveadm_exit_code = EX_USAGE;
			return FALSE;
		}
		ctx->have_level = TRUE;
	}
	if (doveadm_cmd_param_str(cctx, "since", &value)) {
		unsigned int secs;
		const char *error;

		if (settings_get_time(value, &secs, &error) < 0) {
			i_error("Invalid since '%s': %s", value, error);
			doveadm_exit_code = EX_USAGE;
			return FALSE;
		}
		ctx->since = ioloop_time - (time_t)secs;
	}
	if (doveadm_cmd_param_str(cctx, "scope", &value)) {
		if (alertwall_scope_parse(value, &ctx->scope) < 0) {
			i_error("Unknown scope '%s' (email, mailbox or "
				"profile)", value);
			doveadm_exit_code = EX_USAGE;
			return FALSE;
		}
		ctx->have_scope = TRUE;
	}
	return TRUE;
}

static void cmd_alertwall_list(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alerts_list_ctx ctx;
	const struct alertwall_open_alert *alert;
	const char *error;

	i_zero(&ctx);
	if (!alerts_list_params(cctx, &ctx))
		return;
	doveadm_alertwall_settings(&set);
	ctx.rules = alertwall_engine_rules(&set);
	ctx.pool = pool_alloconly_create("alertwall list", 4096);
	p_array_init(&ctx.alerts, ctx.pool, 32);
	p_array_init(&ctx.silences, ctx.pool, 4);
	if (ctx.silenced) {
		struct alertwall_store *store =
			alertwall_engine_store(&set, &error);

		if (store == NULL ||
		    alertwall_silence_list(store, ioloop_time, ctx.pool,
					   &ctx.silences, &error) < 0) {
			i_error("Reading the silences failed: %s", error);
			doveadm_exit_code = EX_TEMPFAIL;
			pool_unref(&ctx.pool);
			return;
		}
	}
	if (alertwall_engine_iterate(&set, alerts_list_func, &ctx,
				     &error) < 0) {
		i_error("Reading the alert state failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&ctx.pool);
		return;
	}
	array_sort(&ctx.alerts, alerts_id_cmp);

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("code");
	doveadm_print_header_simple("status");
	doveadm_print_header_simple("nature");
	doveadm_print_header_simple("scope");
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("mailbox");
	doveadm_print_header_simple("profile");
	doveadm_print_header("attempts", "attempts",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header("total", "total",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("first_seen");
	doveadm_print_header_simple("last_seen");
	doveadm_print_header_simple("suspended");
	array_foreach(&ctx.alerts, alert) {
		doveadm_print(alert->id);
		doveadm_print(alert->code);
		doveadm_print(alertwall_status_name(alert->state.status));
		doveadm_print(alertwall_nature_name(alert->state.nature));
		doveadm_print(alertwall_scope_name(alert->scope));
		doveadm_print(alerts_str(alert->user));
		doveadm_print(alerts_str(alert->mailbox));
		doveadm_print(alerts_str(alert->profile));
		doveadm_print_num(alert->state.attempts);
		doveadm_print_num(alert->state.total);
		doveadm_print(doveadm_alertwall_time(alert->state.first_seen));
		doveadm_print(doveadm_alertwall_time(alert->state.last_seen));
		doveadm_print(alert->state.suspended ? "yes" : "no");
	}
	pool_unref(&ctx.pool);
}

/* ---- show ---- */

/* what show prints, from the state store or, for an id that is no longer
   the current alert of its object, from its last sidecar record */
struct alerts_show {
	const char *id;
	const char *code;
	const char *status;
	const char *nature;
	const char *scope;
	const char *user;
	const char *mailbox;
	const char *profile;
	const char *text;
	struct alertwall_object_state state;
};

/* Returns TRUE when the sidecar record line is about the alert id: its
   first "id" member is the record's own (time comes first). */
static bool alerts_record_has_id(const char *line, const char *id)
{
	const char *p = strstr(line, "\"id\":\"");
	size_t len = strlen(id);

	if (p == NULL)
		return FALSE;
	p += 6;
	return strncmp(p, id, len) == 0 && p[len] == '"';
}

struct alerts_history_context {
	const char *id;
	pool_t pool;
	ARRAY_TYPE(const_string) *lines;
};

static void alerts_history_line(const char *line, void *context)
{
	struct alerts_history_context *ctx = context;

	if (alerts_record_has_id(line, ctx->id)) {
		line = p_strdup(ctx->pool, line);
		array_push_back(ctx->lines, &line);
	}
}

/* Collect the alert's sidecar records, oldest first, rotated files
   included. Returns 0, or -1 when the log cannot be read (a missing log
   is no history yet). */
static int alerts_read_history(const char *log_path, const char *id,
			       pool_t pool, ARRAY_TYPE(const_string) *lines)
{
	struct alerts_history_context ctx = {
		.id = id,
		.pool = pool,
		.lines = lines,
	};

	return doveadm_alertwall_read_log_lines(log_path, 0,
						alerts_history_line, &ctx);
}

/* Fill show from a sidecar record (its string members). Returns 0, or -1
   when the line is not a JSON object. */
static int alerts_show_from_record(const char *line, pool_t pool,
				   struct alerts_show *show)
{
	struct istream *input;
	struct json_parser *parser;
	enum json_type type;
	const char *key, *value, *error, *event = "";
	int ret;

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
		value = p_strdup(pool, value);
		if (strcmp(key, "event") == 0)
			event = value;
		else if (strcmp(key, "code") == 0)
			show->code = value;
		else if (strcmp(key, "nature") == 0)
			show->nature = value;
		else if (strcmp(key, "scope") == 0)
			show->scope = value;
		else if (strcmp(key, "user") == 0)
			show->user = value;
		else if (strcmp(key, "mailbox") == 0)
			show->mailbox = value;
		else if (strcmp(key, "profile") == 0)
			show->profile = value;
		else if (strcmp(key, "text") == 0)
			show->text = value;
	}
	ret = json_parser_deinit(&parser, &error);
	i_stream_unref(&input);
	if (ret < 0)
		return -1;
	/* the alert is no longer open: its object has a newer alert, or
	   the store has forgotten it */
	if (strcmp(event, "dismissed") == 0 || strcmp(event, "resolved") == 0)
		show->status = event;
	else
		show->status = "closed";
	return 0;
}

static void alerts_show_from_store(const struct alertwall_open_alert *alert,
				   struct alerts_show *show)
{
	show->code = alert->code;
	show->status = alertwall_status_name(alert->state.status);
	show->nature = alertwall_nature_name(alert->state.nature);
	show->scope = alertwall_scope_name(alert->scope);
	show->user = alert->user;
	show->mailbox = alert->mailbox;
	show->profile = alert->profile;
	show->text = alert->text;
	show->state = alert->state;
}

static void alerts_show_header_num(const char *name)
{
	doveadm_print_header(name, name, DOVEADM_PRINT_HEADER_FLAG_NUMBER);
}

static void alerts_show_print(const struct alerts_show *show,
			      const ARRAY_TYPE(const_string) *history)
{
	const struct alertwall_object_state *state = &show->state;
	const char *line;

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_PAGER);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("code");
	doveadm_print_header_simple("status");
	doveadm_print_header_simple("nature");
	doveadm_print_header_simple("scope");
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("mailbox");
	doveadm_print_header_simple("profile");
	alerts_show_header_num("attempts");
	alerts_show_header_num("consecutive");
	alerts_show_header_num("total");
	alerts_show_header_num("reminders");
	doveadm_print_header_simple("first_seen");
	doveadm_print_header_simple("last_seen");
	doveadm_print_header_simple("last_success");
	doveadm_print_header_simple("suspended");
	doveadm_print_header_simple("text");
	doveadm_print_header_simple("history");

	doveadm_print(show->id);
	doveadm_print(alerts_str(show->code));
	doveadm_print(show->status);
	doveadm_print(alerts_str(show->nature));
	doveadm_print(alerts_str(show->scope));
	doveadm_print(alerts_str(show->user));
	doveadm_print(alerts_str(show->mailbox));
	doveadm_print(alerts_str(show->profile));
	doveadm_print_num(state->attempts);
	doveadm_print_num(state->consecutive);
	doveadm_print_num(state->total);
	doveadm_print_num(state->reminders);
	doveadm_print(doveadm_alertwall_time(state->first_seen));
	doveadm_print(doveadm_alertwall_time(state->last_seen));
	doveadm_print(doveadm_alertwall_time(state->last_success));
	doveadm_print(state->suspended ? "yes" : "no");
	doveadm_print(alerts_str(show->text));
	/* one record a line, also in the pager's "history:" block */
	array_foreach_elem(history, line) {
		doveadm_print_stream(line, strlen(line));
		doveadm_print_stream("\n", 1);
	}
	doveadm_print_stream("", 0);
}

static void cmd_alertwall_show(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alertwall_open_alert alert;
	struct alerts_show show;
	ARRAY_TYPE(const_string) history;
	const char *id, *error;
	pool_t pool;
	int ret;

	if (!doveadm_alertwall_id_param(cctx, "alert", &id))
		return;
	doveadm_alertwall_settings(&set);
	pool = pool_alloconly_create("alertwall show", 4096);
	p_array_init(&history, pool, 8);
	ret = doveadm_alertwall_find(&set, id, pool, &alert, &error);
	if (ret < 0) {
		i_error("Reading the alert state failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&pool);
		return;
	}
	if (alerts_read_history(set.log_path, id, pool, &history) < 0)
		doveadm_exit_code = EX_TEMPFAIL;

	i_zero(&show);
	show.id = id;
	if (ret > 0)
		alerts_show_from_store(&alert, &show);
	else if (array_count(&history) == 0 ||
		 alerts_show_from_record(array_idx_elem(&history,
				array_count(&history) - 1), pool, &show) < 0) {
		i_error("Unknown alert id %s (not in the state store %s "
			"nor in the sidecar log %s)", id, set.state_uri,
			set.log_path);
		doveadm_exit_code = DOVEADM_ALERTWALL_EX_UNKNOWN;
		pool_unref(&pool);
		return;
	}
	alerts_show_print(&show, &history);
	pool_unref(&pool);
}

/* ---- dismiss ---- */

static void cmd_alertwall_dismiss(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alertwall_open_alert alert;
	struct doveadm_alertwall_creds creds;
	const char *id, *error, *result = "dismissed";
	pool_t pool;
	int ret;

	if (!doveadm_alertwall_id_param(cctx, "alert", &id))
		return;
	doveadm_alertwall_settings(&set);
	pool = pool_alloconly_create("alertwall dismiss", 1024);
	doveadm_alertwall_as_owner_begin(&set, &creds);
	ret = doveadm_alertwall_find(&set, id, pool, &alert, &error);
	if (ret > 0 && !doveadm_alertwall_status_is_open(alert.state.status)) {
		/* dismissing twice changes nothing and says so */
		result = t_strconcat("already ",
			alertwall_status_name(alert.state.status), NULL);
	} else if (ret >= 0) {
		/* an id that an escalation replaced is not found by the
		   iteration, but dismiss still knows it */
		ret = alertwall_engine_dismiss(&set, id, &error);
	}
	doveadm_alertwall_as_owner_end(&creds);
	if (ret <= 0) {
		if (ret < 0) {
			i_error("Dismissing alert %s failed: %s", id, error);
			doveadm_exit_code = EX_TEMPFAIL;
		} else {
			i_error("Unknown alert id %s (not in the state store "
				"%s)", id, set.state_uri);
			doveadm_exit_code = DOVEADM_ALERTWALL_EX_UNKNOWN;
		}
		pool_unref(&pool);
		return;
	}

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_FLOW);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("result");
	doveadm_print_header_simple("code");
	doveadm_print_header_simple("scope");
	doveadm_print_header_simple("user");
	doveadm_print_header_simple("mailbox");
	doveadm_print_header_simple("profile");
	doveadm_print(id);
	doveadm_print(result);
	doveadm_print(alerts_str(alert.code));
	doveadm_print(alert.code == NULL ? "" :
		      alertwall_scope_name(alert.scope));
	doveadm_print(alerts_str(alert.user));
	doveadm_print(alerts_str(alert.mailbox));
	doveadm_print(alerts_str(alert.profile));
	pool_unref(&pool);
}

static struct doveadm_cmd_ver2 alertwall_alerts_commands[] = {
{
	.name = "alertwall list",
	.cmd = cmd_alertwall_list,
	.usage = "[-u <user>] [-p <profile>] [-c <code>] "
		"[-s <status>|silenced|all] "
		"[-S <scope>] [-l <level>] [-t <since>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('p', "profile", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('c', "code", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "status", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('S', "scope", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('l', "level", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('t', "since", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "alertwall show",
	.cmd = cmd_alertwall_show,
	.usage = "<id>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "id", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "alertwall dismiss",
	.cmd = cmd_alertwall_dismiss,
	.usage = "<id>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "id", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
};

void doveadm_alertwall_alerts_register(void)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(alertwall_alerts_commands); i++)
		doveadm_cmd_register_ver2(&alertwall_alerts_commands[i]);
}
