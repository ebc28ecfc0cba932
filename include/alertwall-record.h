#ifndef ALERTWALL_RECORD_H
#define ALERTWALL_RECORD_H

#include "alertwall-alert.h"

/* alertwall-record: the sidecar log record, one JSON object per line.
   Fields, always all present and in this order:
     time id event code nature level scope user mailbox uid guid
     message_id profile service session host source mail_error errno smtp
     text action summary
   time is RFC 3339 UTC with milliseconds ("2026-11-26T19:04:05.123Z"),
   uid a number, smtp "452 4.2.2" (code and enhanced status), errno and
   mail_error names such as "ENOSPC" and "NOQUOTA" (a value without a
   name is its decimal number as a string). Unknown values are null.
   Pure: the sidecar writer and the alert mail renderer use it. */

/* a record line, newline included, is never longer than this, so that a
   single write() of it stays atomic on every local filesystem (PIPE_BUF
   is 4096) */
#define ALERTWALL_RECORD_MAX_SIZE 4000

/* Append the alert's record line, terminated by "\n", to dest. Untrusted
   fields are cut (text first, then summary, mailbox, message_id, ...) so
   that the line is at most ALERTWALL_RECORD_MAX_SIZE bytes; a cut field
   ends in ALERTWALL_JSON_TRUNCATED_MARKER. Temporaries come from the
   caller's data stack frame (dest may be a t_ string). */
void alertwall_record_render(const struct alertwall_alert *alert,
			     string_t *dest);

/* Append the time as RFC 3339 UTC with milliseconds, without quotes. */
void alertwall_record_append_time(long long time_usecs, string_t *dest);

#endif
