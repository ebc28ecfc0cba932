#ifndef ALERTWALL_REPORT_H
#define ALERTWALL_REPORT_H

#include "alertwall-alert.h"

/* alertwall-report: the alert mail, an RFC 5322 message with CRLF line
   endings in the RFC 6522 multipart/report format. Pure: the spool
   (alertwall-spool.c) renders one per recipient.

   Delivery failures (source delivery with an SMTP reply) are reported as
   report-type=delivery-status, so that MUAs and bounce parsers understand
   them; RFC 6522 wants exactly the message/delivery-status part second,
   so the JSON record travels inside the first part:
     1. multipart/mixed: text/plain (for people) + application/json (the
        sidecar record)
     2. message/delivery-status (RFC 3464; Action: delayed for transient,
        failed for permanent alerts)
     3. text/rfc822-headers (email-level alerts with original headers)
   Every other alert is report-type=alertwall-record:
     1. text/plain
     2. application/json (the sidecar record)
     3. text/rfc822-headers (as above)
   Consumers find the record as the first application/json part. The
   text and JSON parts are quoted-printable, the rest 7bit (8bit for
   original headers that are not ASCII).

   Everything taken from the failure is untrusted: header values lose
   their control bytes (CR and LF included) before they are placed, and
   non-ASCII or "=?" text is RFC 2047 encoded. The message is a pure
   function of its inputs (and the local time zone, for Date:): the
   Message-ID and the MIME boundaries derive from the alert id, so a
   mail rendered again is recognized as a duplicate. */

/* the original headers part is cut, at a line end, to this size */
#define ALERTWALL_REPORT_ORIG_HEADERS_MAX (16 * 1024)

/* why a recipient gets the mail; it changes the wording, not the parts */
enum alertwall_report_role {
	/* the mail system administrator */
	ALERTWALL_REPORT_ROLE_ADMIN = 0,
	/* the owner of the affected mailbox */
	ALERTWALL_REPORT_ROLE_OWNER,
	/* the owner of the profile of a profile-level alert */
	ALERTWALL_REPORT_ROLE_PROFILE_OWNER,
	/* an impacted mailbox owner, told of a profile-level alert for
	   information only */
	ALERTWALL_REPORT_ROLE_INFO,

	ALERTWALL_REPORT_ROLE_COUNT
};

struct alertwall_report_settings {
	/* the From: header; NULL or "" for
	   "alertwall <MAILER-DAEMON@hostname>" */
	const char *from;
	/* the Reporting-MTA and the default sender's domain; NULL or ""
	   for this host's name */
	const char *hostname;
};

/* "admin", "owner", "profile-owner", "info"; NULL when out of range */
const char *alertwall_report_role_name(enum alertwall_report_role role);
/* A host name safe in headers: letters, digits, '-' and '.' only; NULL or
   "" gives this host's name, and nothing usable gives "localhost". */
const char *alertwall_report_hostname(const char *hostname);

/* Returns TRUE if the alert is reported as report-type=delivery-status. */
bool alertwall_report_is_delivery_status(const struct alertwall_alert *alert);

/* Append the alert mail for one recipient to dest.
   recipient: the To: address (a user name or address).
   count: how often the alert was seen (0 is taken as 1).
   record_json: the sidecar record line; NULL renders it from the alert.
   orig_headers: the failed message's header block or its whole text
     (only the header block is used), or NULL; only email-level alerts
     include it.
   The headers are:
     From, To, Subject ("[alertwall] LEVEL CODE: object", object being
     user/mailbox or "profile NAME", and " (event)" unless raised), Date,
     Message-ID (<ID.ROLE.CRC@alertwall>, CRC the crc32 of the
     recipient in hex), Auto-Submitted: auto-generated, X-Alertwall-Id,
     X-Alertwall-Code, X-Alertwall-Level, X-Alertwall-Event, MIME-Version
     and Content-Type.
   Temporaries (a few times the mail's size) come from the caller's data
   stack frame, since dest may be a t_ string: call it inside T_BEGIN when
   rendering many. */
void alertwall_report_render(const struct alertwall_alert *alert,
			     const char *recipient,
			     enum alertwall_report_role role,
			     unsigned int count, const char *record_json,
			     const char *orig_headers,
			     const struct alertwall_report_settings *set,
			     string_t *dest);

#endif
