/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-enable: "doveadm alertwall enable", the seed's Test &
   Enable. A doveadm mail command, so it runs as the user with the user's
   storage and settings (-u, -A and -F work as for any mail command): it
   opens and syncs INBOX and saves a tiny message into it inside a
   transaction that is rolled back, so nothing is kept. When that works,
   alertwall_engine_enable() lifts the suspension and closes the user's
   alerts; when not, the storage error is printed, the exit code says
   why and the state is left alone. With -p PROFILE the users are those
   with open alerts of that profile in the state store. Registered by
   doveadm-alertwall.c. */

#include "lib.h"
#include "array.h"
#include "istream.h"
#include "mail-namespace.h"
#include "mail-storage.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "alertwall-rules.h"
#include "doveadm-alertwall.h"

#include <unistd.h>

#define ENABLE_DEFAULT_NOTE "tested by doveadm alertwall enable"

/* saved and rolled back, never kept */
static const char enable_test_message[] =
	"From: MAILER-DAEMON\r\n"
	"Subject: alertwall test and enable\r\n"
	"Auto-Submitted: auto-generated\r\n"
	"\r\n"
	"A test save by doveadm alertwall enable; it is rolled back.\r\n";

struct enable_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	const char *profile;
	const char *note;

	/* -p: the users with open alerts of the profile */
	ARRAY_TYPE(const_string) users;
	unsigned int next_user;
	bool failed_early;
};

/* Save the test message into the user's INBOX and roll it back. Returns 0
   when every step worked, -1 with *error_r (the mailbox's exit code set)
   when one failed. */
static int enable_test_save(struct enable_cmd_context *ctx,
			    struct mail_user *user, const char **error_r)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	struct mailbox_transaction_context *trans;
	struct mail_save_context *save_ctx;
	struct istream *input;
	const char *step = NULL;
	int ret = 0;

	ns = mail_namespace_find_inbox(user->namespaces);
	box = mailbox_alloc(ns->list, "INBOX", 0);
	if (mailbox_open(box) < 0)
		step = "open";
	else if (mailbox_sync(box, 0) < 0)
		step = "sync";
	if (step != NULL) {
		*error_r = t_strdup_printf("%s INBOX failed: %s", step,
			mailbox_get_last_internal_error(box, NULL));
		doveadm_mail_failed_mailbox(&ctx->ctx, box);
		mailbox_free(&box);
		return -1;
	}

	input = i_stream_create_from_data(enable_test_message,
					  sizeof(enable_test_message) - 1);
	trans = mailbox_transaction_begin(box,
		MAILBOX_TRANSACTION_FLAG_EXTERNAL | ctx->ctx.transaction_flags,
		__func__);
	save_ctx = mailbox_save_alloc(trans);
	if (mailbox_save_begin(&save_ctx, input) < 0) {
		step = "save";
	} else {
		do {
			if (mailbox_save_continue(save_ctx) < 0) {
				step = "save";
				break;
			}
		} while (i_stream_read(input) > 0);
		if (step != NULL)
			mailbox_save_cancel(&save_ctx);
		else if (mailbox_save_finish(&save_ctx) < 0)
			step = "save";
	}
	if (step != NULL) {
		*error_r = t_strdup_printf("test %s into INBOX failed: %s",
			step, mailbox_get_last_internal_error(box, NULL));
		doveadm_mail_failed_mailbox(&ctx->ctx, box);
		ret = -1;
	}
	/* the test message is never kept */
	mailbox_transaction_rollback(&trans);
	i_stream_unref(&input);
	mailbox_free(&box);
	return ret;
}

static int cmd_alertwall_enable_run(struct doveadm_mail_cmd_context *_ctx,
				    struct mail_user *user)
{
	struct enable_cmd_context *ctx =
		container_of(_ctx, struct enable_cmd_context, ctx);
	struct alertwall_engine_settings set;
	const char *error;
	int closed;

	if (ctx->failed_early)
		return 0;
	if (enable_test_save(ctx, user, &error) < 0) {
		i_error("Test failed, %s stays as it is: %s", user->username,
			error);
		doveadm_print("failed");
		doveadm_print("0");
		doveadm_print(error);
		return -1;
	}

	doveadm_alertwall_user_settings(user, &set);
	closed = alertwall_engine_enable(&set, user->username, ctx->note,
					 &error);
	if (closed < 0) {
		i_error("Tested, but enabling %s failed: %s", user->username,
			error);
		doveadm_mail_failed_error(_ctx, MAIL_ERROR_TEMP);
		doveadm_print("failed");
		doveadm_print("0");
		doveadm_print(error);
		return -1;
	}
	doveadm_print("enabled");
	doveadm_print_num(closed);
	doveadm_print("");
	return 0;
}

static bool
cmd_alertwall_enable_parse_arg(struct doveadm_mail_cmd_context *_ctx, int c)
{
	struct enable_cmd_context *ctx =
		container_of(_ctx, struct enable_cmd_context, ctx);

	switch (c) {
	case 'p':
		ctx->profile = p_strdup(_ctx->pool, optarg);
		break;
	case 'n':
		ctx->note = p_strdup(_ctx->pool, optarg);
		break;
	default:
		/* doveadm frees the context on FALSE and goes on using it:
		   the getopt string only has the options above */
		i_unreached();
	}
	return TRUE;
}

