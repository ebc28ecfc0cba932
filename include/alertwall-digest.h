#ifndef ALERTWALL_DIGEST_H
#define ALERTWALL_DIGEST_H

#include "alertwall-silence.h"

#include <time.h>

/* alertwall-digest: the digest mail ("doveadm alertwall digest"), one
   RFC 5322 message with CRLF line ends for one recipient: the open alerts,
   the suspended mailboxes, the alerts raised or escalated since the last
   digest, the top codes among them and the active silences. It is a
   multipart/mixed of a text/plain part for people and an application/json
   part with the same data for programs, both quoted-printable. Pure: the
   doveadm module gathers the data from the state store and the sidecar
   log and spools the mail into Alerts/Digest. */

/* the state store keeps the time of the last digest of each kind under
   this prefix and the kind ("DIGEST\tdaily") */
#define ALERTWALL_DIGEST_KEY_PREFIX "DIGEST\t"
/* a section of the text part lists at most this many lines */
#define ALERTWALL_DIGEST_LINES_MAX 100
/* top codes listed */
#define ALERTWALL_DIGEST_TOP_CODES 10

/* an alert open in the state store */
struct alertwall_digest_open {
	const char *id;
	const char *code;
	const char *status;
	const char *nature;
	const char *scope;
	const char *user;
	const char *mailbox;
	const char *profile;
	unsigned int total;
	time_t first_seen;
	time_t last_seen;
	/* it suspends deliveries to the user's mailbox */
	bool suspended;
};
ARRAY_DEFINE_TYPE(alertwall_digest_open, struct alertwall_digest_open);

/* a raised or escalated record of the sidecar log */
struct alertwall_digest_new {
	/* the record's RFC 3339 time */
	const char *time;
	const char *id;
	const char *event;
	const char *level;
	const char *code;
	const char *scope;
	const char *user;
	const char *mailbox;
	const char *profile;
	const char *summary;
};
ARRAY_DEFINE_TYPE(alertwall_digest_new, struct alertwall_digest_new);

struct alertwall_digest {
	/* made for this digest: Message-ID and X-Alertwall-Id */
	const char *id;
	/* "hourly" or "daily" */
	const char *kind;
	const char *recipient;
	/* NULL for the admin's digest of every alert; else the profiles the
	   recipient owns, as "a, b" */
	const char *profiles;
	/* the period of the new alerts */
	time_t since;
	time_t now;
	/* since is the last digest's time (else the kind's default period) */
	bool since_last;
	/* From: ("" or NULL: alertwall <MAILER-DAEMON@hostname>) */
	const char *from;
	const char *hostname;

	ARRAY_TYPE(alertwall_digest_open) open;
	ARRAY_TYPE(alertwall_digest_new) new_alerts;
	ARRAY_TYPE(alertwall_silence) silences;
};

/* Initialize the digest's arrays from pool; the caller fills the rest. */
void alertwall_digest_init(struct alertwall_digest *digest_r, pool_t pool);

/* The number of open alerts that suspend a mailbox. */
unsigned int alertwall_digest_suspended_count(const struct alertwall_digest *digest);

/* Append the digest mail to dest. The Subject is
   "[alertwall] KIND digest: N open, N suspended, N new"; the headers
   include Auto-Submitted: auto-generated, X-Alertwall-Id: ID,
   X-Alertwall-Event: digest and X-Alertwall-Digest: KIND, and the
   Message-ID <ID.digest.CRC@alertwall> (CRC: the crc32 of the recipient
   in hex). The JSON part is one object: digest, recipient, profiles
   (null or the list), since, until, since_last, open (objects with id,
   code, status, nature, scope, user, mailbox, profile, total,
   first_seen, last_seen, suspended), suspended (objects with user,
   code, id), new (objects with time, id, event, level, code, scope,
   user, mailbox, profile, summary), new_total, top_codes (objects with
   code, count) and silences (objects with id, selector, expires,
   reason). Temporaries come from the caller's data stack frame. */
void alertwall_digest_render(const struct alertwall_digest *digest,
			     string_t *dest);

#endif
