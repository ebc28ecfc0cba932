#ifndef ALERTWALL_ENGINE_H
#define ALERTWALL_ENGINE_H

#include "alertwall-alert.h"
#include "alertwall-state.h"
#include "alertwall-spool.h"

/* alertwall-engine: what happens to a failure once it is caught, shared by
   the mail plugin and the doveadm module. It keeps the process-wide parts
   (the compiled rules file, the sidecar writers, the state stores), runs a
   failure through classification and the state machine, and emits what
   the state change asks for: sidecar records, a Dovecot log line and event,
   and alert mails. No lib-storage here: the adapters fill in the failure
   and the profile subject. */

struct alertwall_store;

struct alertwall_engine_settings {
	const char *rules_path;
	const char *log_path;
	/* state store URI; "" keeps no state (every failure is new) */
	const char *state_uri;
	struct alertwall_spool_settings spool;
	struct alertwall_policy policy;
	/* correlation: this many distinct mailboxes of one profile failing
	   with the same code within the window raise one profile-level
	   alert (0 disables) */
	unsigned int correlate_mailboxes;
	unsigned int correlate_window_secs;
	/* delivering alerts: log only, never mail (no loops) */
	bool mute;
};

/* Fill set with alertwall's defaults (alertwall-settings.c, which the mail
   plugin links without the engine). */
void alertwall_engine_settings_init(struct alertwall_engine_settings *set_r);

/* The rules for the settings: the configured file (reloaded when it
   changes) or, when it is unusable, the builtin rules; the first lookup of
   a bad file logs its errors and raises ALERTWALL_RULES_INVALID. */
const struct alertwall_rules *
alertwall_engine_rules(const struct alertwall_engine_settings *set);

/* Run a caught failure through the rules and the state, and emit. */
void alertwall_engine_failure(const struct alertwall_engine_settings *set,
			      const struct alertwall_failure *failure,
			      const struct alertwall_profile_subject *subject,
			      const char *orig_headers);

/* A success for the user's mailbox (a delivery or sync that worked):
   resolves its open transient alerts once the hold-down has passed. Cheap
   when the user has no open alert. */
void alertwall_engine_success(const struct alertwall_engine_settings *set,
			      const char *user);

/* Returns TRUE and the reason (code and alert id) when deliveries to the
   user are suspended by a permanent mailbox-level alert. A store error
   never suspends. If indexed_r is not NULL, it is set FALSE when the user
   has no open alert at all (so a success would have nothing to resolve),
   TRUE otherwise, also on a store error. */
bool alertwall_engine_is_suspended(const struct alertwall_engine_settings *set,
				   const char *user, const char **reason_r,
				   bool *indexed_r);

/* Test & Enable done: lift the user's suspension and close the user's
   alerts, with an "enabled" record and an info mail. Returns the number of
   alerts closed, or -1 on a store error. */
int alertwall_engine_enable(const struct alertwall_engine_settings *set,
			    const char *user, const char *note,
			    const char **error_r);
/* Dismiss one alert by id: close it, reset its counters, lift the
   suspension it caused. Returns 1 when done, 0 for an unknown id, -1 on
   error. */
int alertwall_engine_dismiss(const struct alertwall_engine_settings *set,
			     const char *alert_id, const char **error_r);

/* An open alert as kept in the state store. */
struct alertwall_open_alert {
	const char *key;
	const char *id;
	const char *code;
	enum alertwall_scope scope;
	const char *user;
	const char *mailbox;
	const char *profile;
	const char *text;
	struct alertwall_object_state state;
};
typedef bool alertwall_engine_alert_func(const struct alertwall_open_alert *alert,
					 void *context);
/* The state store for the settings, for the admin's other records
   (silences, digests). Returns NULL with *error_r when none is configured
   or its URI is unusable. */
struct alertwall_store *
alertwall_engine_store(const struct alertwall_engine_settings *set,
		       const char **error_r);

/* Visit every alert object in the store (open and closed). */
int alertwall_engine_iterate(const struct alertwall_engine_settings *set,
			     alertwall_engine_alert_func *func, void *context,
			     const char **error_r);

/* Emit one alert: sidecar record, log line and event, and mail when
   with_mail (and the settings are not muted and no active silence selects
   the alert: a silenced alert's log line and event name the silence).
   count is how often the object failed. */
void alertwall_engine_emit(const struct alertwall_engine_settings *set,
			   const struct alertwall_alert *alert,
			   unsigned int count, bool with_mail,
			   const char *orig_headers);

/* the category of alertwall's own events: the catchers ignore them */
#define ALERTWALL_EVENT_CATEGORY_NAME "alertwall"
extern struct event_category alertwall_event_category;

void alertwall_engine_deinit(void);

#endif
