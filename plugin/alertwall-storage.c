/* Copyright (c) 2026 alertwall authors */

/* alertwall-storage: wraps the mailbox vfuncs (open, sync_deinit,
   save_finish, copy, transaction_commit) of every mailbox and raises a
   failure when one of them fails. During a delivery the failure is held
   for the lmtp/lda adapter, which knows the final reply. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "raw-storage.h"
#include "alertwall-events.h"
#include "alertwall-user.h"
#include "alertwall-storage.h"

#define ALERTWALL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, alertwall_storage_module)

#define ALERTWALL_SETTING_IGNORE "alertwall_ignore_mail_errors"
/* errors a client causes itself (selecting a missing folder, fetching an
   expunged message) say nothing about the server's health */
#define ALERTWALL_DEFAULT_IGNORE "NOTFOUND EXISTS EXPUNGED PARAMS NOTPOSSIBLE"

struct alertwall_mailbox {
	union mailbox_module_context module_ctx;
	/* bit per enum mail_error that is not alerted outside deliveries */
	unsigned int ignore_mask;
};

static MODULE_CONTEXT_DEFINE_INIT(alertwall_storage_module,
				  &mail_storage_module_register);

static const int alertwall_errnos[] = {
	ENOSPC, EDQUOT, EACCES, EPERM, EROFS, ESTALE, EIO, ENOENT,
	ENOTDIR, EISDIR, EMFILE, ENFILE, ENOMEM, ETIMEDOUT, ELOOP,
	ENAMETOOLONG, EFBIG, EEXIST, ENOTEMPTY, EBUSY, EAGAIN,
	ECONNREFUSED, ECONNRESET, EPIPE, EXDEV, EINVAL
};
/* their strerror() texts, made once per process: strerror() goes
   through gettext, and calling it for each errno of each failure was a
   tenth of the instructions a failing delivery added */
#define ALERTWALL_ERRNO_TEXT_MAX 64
static char alertwall_errno_texts[N_ELEMENTS(alertwall_errnos)]
				 [ALERTWALL_ERRNO_TEXT_MAX];
static bool alertwall_errno_texts_made = FALSE;

int alertwall_errno_from_text(const char *text)
{
	unsigned int i;

	if (text == NULL)
		return 0;
	if (!alertwall_errno_texts_made) {
		for (i = 0; i < N_ELEMENTS(alertwall_errnos); i++) {
			i_strocpy(alertwall_errno_texts[i],
				  strerror(alertwall_errnos[i]),
				  ALERTWALL_ERRNO_TEXT_MAX);
		}
		alertwall_errno_texts_made = TRUE;
	}
	for (i = 0; i < N_ELEMENTS(alertwall_errnos); i++) {
		if (strstr(text, alertwall_errno_texts[i]) != NULL)
			return alertwall_errnos[i];
	}
	return 0;
}

/* the last parsed alertwall_ignore_mail_errors value: it is the same for
   nearly every user, and a mailbox is allocated for every delivery and
   every IMAP SELECT (parsing it each time was a tenth of the instructions
   the plugin added to an LMTP delivery, see bench/RESULTS.md) */
static char *ignore_cache_value;
static unsigned int ignore_cache_mask;

static unsigned int alertwall_ignore_mask(struct mail_user *user)
{
	const char *value = mail_user_plugin_getenv(user, ALERTWALL_SETTING_IGNORE);
	const char *const *names;
	unsigned int mask = 0;
	int mail_error;

	if (value == NULL)
		value = ALERTWALL_DEFAULT_IGNORE;
	if (ignore_cache_value != NULL && strcmp(ignore_cache_value, value) == 0)
		return ignore_cache_mask;
	T_BEGIN {
		for (names = t_strsplit_spaces(value, " ,"); *names != NULL;
		     names++) {
			if (alertwall_mail_error_parse(*names, &mail_error) < 0) {
				i_warning("alertwall: %s: unknown mail error name "
					  "'%s' ignored", ALERTWALL_SETTING_IGNORE,
					  *names);
				continue;
			}
			mask |= 1U << mail_error;
		}
	} T_END;
	i_free(ignore_cache_value);
	ignore_cache_value = i_strdup(value);
	ignore_cache_mask = mask;
	return mask;
}

