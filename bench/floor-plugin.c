/* Copyright (c) 2026 alertwall authors */

/* floor-plugin: lib95_awfloor_plugin.so, the benchmarks' reference. A mail
   plugin of alertwall's shape that does nothing: a mail user context that
   wraps deinit, and a mailbox context that wraps the five mailbox vfuncs
   alertwall wraps, each only calling its super. What it costs per
   delivery is what Dovecot charges any plugin that hooks mailboxes
   (module loading, settings, vfunc chains); alertwall's instructions
   above it are its own. Not installed: bench/awbench/instr.py loads it
   from a private mail_plugin_dir. */

#include "lib.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"

#define AWFLOOR_USER_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, awfloor_user_module)
#define AWFLOOR_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, awfloor_storage_module)

struct awfloor_user {
	union mail_user_module_context module_ctx;
};

struct awfloor_mailbox {
	union mailbox_module_context module_ctx;
};

const char *awfloor_plugin_version = DOVECOT_ABI_VERSION;

void awfloor_plugin_init(struct module *module);
void awfloor_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(awfloor_user_module,
				  &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(awfloor_storage_module,
				  &mail_storage_module_register);

static void awfloor_user_deinit(struct mail_user *user)
{
	struct awfloor_user *fuser = AWFLOOR_USER_CONTEXT(user);

	fuser->module_ctx.super.deinit(user);
}

static void awfloor_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct awfloor_user *fuser;

	fuser = p_new(user->pool, struct awfloor_user, 1);
	fuser->module_ctx.super = *v;
	user->vlast = &fuser->module_ctx.super;
	v->deinit = awfloor_user_deinit;
	MODULE_CONTEXT_SET(user, awfloor_user_module, fuser);
}

static int awfloor_mailbox_open(struct mailbox *box)
{
	struct awfloor_mailbox *fbox = AWFLOOR_CONTEXT(box);

	return fbox->module_ctx.super.open(box);
}

static int
awfloor_mailbox_sync_deinit(struct mailbox_sync_context *ctx,
			    struct mailbox_sync_status *status_r)
{
	struct awfloor_mailbox *fbox = AWFLOOR_CONTEXT(ctx->box);

	return fbox->module_ctx.super.sync_deinit(ctx, status_r);
}

static int awfloor_save_finish(struct mail_save_context *ctx)
{
	struct awfloor_mailbox *fbox = AWFLOOR_CONTEXT(ctx->transaction->box);

	return fbox->module_ctx.super.save_finish(ctx);
}

static int awfloor_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct awfloor_mailbox *fbox = AWFLOOR_CONTEXT(ctx->transaction->box);

	return fbox->module_ctx.super.copy(ctx, mail);
}

static int
awfloor_transaction_commit(struct mailbox_transaction_context *t,
			   struct mail_transaction_commit_changes *changes_r)
{
	struct awfloor_mailbox *fbox = AWFLOOR_CONTEXT(t->box);

	return fbox->module_ctx.super.transaction_commit(t, changes_r);
}

static void awfloor_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct awfloor_mailbox *fbox;

	fbox = p_new(box->pool, struct awfloor_mailbox, 1);
	fbox->module_ctx.super = *v;
	box->vlast = &fbox->module_ctx.super;
	v->open = awfloor_mailbox_open;
	v->sync_deinit = awfloor_mailbox_sync_deinit;
	v->save_finish = awfloor_save_finish;
	v->copy = awfloor_copy;
	v->transaction_commit = awfloor_transaction_commit;
	MODULE_CONTEXT_SET(box, awfloor_storage_module, fbox);
}

static struct mail_storage_hooks awfloor_hooks = {
	.mail_user_created = awfloor_mail_user_created,
	.mailbox_allocated = awfloor_mailbox_allocated,
};

void awfloor_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &awfloor_hooks);
}

void awfloor_plugin_deinit(void)
{
	mail_storage_hooks_remove(&awfloor_hooks);
}
