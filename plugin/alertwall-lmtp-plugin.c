/* Copyright (c) 2026 alertwall authors */

/* alertwall-lmtp-plugin: lib91_alertwall_lmtp_plugin.so, loaded only by
   lmtp. It wraps the client's local_deliver so that a failed delivery is
   raised with the final reply the client saw (code, enhanced status), and
   with the storage failure behind it that the storage hooks held back. */

#include "lib.h"
#include "str.h"
#include "module-context.h"
#include "mail-storage.h"
#include "mail-user.h"
#include "smtp-server-private.h"
#include "lmtp-common.h"
#include "lmtp-client.h"
#include "lmtp-recipient.h"
#include "alertwall-user.h"
#include "alertwall-storage.h"
#include "alertwall-delivery.h"

#define ALERTWALL_LMTP_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, alertwall_lmtp_module)

struct alertwall_lmtp_client {
	union lmtp_module_context module_ctx;
};

const char *alertwall_lmtp_plugin_version = DOVECOT_ABI_VERSION;
const char alertwall_lmtp_plugin_binary_dependency[] = "lmtp";
const char *alertwall_lmtp_plugin_dependencies[] = { "alertwall_plugin", NULL };

void alertwall_lmtp_plugin_init(struct module *module);
void alertwall_lmtp_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(alertwall_lmtp_module,
				  &lmtp_module_register);
static lmtp_client_created_func_t *next_hook_client_created;

static int
alertwall_lmtp_local_deliver(struct client *client,
			     struct lmtp_recipient *lrcpt,
			     struct smtp_server_cmd_ctx *cmd,
			     struct smtp_server_transaction *trans,
			     struct lmtp_local_deliver_context *lldctx)
{
	struct alertwall_lmtp_client *aclient = ALERTWALL_LMTP_CONTEXT(client);
	struct mail_user *user = lldctx->rcpt_user;
	struct alertwall_delivery_outcome outcome;
	struct smtp_server_reply *reply;
	const char *enh_code, *reason;
	int ret;

	if (alertwall_user_is_suspended(user, &reason)) {
		/* the seed's "processing of the mailbox stops": a temporary
		   reply keeps the mail queued at the sender, nothing is lost */
		smtp_server_recipient_reply(lrcpt->rcpt, 451, "4.2.1",
			"Mailbox suspended by alertwall (%s); "
			"it is retried after the admin enables it", reason);
		return -1;
	}
	alertwall_user_delivery_begin(user);
	ret = aclient->module_ctx.super.local_deliver(client, lrcpt, cmd,
						       trans, lldctx);

	i_zero(&outcome);
	reply = smtp_server_recipient_get_reply(lrcpt->rcpt);
	if (reply != NULL) {
		outcome.smtp_code = smtp_server_reply_get_status(reply, &enh_code);
		outcome.smtp_status = enh_code;
		outcome.reply_text = smtp_server_reply_get_message(reply);
	} else {
		/* no reply yet means nothing failed visibly */
		outcome.smtp_code = ret < 0 ? 451 : 250;
	}
	outcome.mailbox = lldctx->rcpt_default_mailbox;
	outcome.src_mail = lldctx->src_mail;
	alertwall_delivery_finish(user, &outcome);
	return ret;
}

static void alertwall_lmtp_client_created(struct client **_client)
{
	struct client *client = *_client;
	struct alertwall_lmtp_client *aclient;

	aclient = p_new(client->pool, struct alertwall_lmtp_client, 1);
	aclient->module_ctx.super = client->v;
	client->v.local_deliver = alertwall_lmtp_local_deliver;
	MODULE_CONTEXT_SET(client, alertwall_lmtp_module, aclient);

	if (next_hook_client_created != NULL)
		next_hook_client_created(_client);
}

void alertwall_lmtp_plugin_init(struct module *module ATTR_UNUSED)
{
	next_hook_client_created =
		lmtp_client_created_hook_set(alertwall_lmtp_client_created);
}

void alertwall_lmtp_plugin_deinit(void)
{
	lmtp_client_created_hook_set(next_hook_client_created);
}
