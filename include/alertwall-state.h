#ifndef ALERTWALL_STATE_H
#define ALERTWALL_STATE_H

#include "alertwall-rules.h"

#include <time.h>

/* alertwall-state: the seed's life of an alert, as a pure state machine
   over one object's state (an alert code on a user, a mailbox, a message
   or a profile). Each failure or success of the object moves its state and
   returns what the sinks must do: raise a new alert, log a repeat, escalate
   a transient code to permanent, send a reminder, resolve, suspend. The
   state itself is stored by a backend (alertwall-state-file, -redis); this
   file never does I/O and takes the time as a parameter, so that tests
   drive it with a controllable clock. */

enum alertwall_status {
	/* never seen, or closed: the next failure raises a new alert */
	ALERTWALL_STATUS_NONE = 0,
	/* a transient alert is open and being counted */
	ALERTWALL_STATUS_OPEN,
	/* permanent: raised so or escalated; stays until dismissed or
	   tested and enabled */
	ALERTWALL_STATUS_PERMANENT,
	ALERTWALL_STATUS_RESOLVED,
	ALERTWALL_STATUS_DISMISSED,

	ALERTWALL_STATUS_COUNT
};

/* what a state change asks the sinks to do */
enum alertwall_action {
	/* a new alert: sidecar "raised", Dovecot log, mail */
	ALERTWALL_ACTION_RAISE = 0x01,
	/* a repeat of the open alert: sidecar "repeated" only */
	ALERTWALL_ACTION_LOG_REPEAT = 0x02,
	/* the transient code reached its retry limit: a new permanent alert
	   with the same code, sidecar "escalated", mail to Alerts/Errors */
	ALERTWALL_ACTION_ESCALATE = 0x04,
	/* the open alert's reminder is due: mail again */
	ALERTWALL_ACTION_REMIND = 0x08,
	/* a success closed the open transient alert: sidecar "resolved",
	   one info mail */
	ALERTWALL_ACTION_RESOLVE = 0x10,
	/* a permanent mailbox-level alert: stop deliveries to the mailbox */
	ALERTWALL_ACTION_SUSPEND = 0x20,
};

struct alertwall_object_state {
	enum alertwall_status status;
	/* nature of the open alert (permanent after escalation) */
	enum alertwall_nature nature;
	time_t first_seen;
	time_t last_seen;
	/* attempts are counted in a window that starts at the first attempt
	   after the previous window ended */
	time_t window_start;
	unsigned int attempts;
	/* failures since the last success, and ever */
	unsigned int consecutive;
	unsigned int total;
	/* when the last mail (raise, escalation, reminder) went out */
	time_t last_mailed;
	unsigned int reminders;
	time_t last_repeat_logged;
	/* first success seen while the alert was open; 0 if none since the
	   last failure */
	time_t success_since;
	time_t last_success;
	/* deliveries to the mailbox are refused while set */
	bool suspended;
};

struct alertwall_policy {
	/* sidecar "repeated" records for one object at most this often */
	unsigned int repeat_log_interval_secs;
	/* an open transient alert resolves after successes for this long
	   with no failure in between, so flapping does not storm */
	unsigned int resolve_hold_secs;
	/* reminder intervals: the n-th reminder waits reminder_secs[n], the
	   last value repeats */
	const unsigned int *reminder_secs;
	unsigned int reminder_count;
	/* permanent mailbox-level alerts suspend deliveries */
	bool suspend;
};

/* the defaults: repeats logged at most once a minute, resolve after 5
   minutes of success, reminders after 4 h, 8 h, 24 h, then daily */
extern const struct alertwall_policy alertwall_policy_default;

const char *alertwall_status_name(enum alertwall_status status);
int alertwall_status_parse(const char *name, enum alertwall_status *status_r);

/* A failure of the object at now. Returns the ALERTWALL_ACTION_* flags. */
unsigned int alertwall_state_failure(struct alertwall_object_state *state,
				     const struct alertwall_classification *class,
				     time_t now,
				     const struct alertwall_policy *policy);
/* A success of the object at now (e.g. a delivery that worked). Returns
   ALERTWALL_ACTION_RESOLVE when an open transient alert closes. */
unsigned int alertwall_state_success(struct alertwall_object_state *state,
				     time_t now,
				     const struct alertwall_policy *policy);
/* Admin's dismiss: closes the alert, resets the counters and lifts a
   suspension. The next failure raises a new alert. */
void alertwall_state_dismiss(struct alertwall_object_state *state, time_t now);

/* Serialize the state as one line of "key=value" tab-separated fields, and
   parse it back. Parse returns 0, or -1 with *error_r on a malformed line
   (unknown keys are ignored so newer writers stay readable). */
void alertwall_state_serialize(const struct alertwall_object_state *state,
			       string_t *dest);
int alertwall_state_parse(const char *line,
			  struct alertwall_object_state *state_r,
			  const char **error_r);

/* The object key of a classified failure: code plus the scope's object
   (profile; user; user and mailbox; user, mailbox and message). It is
   printable and safe as a file name component after hashing by the
   backend. */
void alertwall_state_key(const struct alertwall_classification *class,
			 const struct alertwall_failure *failure,
			 const char *profile, string_t *dest);

#endif
