#ifndef ALERTWALL_USER_H
#define ALERTWALL_USER_H

#include "alertwall-failure.h"
#include "alertwall-alert.h"
#include "alertwall-settings.h"

/* alertwall-user: the mail user's side of the engine (alertwall-engine.h):
   per-user settings, raising failures and reporting successes, and the
   delivery bracket that holds storage failures for the delivery
   adapters. */

struct module;
struct mail_user;

/* a failure caught while a delivery is in progress: the delivery adapter
   reports it with the final reply, so storage hooks hold it back */
struct alertwall_held_failure {
	enum alertwall_source source;
	int mail_error;
	int errno_value;
	const char *text;
	const char *mailbox;
};

/* Raise an alert for a failure in this user's session. Missing context
   fields (user, service, session, host) are filled in. orig_headers is the
   failed message's header block for email-level alerts, or NULL. Never
   fails the caller: sink errors are logged and kept for retry. */
void alertwall_user_raise(struct mail_user *user,
			  const struct alertwall_failure *failure,
			  const char *orig_headers);

/* Raise an alert for a failure that has no mail_user (e.g. a failed userdb
   lookup), with the process's default settings. */
void alertwall_raise_global(const struct alertwall_failure *failure);

/* A success for the user's mailbox: closes open transient alerts after
   their hold-down. Without force it is rate-limited per session (syncs). */
void alertwall_user_success(struct mail_user *user, bool force);
/* Returns TRUE with the reason when deliveries to the user are suspended. */
bool alertwall_user_is_suspended(struct mail_user *user,
				 const char **reason_r);

/* Returns TRUE if alertwall is active for the user. */
bool alertwall_user_is_active(struct mail_user *user);
/* Returns TRUE when the process delivers alert mails (alertwall_mute):
   it mails nothing and its deliveries are not the mailbox's outcomes. */
bool alertwall_user_is_muted(struct mail_user *user);

/* Delivery brackets for the lmtp/lda adapters: between begin and end,
   storage failures of the user are held instead of raised. end returns
   TRUE and fills held_r with the first held failure, if any. */
void alertwall_user_delivery_begin(struct mail_user *user);
bool alertwall_user_delivery_end(struct mail_user *user,
				 struct alertwall_held_failure *held_r,
				 bool *saved_r);
/* a transaction of the user committed during the delivery */
void alertwall_user_delivery_saved(struct mail_user *user);
/* Returns TRUE while a delivery to the user is in progress. */
bool alertwall_user_is_delivering(struct mail_user *user);
/* Returns TRUE when a storage failure is to be held (delivery ongoing) and
   holds it. */
bool alertwall_user_hold_failure(struct mail_user *user,
				 const struct alertwall_failure *failure);

/* the mail_user whose session is active in this process, or NULL */
struct mail_user *alertwall_current_user(void);

void alertwall_users_init(struct module *module);
void alertwall_users_deinit(void);

#endif
