/* Copyright (c) 2026 alertwall authors */

/* alertwall-record: render an alert as one JSON line for the sidecar log.
   Called by the plugin before alertwall_sidecar_write() and by the alert
   mail renderer for its machine-readable part. */

#include "lib.h"
#include "str.h"
#include "alertwall-json.h"
#include "alertwall-record.h"

#include <time.h>

/* a field is never cut below this many bytes (quotes included), and with
   every field at this size the line is still far below the limit */
#define RECORD_FIELD_MIN_CAP 64

enum record_field_id {
	RECORD_TIME = 0,
	RECORD_ID,
	RECORD_EVENT,
	RECORD_CODE,
	RECORD_NATURE,
	RECORD_LEVEL,
	RECORD_SCOPE,
	RECORD_USER,
	RECORD_MAILBOX,
	RECORD_UID,
	RECORD_GUID,
	RECORD_MESSAGE_ID,
	RECORD_PROFILE,
	RECORD_SERVICE,
	RECORD_SESSION,
	RECORD_HOST,
	RECORD_SOURCE,
	RECORD_MAIL_ERROR,
	RECORD_ERRNO,
	RECORD_SMTP,
	RECORD_TEXT,
	RECORD_ACTION,
	RECORD_SUMMARY,

	RECORD_FIELD_COUNT
};

static const char *const record_field_names[RECORD_FIELD_COUNT] = {
	"time", "id", "event", "code", "nature", "level", "scope", "user",
	"mailbox", "uid", "guid", "message_id", "profile", "service",
	"session", "host", "source", "mail_error", "errno", "smtp", "text",
	"action", "summary"
};

/* which fields give up bytes first when the line is too long: the
   free-form untrusted ones, then identifiers, then our own tokens */
static const enum record_field_id record_shrink_order[] = {
	RECORD_TEXT, RECORD_SUMMARY, RECORD_MAILBOX, RECORD_MESSAGE_ID,
	RECORD_USER, RECORD_GUID, RECORD_SESSION, RECORD_SERVICE,
	RECORD_HOST, RECORD_PROFILE, RECORD_ACTION, RECORD_SMTP,
	RECORD_CODE, RECORD_ERRNO, RECORD_MAIL_ERROR, RECORD_ID,
	RECORD_EVENT, RECORD_NATURE, RECORD_LEVEL, RECORD_SCOPE,
	RECORD_SOURCE,
};

struct record_field {
	/* a string to escape, or NULL for null */
	const char *value;
	/* already JSON (a number or the time); overrides value */
	const char *json;
	/* rendered length and the cap it is rendered with */
	size_t len, cap;
};

void alertwall_record_append_time(long long time_usecs, string_t *dest)
{
	long long secs = time_usecs / 1000000;
	long long usecs = time_usecs % 1000000;
	time_t t;
	struct tm tm;

	if (usecs < 0) {
		/* round towards the past for times before the epoch */
		usecs += 1000000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL) {
		str_append(dest, "1970-01-01T00:00:00.000Z");
		return;
	}
	str_printfa(dest, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(usecs / 1000));
}

static void
record_fields_fill(const struct alertwall_alert *alert,
		   struct record_field fields[RECORD_FIELD_COUNT])
{
	const struct alertwall_failure *f = &alert->failure;
	string_t *str;

	str = t_str_new(32);
	str_append_c(str, '"');
	alertwall_record_append_time(alert->time_usecs, str);
	str_append_c(str, '"');
	fields[RECORD_TIME].json = str_c(str);

