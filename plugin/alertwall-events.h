#ifndef ALERTWALL_EVENTS_H
#define ALERTWALL_EVENTS_H

#include "alertwall-alert.h"

struct mail_user;
struct mailbox;

/* alertwall-events: alertwall's side of Dovecot's event system. It catches
   failures that Dovecot only logs (index and cache corruption, lock
   timeouts, userdb failures): outside mail users through a global event
   callback, for a mail user through log message callbacks on the user's
   and its mailboxes' events. Alerts themselves are logged by the engine
   in the "alertwall" category, which the callbacks skip. */

/* Watch the user's log lines instead of every event while it lives.
   Returns FALSE when its event already has another log message callback;
   its lines are then left to the global callback. */
bool alertwall_events_watch_user(struct mail_user *user);
void alertwall_events_unwatch_user(struct mail_user *user);
/* Tell the user's watch which mailbox a log line came from. */
void alertwall_events_watch_mailbox(struct mailbox *box);
void alertwall_events_unwatch_mailbox(struct mailbox *box);

void alertwall_events_init(void);
void alertwall_events_deinit(void);

#endif
