#ifndef ALERTWALL_SILENCE_H
#define ALERTWALL_SILENCE_H

#include "alertwall-alert.h"

#include <time.h>

/* alertwall-silence: the admin's silences ("doveadm alertwall silence").
   A silence mutes the alert mails of one alert code, one user or one
   profile until it expires; the alerts are still counted, written to the
   sidecar log and to Dovecot's log. Silences live in the state store under
   the one key ALERTWALL_SILENCE_KEY, one silence a line, so that a mail
   process reads them all with a single lookup; the engine keeps them in a
   per-process cache that it reads again at most every
   ALERTWALL_SILENCE_CACHE_SECS. Expired silences are ignored and dropped
   by the next write. Parsing and matching are pure (unit-tested); the
   store functions take an open store. */

struct alertwall_store;

/* the state store key that holds every silence */
#define ALERTWALL_SILENCE_KEY "SILENCES"
/* the engine reads the silences again at most this often */
#define ALERTWALL_SILENCE_CACHE_SECS 3
/* reasons are cut to this many bytes */
#define ALERTWALL_SILENCE_REASON_MAX 200

enum alertwall_silence_kind {
	ALERTWALL_SILENCE_CODE = 0,
	ALERTWALL_SILENCE_USER,
	ALERTWALL_SILENCE_PROFILE,

	ALERTWALL_SILENCE_KIND_COUNT
};

struct alertwall_silence {
	/* an alert id made when the silence was added */
	const char *id;
	enum alertwall_silence_kind kind;
	/* the code, user or profile name */
	const char *match;
	time_t created;
	time_t expires;
	/* "" when none was given */
	const char *reason;
};
ARRAY_DEFINE_TYPE(alertwall_silence, struct alertwall_silence);

/* "code", "user", "profile" */
const char *alertwall_silence_kind_name(enum alertwall_silence_kind kind);

/* Parse the command line selector: "user=NAME", "profile=NAME",
   "code=CODE" or a bare CODE (letters, digits and '_'). Returns 0, or -1
   with *error_r. The match points into arg. */
int alertwall_silence_parse_selector(const char *arg,
				     enum alertwall_silence_kind *kind_r,
				     const char **match_r,
				     const char **error_r);
/* "code=CODE", "user=NAME" or "profile=NAME" (data stack) */
const char *alertwall_silence_selector(const struct alertwall_silence *silence);

/* Parse the stored value (NULL is no silence) into silences, strings
   from pool. Damaged lines are skipped. */
void alertwall_silences_parse(const char *value, pool_t pool,
			      ARRAY_TYPE(alertwall_silence) *silences);
/* Append the value for silences, leaving out those expired at now. */
void alertwall_silences_serialize(const ARRAY_TYPE(alertwall_silence) *silences,
				  time_t now, string_t *dest);

/* Returns TRUE when the silence is active at now and selects the alert
   with this code, user and profile (user and profile may be NULL). */
bool alertwall_silence_matches(const struct alertwall_silence *silence,
			       const char *code, const char *user,
			       const char *profile, time_t now);
/* The first active silence that selects the alert, or NULL. */
const struct alertwall_silence *
alertwall_silences_find(const ARRAY_TYPE(alertwall_silence) *silences,
			const char *code, const char *user,
			const char *profile, time_t now);

/* Add a silence; expired ones are dropped on the way. Returns 0, or -1
   with *error_r. */
int alertwall_silence_add(struct alertwall_store *store,
			  const struct alertwall_silence *silence, time_t now,
			  const char **error_r);
/* Remove the silence with this id. Returns 1 when removed, 0 when there
   is no such active silence, -1 with *error_r on a store error. */
int alertwall_silence_remove(struct alertwall_store *store, const char *id,
			     time_t now, const char **error_r);
/* The silences active at now, strings from pool, oldest first; expired
   ones are dropped from the store on the way. Returns 0, or -1 with
   *error_r. */
int alertwall_silence_list(struct alertwall_store *store, time_t now,
			   pool_t pool, ARRAY_TYPE(alertwall_silence) *silences,
			   const char **error_r);

/* The engine's check before it mails an alert: the id of the active
   silence that selects it (data stack), or NULL. The silences are read
   from the store at most every ALERTWALL_SILENCE_CACHE_SECS; between reads
   this costs a walk over the cached list. Returns 1 with *id_r when
   silenced, 0 when not, -1 with *error_r when the store could not be read
   (then the last list read decides, so *id_r is set too). */
int alertwall_silence_check(struct alertwall_store *store,
			    const struct alertwall_alert *alert, time_t now,
			    const char **id_r, const char **error_r);
/* Forget the cached silences (engine deinit, tests). */
void alertwall_silence_cache_clear(void);

#endif