static void
alertwall_mailbox_failed(struct mailbox *box, enum alertwall_source source,
			 struct mail_save_context *save_ctx)
{
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);
	struct mail_user *user = box->storage->user;
	struct alertwall_failure failure;
	enum mail_error mail_error;
	const char *text;

	if (!alertwall_user_is_active(user))
		return;
	T_BEGIN {
		text = mailbox_get_last_internal_error(box, &mail_error);
		alertwall_failure_init(&failure, source);
		failure.mail_error = (int)mail_error;
		failure.text = text;
		failure.errno_value = alertwall_errno_from_text(text);
		failure.mailbox = mailbox_get_vname(box);
		if (save_ctx != NULL) {
			failure.uid = save_ctx->data.uid;
			failure.guid = save_ctx->data.guid;
		}
		if (alertwall_user_hold_failure(user, &failure)) {
			/* the delivery adapter reports it with the reply */
		} else if ((abox->ignore_mask & (1U << mail_error)) == 0) {
			alertwall_user_raise(user, &failure, NULL);
		}
	} T_END;
}

static int alertwall_mailbox_open(struct mailbox *box)
{
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);

	if (abox->module_ctx.super.open(box) < 0) {
		alertwall_mailbox_failed(box, ALERTWALL_SOURCE_OPEN, NULL);
		return -1;
	}
	return 0;
}

static int
alertwall_mailbox_sync_deinit(struct mailbox_sync_context *ctx,
			      struct mailbox_sync_status *status_r)
{
	struct mailbox *box = ctx->box;
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);

	if (abox->module_ctx.super.sync_deinit(ctx, status_r) < 0) {
		alertwall_mailbox_failed(box, ALERTWALL_SOURCE_SYNC, NULL);
		return -1;
	}
	/* outside deliveries a working sync is the mailbox's success */
	if (!alertwall_user_is_delivering(box->storage->user))
		alertwall_user_success(box->storage->user, FALSE);
	return 0;
}

static int alertwall_save_finish(struct mail_save_context *ctx)
{
	struct mailbox *box = ctx->transaction->box;
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);

	if (abox->module_ctx.super.save_finish(ctx) < 0) {
		alertwall_mailbox_failed(box, ALERTWALL_SOURCE_SAVE, ctx);
		return -1;
	}
	return 0;
}

static int alertwall_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox *box = ctx->transaction->box;
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);

	if (abox->module_ctx.super.copy(ctx, mail) < 0) {
		alertwall_mailbox_failed(box, ALERTWALL_SOURCE_COPY, ctx);
		return -1;
	}
	return 0;
}

static int
alertwall_transaction_commit(struct mailbox_transaction_context *t,
			     struct mail_transaction_commit_changes *changes_r)
{
	/* the transaction is freed by the commit */
	struct mailbox *box = t->box;
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);
	bool saving = t->save_count > 0;

	if (abox->module_ctx.super.transaction_commit(t, changes_r) < 0) {
		alertwall_mailbox_failed(box, ALERTWALL_SOURCE_SAVE, NULL);
		return -1;
	}
	if (saving)
		alertwall_user_delivery_saved(box->storage->user);
	return 0;
}

static void alertwall_mailbox_free(struct mailbox *box)
{
	struct alertwall_mailbox *abox = ALERTWALL_CONTEXT(box);

	alertwall_events_unwatch_mailbox(box);
	abox->module_ctx.super.free(box);
}

static void alertwall_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct alertwall_mailbox *abox;

	if (!alertwall_user_is_active(box->storage->user))
		return;
	/* the raw storage only wraps the incoming message for lmtp and
	   dovecot-lda (failures there are the delivery's own, caught with
	   its reply); wrapping it cost every delivery a second vfunc chain */
	if (strcmp(box->storage->name, RAW_STORAGE_NAME) == 0)
		return;

	abox = p_new(box->pool, struct alertwall_mailbox, 1);
	abox->module_ctx.super = *v;
	box->vlast = &abox->module_ctx.super;
	abox->ignore_mask = alertwall_ignore_mask(box->storage->user);

	v->open = alertwall_mailbox_open;
	v->sync_deinit = alertwall_mailbox_sync_deinit;
	v->save_finish = alertwall_save_finish;
	v->copy = alertwall_copy;
	v->transaction_commit = alertwall_transaction_commit;
	v->free = alertwall_mailbox_free;
	MODULE_CONTEXT_SET(box, alertwall_storage_module, abox);
	alertwall_events_watch_mailbox(box);
}

static struct mail_storage_hooks alertwall_storage_hooks = {
	.mailbox_allocated = alertwall_mailbox_allocated,
};

void alertwall_storage_init(struct module *module)
{
	mail_storage_hooks_add(module, &alertwall_storage_hooks);
}

void alertwall_storage_deinit(void)
{
	mail_storage_hooks_remove(&alertwall_storage_hooks);
	i_free(ignore_cache_value);
}
