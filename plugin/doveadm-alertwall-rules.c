/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-rules: "doveadm alertwall rules check" validates a
   rules file; "doveadm alertwall rules test" classifies a failure described
   on the command line, so admins can try rules before deploying them.
   Registered by doveadm-alertwall.c. */

#include "lib.h"
#include "str.h"
#include "doveadm.h"
#include "doveadm-cmd.h"
#include "doveadm-print.h"
#include "doveadm-util.h"
#include "alertwall-rules.h"
#include "doveadm-alertwall.h"

#include <stdio.h>
#include <sysexits.h>

static const char *cmd_alertwall_rules_path(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	const char *path;

	if (doveadm_cmd_param_str(cctx, "file", &path))
		return path;
	doveadm_alertwall_settings(&set);
	return set.rules_path;
}

/* the positioned errors, one a line, are the output admins act on */
static void cmd_alertwall_print_errors(const char *errors)
{
	fputs(errors, stderr);
	if (*errors != '\0' && errors[strlen(errors) - 1] != '\n')
		fputc('\n', stderr);
}

static void cmd_alertwall_rules_check(struct doveadm_cmd_context *cctx)
{
	struct alertwall_rules *rules;
	const char *path = cmd_alertwall_rules_path(cctx);
	const char *error;

	if (alertwall_rules_load_file(path, &rules, &error) < 0) {
		cmd_alertwall_print_errors(error);
		fprintf(stderr, "doveadm alertwall rules check: %s is invalid\n",
			path);
		doveadm_exit_code = EX_DATAERR;
		return;
	}
	printf("%s: OK, %u rules\n", path, alertwall_rules_count(rules));
	alertwall_rules_free(&rules);
}

static bool
cmd_alertwall_param_enum(struct doveadm_cmd_context *cctx, const char *key,
			 int (*parse)(const char *, int *), int *value_r)
{
	const char *value;

	if (!doveadm_cmd_param_str(cctx, key, &value))
		return TRUE;
	if (parse(value, value_r) < 0) {
		i_error("Unknown %s '%s'", key, value);
		doveadm_exit_code = EX_USAGE;
		return FALSE;
	}
	return TRUE;
}

static int cmd_alertwall_parse_source(const char *name, int *value_r)
{
	enum alertwall_source source;

	if (alertwall_source_parse(name, &source) < 0)
		return -1;
	*value_r = (int)source;
	return 0;
}

/* fill a failure from the command line; FALSE on a bad value */
static bool
cmd_alertwall_failure_from_params(struct doveadm_cmd_context *cctx,
				  struct alertwall_failure *failure)
{
	const char *const *categories;
	const char *value;
	int source = ALERTWALL_SOURCE_OTHER;
	int64_t smtp_code;

	if (!cmd_alertwall_param_enum(cctx, "source",
				      cmd_alertwall_parse_source, &source))
		return FALSE;
	alertwall_failure_init(failure, (enum alertwall_source)source);
	if (!cmd_alertwall_param_enum(cctx, "mail-error",
				      alertwall_mail_error_parse,
				      &failure->mail_error) ||
	    !cmd_alertwall_param_enum(cctx, "errno", alertwall_errno_parse,
				      &failure->errno_value))
		return FALSE;
	if (doveadm_cmd_param_int64(cctx, "smtp-code", &smtp_code)) {
		if (smtp_code < 200 || smtp_code > 599) {
			i_error("smtp-code must be 200..599");
			doveadm_exit_code = EX_USAGE;
			return FALSE;
		}
		failure->smtp_code = (unsigned int)smtp_code;
	}
	(void)doveadm_cmd_param_str(cctx, "smtp-status", &failure->smtp_status);
	(void)doveadm_cmd_param_str(cctx, "text", &failure->text);
	(void)doveadm_cmd_param_str(cctx, "event", &failure->event_name);
	if (doveadm_cmd_param_array(cctx, "category", &categories))
		failure->categories = categories;
	if (doveadm_cmd_param_str(cctx, "user", &value))
		failure->user = value;
	(void)doveadm_cmd_param_str(cctx, "mailbox", &failure->mailbox);
	return TRUE;
}

static void cmd_alertwall_rules_test(struct doveadm_cmd_context *cctx)
{
	struct alertwall_rules *rules;
	struct alertwall_failure failure;
	struct alertwall_classification class;
	struct alertwall_profile_subject subject;
	const struct alertwall_profile *profile;
	const char *path = cmd_alertwall_rules_path(cctx);
	const char *error;
	string_t *summary;

	if (!cmd_alertwall_failure_from_params(cctx, &failure))
		return;
	if (alertwall_rules_load_file(path, &rules, &error) < 0) {
		cmd_alertwall_print_errors(error);
		i_error("%s is invalid; see doveadm alertwall rules check", path);
		doveadm_exit_code = EX_DATAERR;
		return;
	}

	i_zero(&subject);
	subject.user = failure.user;
	profile = alertwall_rules_find_profile(rules, &subject);
	alertwall_rules_classify(rules, &failure, &class);
	summary = t_str_new(128);
	alertwall_classification_summary(&class, &failure,
		alertwall_profile_get_name(profile), summary);

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("rule");
	doveadm_print_header_simple("code");
	doveadm_print_header_simple("nature");
	doveadm_print_header_simple("scope");
	doveadm_print_header_simple("level");
	doveadm_print_header_simple("generate");
	doveadm_print_header_simple("retry_limit");
	doveadm_print_header_simple("retry_window");
	doveadm_print_header_simple("profile");
	doveadm_print_header_simple("summary");
	doveadm_print_header_simple("action");
	doveadm_print(dec2str(class.rule_index + 1));
	doveadm_print(class.code);
	doveadm_print(alertwall_nature_name(class.nature));
	doveadm_print(alertwall_scope_name(class.scope));
	doveadm_print(alertwall_level_name(class.level));
	doveadm_print(class.generate ? "yes" : "no");
	doveadm_print(dec2str(class.retry_limit));
	doveadm_print(dec2str(class.retry_window_secs));
	doveadm_print(alertwall_profile_get_name(profile));
	doveadm_print(str_c(summary));
	doveadm_print(class.action);
	alertwall_rules_free(&rules);
}

static struct doveadm_cmd_ver2 alertwall_rules_commands[] = {
{
	.name = "alertwall rules check",
	.cmd = cmd_alertwall_rules_check,
	.usage = "[<file>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('\0', "file", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
},
{
	.name = "alertwall rules test",
	.cmd = cmd_alertwall_rules_test,
	.usage = "[-F <file>] [-s <source>] [-e <mail error>] [-n <errno>] "
		"[-t <text>] [-c <smtp code>] [-S <smtp status>] "
		"[-E <event>] [-C <category>] [-u <user>] [-m <mailbox>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('F', "file", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('s', "source", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('e', "mail-error", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('n', "errno", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('t', "text", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('c', "smtp-code", CMD_PARAM_INT64, 0)
DOVEADM_CMD_PARAM('S', "smtp-status", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('E', "event", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('C', "category", CMD_PARAM_ARRAY, 0)
DOVEADM_CMD_PARAM('u', "user", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('m', "mailbox", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
},
};

void doveadm_alertwall_rules_register(void)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(alertwall_rules_commands); i++)
		doveadm_cmd_register_ver2(&alertwall_rules_commands[i]);
}
