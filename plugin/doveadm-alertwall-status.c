/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-status: "doveadm alertwall status -u USER", one
   mailbox's alert state: suspended or active (and why), its open alerts
   with their counters, its last success and last error. A doveadm mail
   command for the userdb lookup (an unknown user fails as in every mail
   command, and -A/-F work), with the user's own settings; it never opens
   the user's storage, so it works on a broken mailbox too. Registered by
   doveadm-alertwall.c. */

#include "lib.h"
#include "str.h"
#include "mail-user.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "doveadm-alertwall.h"

struct status_user_ctx {
	/* the store frees the iteration's strings after each callback */
	pool_t pool;
	const char *user;
	unsigned int open;
	string_t *alerts;
	time_t last_success;
	time_t last_error;
	const char *last_error_code;
};

static bool status_alert_func(const struct alertwall_open_alert *alert,
			      void *context)
{
	struct status_user_ctx *ctx = context;
	const struct alertwall_object_state *state = &alert->state;

	if (alert->id == NULL || alert->code == NULL ||
	    null_strcmp(alert->user, ctx->user) != 0)
		return TRUE;
	if (state->last_success > ctx->last_success)
		ctx->last_success = state->last_success;
	if (state->last_seen > ctx->last_error ||
	    ctx->last_error_code == NULL) {
		ctx->last_error = state->last_seen;
		ctx->last_error_code = p_strdup(ctx->pool, alert->code);
	}
	if (!doveadm_alertwall_status_is_open(state->status))
		return TRUE;
	ctx->open++;
	str_printfa(ctx->alerts, "%s %s %s %s %s mailbox=%s attempts=%u "
		    "consecutive=%u total=%u last_seen=%s\n",
		    alert->id, alert->code, alertwall_status_name(state->status),
		    alertwall_nature_name(state->nature),
		    alertwall_scope_name(alert->scope),
		    alert->mailbox == NULL ? "-" : alert->mailbox,
		    state->attempts, state->consecutive, state->total,
		    doveadm_alertwall_time(state->last_seen));
	return TRUE;
}

static int cmd_alertwall_status_run(struct doveadm_mail_cmd_context *ctx,
				    struct mail_user *user)
{
	struct alertwall_engine_settings set;
	struct status_user_ctx sctx;
	const char *reason = NULL, *error, *const *parts;

	doveadm_alertwall_user_settings(user, &set);
	i_zero(&sctx);
	sctx.pool = pool_alloconly_create("alertwall status", 1024);
	sctx.user = user->username;
	sctx.alerts = str_new(sctx.pool, 256);
	if (alertwall_engine_iterate(&set, status_alert_func, &sctx,
				     &error) < 0) {
		i_error("Reading the alert state failed: %s", error);
		doveadm_mail_failed_error(ctx, MAIL_ERROR_TEMP);
		pool_unref(&sctx.pool);
		return -1;
	}

	if (alertwall_engine_is_suspended(&set, user->username, &reason,
					  NULL)) {
		/* the reason is "CODE ID" */
		parts = t_strsplit(reason, " ");
		doveadm_print("suspended");
		doveadm_print(parts[1] == NULL ? reason :
			t_strdup_printf("%s (alert %s)", parts[0], parts[1]));
	} else {
		doveadm_print("active");
		doveadm_print("");
	}
	doveadm_print_num(sctx.open);
	if (str_len(sctx.alerts) > 0)
		str_truncate(sctx.alerts, str_len(sctx.alerts) - 1);
	doveadm_print(str_c(sctx.alerts));
	doveadm_print(doveadm_alertwall_time(sctx.last_success));
	doveadm_print(sctx.last_error_code == NULL ? "" :
		      sctx.last_error_code);
	doveadm_print(doveadm_alertwall_time(sctx.last_error));
	pool_unref(&sctx.pool);
	return 0;
}

static void cmd_alertwall_status_init(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
				      const char *const args[] ATTR_UNUSED)
{
	doveadm_print_header_simple("status");
	doveadm_print_header_simple("reason");
	doveadm_print_header("open", "open", DOVEADM_PRINT_HEADER_FLAG_NUMBER);
	doveadm_print_header_simple("alerts");
	doveadm_print_header_simple("last_success");
	doveadm_print_header_simple("last_error_code");
	doveadm_print_header_simple("last_error");
}

static struct doveadm_mail_cmd_context *cmd_alertwall_status_alloc(void)
{
	struct doveadm_mail_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
	ctx->v.init = cmd_alertwall_status_init;
	ctx->v.run = cmd_alertwall_status_run;
	/* the state is all it reads: a mailbox whose storage is broken
	   must still show its status */
	ctx->service_flags |= MAIL_STORAGE_SERVICE_FLAG_NO_NAMESPACES;
	ctx->add_username_header = TRUE;
	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_PAGER);
	return ctx;
}

static struct doveadm_cmd_ver2 alertwall_status_command = {
	.name = "alertwall status",
	.mail_cmd = cmd_alertwall_status_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
};

void doveadm_alertwall_status_register(void)
{
	doveadm_cmd_register_ver2(&alertwall_status_command);
}
