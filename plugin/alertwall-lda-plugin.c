/* Copyright (c) 2026 alertwall authors */

/* alertwall-lda-plugin: lib91_alertwall_lda_plugin.so, loaded only by
   dovecot-lda. dovecot-lda saves through the delivery hook and then its
   own fallback, and turns the result into an exit status after both, so
   the delivery is bracketed from the hook to the end of the recipient's
   session, when the outcome is known. */

#include "lib.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage.h"
#include "mail-storage-hooks.h"
#include "mail-deliver.h"
#include "lda-settings.h"
#include "alertwall-user.h"
#include "alertwall-delivery.h"

#define ALERTWALL_LDA_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, alertwall_lda_user_module)

struct alertwall_lda_user {
	union mail_user_module_context module_ctx;

	bool delivering;
	bool quota_full_tempfail;
	const char *mailbox;
	const char *message_id;
	const char *headers;
};

const char *alertwall_lda_plugin_version = DOVECOT_ABI_VERSION;
const char alertwall_lda_plugin_binary_dependency[] = "lda";
const char *alertwall_lda_plugin_dependencies[] = { "alertwall_plugin", NULL };

void alertwall_lda_plugin_init(struct module *module);
void alertwall_lda_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(alertwall_lda_user_module,
				  &mail_user_module_register);
static deliver_mail_func_t *next_deliver_mail;

static const char *alertwall_lda_message_id(struct mail *mail, pool_t pool)
{
	const char *value;

	if (mail_get_first_header(mail, "Message-ID", &value) <= 0)
		return NULL;
	return p_strdup(pool, value);
}

/* The deliver service's alert mails go into their folder or wait.
   dovecot-lda saves to INBOX when it cannot open the -m folder (a create
   racing another, a client listing the mailbox), where nobody looks for
   an alert; a failed save becomes a temporary failure instead, which the
   service retries. The recipient's Sieve script is not run for them:
   the service names the folder, and no vacation reply answers an alert. */
static int
alertwall_lda_save_to_folder(struct mail_deliver_context *ctx,
			     struct mail_storage **storage_r)
{
	const char *folder = ctx->rcpt_default_mailbox, *error;

	if (mail_deliver_save(ctx, folder, 0, NULL, storage_r) == 0)
		return 1;
	if (ctx->tempfail_error == NULL) {
		error = *storage_r == NULL ? "no storage" :
			mail_storage_get_last_error(*storage_r, NULL);
		ctx->tempfail_error = p_strdup_printf(ctx->pool,
			"alertwall: not saved to %s, retried later: %s",
			folder, error);
	}
	return -1;
}

/* only for the deliver service's muted runs: set for an MTA's
   dovecot-lda, it would skip every user's Sieve script */
static bool alertwall_lda_folder_only(struct mail_deliver_context *ctx)
{
	return strcasecmp(ctx->rcpt_default_mailbox, "INBOX") != 0 &&
		mail_user_plugin_getenv_bool(ctx->rcpt_user,
					     "alertwall_alert_folder_only") &&
		mail_user_plugin_getenv_bool(ctx->rcpt_user,
					     "alertwall_mute");
}

static int
alertwall_lda_deliver_mail(struct mail_deliver_context *ctx,
			   struct mail_storage **storage_r)
{
	struct alertwall_lda_user *luser =
		ALERTWALL_LDA_USER_CONTEXT(ctx->rcpt_user);
	const char *reason;

	if (luser != NULL &&
	    alertwall_user_is_suspended(ctx->rcpt_user, &reason)) {
		/* dovecot-lda exits EX_TEMPFAIL: the MTA keeps the mail */
		ctx->tempfail_error = p_strdup_printf(ctx->pool,
			"Mailbox suspended by alertwall (%s); "
			"it is retried after the admin enables it", reason);
		return -1;
	}
	if (luser != NULL && !luser->delivering) {
		luser->delivering = TRUE;
		luser->quota_full_tempfail = ctx->set->quota_full_tempfail;
		luser->mailbox = p_strdup(ctx->rcpt_user->pool,
					  ctx->rcpt_default_mailbox);
		/* the source mail is freed before the outcome is known */
		luser->message_id = alertwall_lda_message_id(ctx->src_mail,
							    ctx->rcpt_user->pool);
		luser->headers = p_strdup(ctx->rcpt_user->pool,
			alertwall_mail_get_headers(ctx->src_mail,
				ALERTWALL_DELIVERY_MAX_HEADERS_SIZE));
		alertwall_user_delivery_begin(ctx->rcpt_user);
	}
	if (alertwall_lda_folder_only(ctx))
		return alertwall_lda_save_to_folder(ctx, storage_r);
	if (next_deliver_mail == NULL)
		return 0;
	return next_deliver_mail(ctx, storage_r);
}

static void alertwall_lda_user_deinit(struct mail_user *user)
{
	struct alertwall_lda_user *luser = ALERTWALL_LDA_USER_CONTEXT(user);
	struct alertwall_delivery_outcome outcome;

	if (luser->delivering) {
		luser->delivering = FALSE;
		i_zero(&outcome);
		outcome.lda = TRUE;
		outcome.quota_full_tempfail = luser->quota_full_tempfail;
		outcome.mailbox = luser->mailbox;
		outcome.message_id = luser->message_id;
		outcome.headers = luser->headers;
		alertwall_delivery_finish(user, &outcome);
	}
	luser->module_ctx.super.deinit(user);
}

static void alertwall_lda_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct alertwall_lda_user *luser;

	if (!alertwall_user_is_active(user))
		return;
	luser = p_new(user->pool, struct alertwall_lda_user, 1);
	luser->module_ctx.super = *v;
	user->vlast = &luser->module_ctx.super;
	v->deinit = alertwall_lda_user_deinit;
	MODULE_CONTEXT_SET(user, alertwall_lda_user_module, luser);
}

static struct mail_storage_hooks alertwall_lda_hooks = {
	.mail_user_created = alertwall_lda_mail_user_created,
};

void alertwall_lda_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &alertwall_lda_hooks);
	next_deliver_mail = mail_deliver_hook_set(alertwall_lda_deliver_mail);
}

void alertwall_lda_plugin_deinit(void)
{
	mail_deliver_hook_set(next_deliver_mail);
	mail_storage_hooks_remove(&alertwall_lda_hooks);
}
