#ifndef ALERTWALL_EVENTS_H
#define ALERTWALL_EVENTS_H

#include "alertwall-alert.h"

/* alertwall-events: alertwall's side of Dovecot's event system. It catches
   failures that Dovecot only logs (index and cache corruption, lock
   timeouts, userdb failures) through a global event callback. Alerts
   themselves are logged by the engine in the "alertwall" category, which
   the callback skips. */

void alertwall_events_init(void);
void alertwall_events_deinit(void);

#endif