	fields[RECORD_ID].value = alert->id;
	fields[RECORD_EVENT].value = alertwall_event_name(alert->event);
	fields[RECORD_CODE].value = alert->code;
	fields[RECORD_NATURE].value = alertwall_nature_name(alert->nature);
	fields[RECORD_LEVEL].value = alertwall_level_name(alert->level);
	fields[RECORD_SCOPE].value = alertwall_scope_name(alert->scope);
	fields[RECORD_USER].value = f->user;
	fields[RECORD_MAILBOX].value = f->mailbox;
	fields[RECORD_UID].json = f->uid == 0 ? "null" : dec2str(f->uid);
	fields[RECORD_GUID].value = f->guid;
	fields[RECORD_MESSAGE_ID].value = f->message_id;
	fields[RECORD_PROFILE].value = alert->profile;
	fields[RECORD_SERVICE].value = f->service;
	fields[RECORD_SESSION].value = f->session;
	fields[RECORD_HOST].value = f->host;
	fields[RECORD_SOURCE].value = alertwall_source_name(f->source);
	if (f->mail_error >= 0) {
		fields[RECORD_MAIL_ERROR].value =
			alertwall_mail_error_name(f->mail_error);
		if (fields[RECORD_MAIL_ERROR].value == NULL)
			fields[RECORD_MAIL_ERROR].value =
				t_strdup_printf("%d", f->mail_error);
	}
	if (f->errno_value != 0) {
		fields[RECORD_ERRNO].value =
			alertwall_errno_name(f->errno_value);
		if (fields[RECORD_ERRNO].value == NULL)
			fields[RECORD_ERRNO].value =
				t_strdup_printf("%d", f->errno_value);
	}
	if (f->smtp_code != 0) {
		fields[RECORD_SMTP].value = f->smtp_status == NULL ||
			f->smtp_status[0] == '\0' ? dec2str(f->smtp_code) :
			t_strdup_printf("%u %s", f->smtp_code, f->smtp_status);
	}
	fields[RECORD_TEXT].value = f->text;
	fields[RECORD_ACTION].value = alert->action;
	fields[RECORD_SUMMARY].value = alert->summary;
}

static size_t record_measure(struct record_field fields[RECORD_FIELD_COUNT])
{
	/* "{" and "}\n" */
	size_t total = 3;
	unsigned int i;

	for (i = 0; i < RECORD_FIELD_COUNT; i++) {
		struct record_field *field = &fields[i];

		if (field->json != NULL)
			field->len = strlen(field->json);
		else if (field->value == NULL)
			field->len = strlen("null");
		else {
			field->len = alertwall_json_string_len(
				field->value, strlen(field->value));
		}
		field->cap = SIZE_MAX;
		/* "name": and a comma */
		total += strlen(record_field_names[i]) + 3 + field->len +
			(i > 0 ? 1 : 0);
	}
	return total;
}

static void record_shrink(struct record_field fields[RECORD_FIELD_COUNT],
			  size_t total)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(record_shrink_order) &&
		    total > ALERTWALL_RECORD_MAX_SIZE; i++) {
		struct record_field *field = &fields[record_shrink_order[i]];
		size_t excess = total - ALERTWALL_RECORD_MAX_SIZE;
		size_t new_len;

		if (field->value == NULL || field->json != NULL ||
		    field->len <= RECORD_FIELD_MIN_CAP)
			continue;
		if (excess >= field->len - RECORD_FIELD_MIN_CAP)
			new_len = RECORD_FIELD_MIN_CAP;
		else
			new_len = field->len - excess;
		total -= field->len - new_len;
		field->len = new_len;
		field->cap = new_len;
	}
	/* every field at its minimum fits: the shrink cannot fail */
	i_assert(total <= ALERTWALL_RECORD_MAX_SIZE);
}

void alertwall_record_render(const struct alertwall_alert *alert,
			     string_t *dest)
{
	struct record_field fields[RECORD_FIELD_COUNT];
	size_t start = str_len(dest);
	unsigned int i;

	/* no data stack frame here: dest may be a t_ string of the
	   caller's frame, and growing it inside a new frame is not allowed */
	memset(fields, 0, sizeof(fields));
	record_fields_fill(alert, fields);
	record_shrink(fields, record_measure(fields));

	str_append_c(dest, '{');
	for (i = 0; i < RECORD_FIELD_COUNT; i++) {
		const struct record_field *field = &fields[i];

		if (i > 0)
			str_append_c(dest, ',');
		str_printfa(dest, "\"%s\":", record_field_names[i]);
		if (field->json != NULL)
			str_append(dest, field->json);
		else if (field->value == NULL)
			str_append(dest, "null");
		else if (field->cap == SIZE_MAX)
			alertwall_json_append_string(dest, field->value);
		else {
			(void)alertwall_json_append_string_max(
				dest, field->value, field->cap);
		}
	}
	str_append(dest, "}\n");
	i_assert(str_len(dest) - start <= ALERTWALL_RECORD_MAX_SIZE);
}
