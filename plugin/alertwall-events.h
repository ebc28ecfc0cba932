#ifndef ALERTWALL_EVENTS_H
#define ALERTWALL_EVENTS_H

#include "alertwall-alert.h"

/* alertwall-events: alertwall's side of Dovecot's event system. It catches
   failures that Dovecot only logs (index and cache corruption, lock
   timeouts, userdb failures) through a global event callback, and it
   reports every alert back as a named "alertwall_alert" event in the
   "alertwall" category with one concise log line. */

/* Log the alert in Dovecot's log and send it as an event. */
void alertwall_events_log_alert(const struct alertwall_alert *alert);

void alertwall_events_init(void);
void alertwall_events_deinit(void);

#endif