static int enable_next_profile_user(struct doveadm_mail_cmd_context *_ctx,
				    const char **username_r)
{
	struct enable_cmd_context *ctx =
		container_of(_ctx, struct enable_cmd_context, ctx);

	if (ctx->failed_early || ctx->next_user >= array_count(&ctx->users))
		return 0;
	*username_r = array_idx_elem(&ctx->users, ctx->next_user++);
	return 1;
}

static void cmd_alertwall_enable_preinit(struct doveadm_mail_cmd_context *_ctx)
{
	struct enable_cmd_context *ctx =
		container_of(_ctx, struct enable_cmd_context, ctx);

	if (ctx->profile == NULL)
		return;
	if (_ctx->cctx->username != NULL || _ctx->users_list_input != NULL) {
		i_error("-p selects the users itself: it cannot be combined "
			"with -u or -F");
		_ctx->exit_code = EX_USAGE;
		ctx->failed_early = TRUE;
	}
	/* the users come from the state store, through the all-users
	   loop (-A is allowed and means the same) */
	_ctx->iterate_all_users = TRUE;
	_ctx->v.get_next_user = enable_next_profile_user;
}

struct enable_profile_iter {
	const char *profile;
	pool_t pool;
	ARRAY_TYPE(const_string) *users;
};

static bool enable_profile_user_func(const struct alertwall_open_alert *alert,
				     void *context)
{
	struct enable_profile_iter *iter = context;
	const char *user;

	if (!doveadm_alertwall_status_is_open(alert->state.status) ||
	    alert->user == NULL || alert->profile == NULL ||
	    strcmp(alert->profile, iter->profile) != 0)
		return TRUE;
	array_foreach_elem(iter->users, user) {
		if (strcmp(user, alert->user) == 0)
			return TRUE;
	}
	user = p_strdup(iter->pool, alert->user);
	array_push_back(iter->users, &user);
	return TRUE;
}

static int enable_user_cmp(const char *const *a, const char *const *b)
{
	return strcmp(*a, *b);
}

/* Collect the users with open alerts of the profile. Returns 0, or -1
   (logged, exit code set). */
static int enable_profile_users(struct enable_cmd_context *ctx)
{
	struct alertwall_engine_settings set;
	struct enable_profile_iter iter;
	const char *error;

	doveadm_alertwall_settings(&set);
	if (alertwall_rules_get_profile(alertwall_engine_rules(&set),
					ctx->profile) == NULL) {
		i_error("Unknown profile '%s' (not in %s)", ctx->profile,
			set.rules_path);
		ctx->ctx.exit_code = DOVEADM_ALERTWALL_EX_UNKNOWN;
		return -1;
	}
	i_zero(&iter);
	iter.profile = ctx->profile;
	iter.pool = ctx->ctx.pool;
	iter.users = &ctx->users;
	if (alertwall_engine_iterate(&set, enable_profile_user_func, &iter,
				     &error) < 0) {
		i_error("Reading the alert state failed: %s", error);
		ctx->ctx.exit_code = EX_TEMPFAIL;
		return -1;
	}
	array_sort(&ctx->users, enable_user_cmp);
	if (array_count(&ctx->users) == 0) {
		i_info("No mailbox of profile %s has open alerts: "
		       "nothing to enable", ctx->profile);
	}
	return 0;
}

static void cmd_alertwall_enable_init(struct doveadm_mail_cmd_context *_ctx,
				      const char *const args[] ATTR_UNUSED)
{
	struct enable_cmd_context *ctx =
		container_of(_ctx, struct enable_cmd_context, ctx);

	doveadm_print_header_simple("result");
	doveadm_print_header("closed", "closed",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("error");

	if (ctx->profile != NULL && !ctx->failed_early) {
		if (enable_profile_users(ctx) < 0)
			ctx->failed_early = TRUE;
	}
}

static struct doveadm_mail_cmd_context *cmd_alertwall_enable_alloc(void)
{
	struct enable_cmd_context *ctx;

	ctx = doveadm_mail_cmd_alloc(struct enable_cmd_context);
	ctx->ctx.getopt_args = "p:n:";
	ctx->ctx.v.parse_arg = cmd_alertwall_enable_parse_arg;
	ctx->ctx.v.preinit = cmd_alertwall_enable_preinit;
	ctx->ctx.v.init = cmd_alertwall_enable_init;
	ctx->ctx.v.run = cmd_alertwall_enable_run;
	/* every row names its user, also for a single -u */
	ctx->ctx.add_username_header = TRUE;
	ctx->note = ENABLE_DEFAULT_NOTE;
	p_array_init(&ctx->users, ctx->ctx.pool, 16);
	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_TABLE);
	return &ctx->ctx;
}

static struct doveadm_cmd_ver2 alertwall_enable_command = {
	.name = "alertwall enable",
	.mail_cmd = cmd_alertwall_enable_alloc,
	.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "[-p <profile>] [-n <note>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('p', "profile", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('n', "note", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

void doveadm_alertwall_enable_register(void)
{
	doveadm_cmd_register_ver2(&alertwall_enable_command);
}
