/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-silence: the admin's silences.
     doveadm alertwall silence CODE|user=USER|profile=PROFILE --for DURATION
         [-r REASON]
     doveadm alertwall silence list
     doveadm alertwall silence remove ID
   A silence mutes the alert mails that it selects until it expires; the
   alerts are still counted and logged (alertwall-silence.h). Silences are
   kept in the state store, so they hold for every process and survive
   restarts. Registered by doveadm-alertwall.c. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "str-sanitize.h"
#include "settings-parser.h"
#include "doveadm.h"
#include "doveadm-cmd.h"
#include "doveadm-print.h"
#include "alertwall-rules.h"
#include "alertwall-silence.h"
#include "doveadm-alertwall.h"

/* a silence is for an incident, not a way to switch alerts off */
#define SILENCE_MAX_SECS (366U * 24 * 3600)

static struct alertwall_store *
silence_store(struct alertwall_engine_settings *set)
{
	struct alertwall_store *store;
	const char *error;

	doveadm_alertwall_settings(set);
	store = alertwall_engine_store(set, &error);
	if (store == NULL) {
		i_error("Silences need the state store: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
	}
	return store;
}

static void cmd_alertwall_silence_add(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alertwall_store *store;
	struct alertwall_silence silence;
	const char *arg, *duration, *reason = "", *match, *error;
	unsigned int secs;
	string_t *id;

	if (!doveadm_cmd_param_str(cctx, "selector", &arg)) {
		i_error("Missing what to silence: CODE, user=USER or "
			"profile=PROFILE");
		doveadm_exit_code = EX_USAGE;
		return;
	}
	i_zero(&silence);
	if (alertwall_silence_parse_selector(arg, &silence.kind, &match,
					     &error) < 0) {
		i_error("%s", error);
		doveadm_exit_code = EX_USAGE;
		return;
	}
	silence.match = match;
	if (!doveadm_cmd_param_str(cctx, "for", &duration)) {
		i_error("Missing --for DURATION (e.g. --for 2h)");
		doveadm_exit_code = EX_USAGE;
		return;
	}
	if (settings_get_time(duration, &secs, &error) < 0) {
		i_error("Invalid --for '%s': %s", str_sanitize(duration, 80),
			error);
		doveadm_exit_code = EX_USAGE;
		return;
	}
	if (secs == 0 || secs > SILENCE_MAX_SECS) {
		i_error("Invalid --for '%s': a duration from 1s to 366d",
			str_sanitize(duration, 80));
		doveadm_exit_code = EX_USAGE;
		return;
	}
	if (doveadm_cmd_param_str(cctx, "reason", &reason)) {
		/* one silence a line in the store */
		reason = str_sanitize(reason, ALERTWALL_SILENCE_REASON_MAX);
	}
	silence.reason = reason;

	store = silence_store(&set);
	if (store == NULL)
		return;
	if (silence.kind == ALERTWALL_SILENCE_PROFILE &&
	    alertwall_rules_get_profile(alertwall_engine_rules(&set),
					silence.match) == NULL) {
		i_error("Unknown profile '%s' (not in %s)",
			str_sanitize(silence.match, 80), set.rules_path);
		doveadm_exit_code = DOVEADM_ALERTWALL_EX_UNKNOWN;
		return;
	}
	id = t_str_new(32);
	alertwall_alert_id_generate((long long)ioloop_timeval.tv_sec * 1000000LL +
				    ioloop_timeval.tv_usec, id);
	silence.id = str_c(id);
	silence.created = ioloop_time;
	silence.expires = ioloop_time + (time_t)secs;
	if (alertwall_silence_add(store, &silence, ioloop_time, &error) < 0) {
		i_error("Adding the silence failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_FLOW);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("selector");
	doveadm_print_header_simple("expires");
	doveadm_print_header_simple("reason");
	doveadm_print(silence.id);
	doveadm_print(alertwall_silence_selector(&silence));
	doveadm_print(doveadm_alertwall_time(silence.expires));
	doveadm_print(silence.reason);
}

static void cmd_alertwall_silence_list(struct doveadm_cmd_context *cctx ATTR_UNUSED)
{
	struct alertwall_engine_settings set;
	struct alertwall_store *store;
	ARRAY_TYPE(alertwall_silence) silences;
	const struct alertwall_silence *silence;
	const char *error;
	pool_t pool;

	store = silence_store(&set);
	if (store == NULL)
		return;
	pool = pool_alloconly_create("alertwall silences", 1024);
	p_array_init(&silences, pool, 8);
	if (alertwall_silence_list(store, ioloop_time, pool, &silences,
				   &error) < 0) {
		i_error("Reading the silences failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&pool);
		return;
	}

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("selector");
	doveadm_print_header_simple("created");
	doveadm_print_header_simple("expires");
	doveadm_print_header("remaining", "remaining",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("reason");
	array_foreach(&silences, silence) {
		doveadm_print(silence->id);
		doveadm_print(alertwall_silence_selector(silence));
		doveadm_print(doveadm_alertwall_time(silence->created));
		doveadm_print(doveadm_alertwall_time(silence->expires));
		doveadm_print_num(silence->expires - ioloop_time);
		doveadm_print(silence->reason);
	}
	pool_unref(&pool);
}

static void cmd_alertwall_silence_remove(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alertwall_store *store;
	const char *id, *error;
	int ret;

	if (!doveadm_alertwall_id_param(cctx, "silence", &id))
		return;
	store = silence_store(&set);
	if (store == NULL)
		return;
	ret = alertwall_silence_remove(store, id, ioloop_time, &error);
	if (ret < 0) {
		i_error("Removing the silence failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}
	if (ret == 0) {
		i_error("Unknown silence id %s (not active in %s)", id,
			set.state_uri);
		doveadm_exit_code = DOVEADM_ALERTWALL_EX_UNKNOWN;
		return;
	}
	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_FLOW);
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("result");
	doveadm_print(id);
	doveadm_print("removed");
}

/* "silence list" and "silence remove" come first: doveadm takes the first
   command whose name matches, and "silence" alone would take "list" as
   its selector */
static struct doveadm_cmd_ver2 alertwall_silence_commands[] = {
{
	.name = "alertwall silence list",
	.cmd = cmd_alertwall_silence_list,
	.usage = "",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAMS_END
},
{
	.name = "alertwall silence remove",
	.cmd = cmd_alertwall_silence_remove,
	.usage = "<id>",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "id", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "alertwall silence",
	.cmd = cmd_alertwall_silence_add,
	.usage = "<code>|user=<user>|profile=<profile> --for <duration> "
		"[-r <reason>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "for", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('r', "reason", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "selector", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
};

void doveadm_alertwall_silence_register(void)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(alertwall_silence_commands); i++)
		doveadm_cmd_register_ver2(&alertwall_silence_commands[i]);
}
