#ifndef ALERTWALL_ALERT_H
#define ALERTWALL_ALERT_H

#include "alertwall-rules.h"

/* alertwall-alert: one alert record, the unit that goes to the sidecar log,
   the admin's walls and Dovecot's log. It joins the failure (what
   happened, to what) with its classification (what it means, who acts).
   Pure: rendering helpers live in alertwall-record.h (JSON) and
   alertwall-report.h (mail). */

enum alertwall_event {
	ALERTWALL_EVENT_RAISED = 0,
	ALERTWALL_EVENT_REPEATED,
	ALERTWALL_EVENT_ESCALATED,
	ALERTWALL_EVENT_RESOLVED,
	ALERTWALL_EVENT_DISMISSED,
	ALERTWALL_EVENT_SUSPENDED,
	ALERTWALL_EVENT_ENABLED,

	ALERTWALL_EVENT_COUNT
};

struct alertwall_alert {
	/* unique alert id: 26 chars, [0-9a-z], sortable by time */
	const char *id;
	/* microseconds since the epoch */
	long long time_usecs;
	enum alertwall_event event;

	const char *code;
	enum alertwall_nature nature;
	enum alertwall_level level;
	enum alertwall_scope scope;
	/* expanded one-line summary and the rule's action hint */
	const char *summary;
	const char *action;

	const char *profile;
	/* the profile owner, "" when none */
	const char *profile_owner;
	/* TRUE when impacted mailbox owners get profile-level alerts */
	bool notify_mailbox_owners;
	/* failing mailboxes that raise the profile alarm, 0 for none */
	unsigned int profile_alarm_mailboxes;

	/* the failure as caught; its strings are untrusted */
	struct alertwall_failure failure;
};

const char *alertwall_event_name(enum alertwall_event event);

/* Build an alert from a failure and its classification. Strings are
   borrowed from the inputs except the summary, which is allocated from
   pool. id is allocated from pool too. */
void alertwall_alert_init(struct alertwall_alert *alert_r, pool_t pool,
			  const struct alertwall_failure *failure,
			  const struct alertwall_classification *class,
			  const struct alertwall_profile *profile,
			  long long time_usecs);

/* Write a new unique alert id for the given time into dest. */
void alertwall_alert_id_generate(long long time_usecs, string_t *dest);

#endif
