/* Copyright (c) 2026 alertwall authors */

/* alertwall-report: render an alert mail (RFC 6522 multipart/report) for
   one recipient. Called by the spool (alertwall-spool.c); the layout is
   described in alertwall-report.h. */

#include "lib.h"
#include "str.h"
#include "crc32.h"
#include "hostpid.h"
#include "message-date.h"
#include "message-header-encode.h"
#include "qp-encoder.h"
#include "alertwall-json.h"
#include "alertwall-record.h"
#include "alertwall-report.h"

#include <ctype.h>

/* header lines are folded to this length where there is a space */
#define REPORT_FOLD_LEN 78
/* one header value before folding or encoding; with the name it stays
   below the 998 byte line limit even where it cannot be folded */
#define REPORT_HEADER_VALUE_MAX 900
/* the object named in the Subject */
#define REPORT_SUBJECT_OBJECT_MAX 200
/* one value in the text part, and the diagnostic text in the DSN */
#define REPORT_TEXT_VALUE_MAX 1000
#define REPORT_DSN_TEXT_MAX 500
/* RFC 5322 line limit, without CRLF */
#define REPORT_LINE_MAX 998
/* the QP encoder's line length: RFC 2045 allows 76 characters, but
   Dovecot's encoder writes a space near the end of a line as "=20" plus
   the soft break "=", up to two past its limit */
#define REPORT_QP_LINE_LEN (76 - 2)

#define REPORT_CUT_MARKER "..."
#define REPORT_BOUNDARY_PREFIX "=_aw_report_"
/* not a prefix of the outer boundary, nor the other way round */
#define REPORT_MIXED_BOUNDARY_PREFIX "=_aw_mixed_"

#define REPLACEMENT_CHAR_UTF8 "\xEF\xBF\xBD"

static const char *const report_role_names[ALERTWALL_REPORT_ROLE_COUNT] = {
	[ALERTWALL_REPORT_ROLE_ADMIN] = "admin",
	[ALERTWALL_REPORT_ROLE_OWNER] = "owner",
	[ALERTWALL_REPORT_ROLE_PROFILE_OWNER] = "profile-owner",
	[ALERTWALL_REPORT_ROLE_INFO] = "info",
};

struct report_context {
	const struct alertwall_alert *alert;
	const char *recipient;
	const char *from;
	enum alertwall_report_role role;
	unsigned int count;
	const char *hostname;
	/* the alert id reduced to [0-9A-Za-z] */
	const char *id_token;
	bool delivery_status;
};

const char *alertwall_report_role_name(enum alertwall_report_role role)
{
	if ((unsigned int)role >= N_ELEMENTS(report_role_names))
		return NULL;
	return report_role_names[role];
}

bool alertwall_report_is_delivery_status(const struct alertwall_alert *alert)
{
	return alert->failure.source == ALERTWALL_SOURCE_DELIVERY &&
		alert->failure.smtp_code != 0;
}

/* Append untrusted text as one clean line: each run of control
   characters (C0, DEL, C1, U+2028, U+2029; CR and LF included) becomes
   one space, each run of invalid UTF-8 one U+FFFD, and with ascii_only
   every non-ASCII character a '?'. At most max_len bytes are appended: longer text is cut
   at a character boundary and ends in "...". */
static void
report_append_clean(string_t *dest, const char *value, size_t max_len,
		    bool ascii_only)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t size = strlen(value), pos = 0, start, cut_pos;
	size_t marker_len = strlen(REPORT_CUT_MARKER);
	bool invalid_run = FALSE, control_run = FALSE;

	i_assert(max_len > marker_len);
	start = cut_pos = str_len(dest);
	while (pos < size) {
		const void *out;
		size_t out_len;
		uint32_t chr;
		unsigned int len;

		len = alertwall_utf8_decode(p + pos, size - pos, &chr);
		if (len == 0) {
			pos++;
			control_run = FALSE;
			if (invalid_run)
				continue;
			invalid_run = TRUE;
			out = ascii_only ? "?" : REPLACEMENT_CHAR_UTF8;
			out_len = strlen(out);
		} else if (chr < 0x20 || (chr >= 0x7f && chr <= 0x9f) ||
			   chr == 0x2028 || chr == 0x2029) {
			pos += len;
			invalid_run = FALSE;
			if (control_run)
				continue;
			control_run = TRUE;
			out = " ";
			out_len = 1;
		} else {
			invalid_run = control_run = FALSE;
			if (ascii_only && chr >= 0x80) {
				out = "?";
				out_len = 1;
			} else {
				out = p + pos;
				out_len = len;
			}
			pos += len;
		}
		if (str_len(dest) - start + out_len > max_len) {
			str_truncate(dest, cut_pos);
			str_append(dest, REPORT_CUT_MARKER);
			return;
		}
		str_append_data(dest, out, out_len);
		if (str_len(dest) - start + marker_len <= max_len)
			cut_pos = str_len(dest);
	}
}

static const char *
report_clean(const char *value, size_t max_len, bool ascii_only)
{
	string_t *str = t_str_new(128);

	report_append_clean(str, value, max_len, ascii_only);
	return str_c(str);
}

/* Append value after a header name already in dest (line_len bytes on
   the line), folding before a space or tab where a line would grow past
   REPORT_FOLD_LEN. A '\n' in value (the RFC 2047 encoder folds with
   "\n\t") becomes CRLF. */
static void
report_fold(string_t *dest, size_t line_len, const char *value)
{
	const char *p = value, *start, *word_end;
	bool line_has_word = FALSE;

	while (*p != '\0') {
		if (*p == '\n') {
			str_append(dest, "\r\n");
			line_len = 0;
			line_has_word = FALSE;
			p++;
			continue;
		}
		start = p;
		if (*p == ' ' || *p == '\t')
			p++;
		word_end = p;
		while (*word_end != '\0' && *word_end != ' ' &&
		       *word_end != '\t' && *word_end != '\n')
			word_end++;
		if (start != p && word_end != p && line_has_word &&
		    line_len + (word_end - start) > REPORT_FOLD_LEN) {
			str_append(dest, "\r\n");
			line_len = 0;
		}
		str_append_data(dest, start, word_end - start);
		line_len += word_end - start;
		if (word_end != p)
			line_has_word = TRUE;
		p = word_end;
	}
}

/* a header with a value that is already clean */
static void
report_header_raw(string_t *dest, const char *name, const char *value)
{
	str_append(dest, name);
	str_append_c(dest, ':');
	report_fold(dest, strlen(name) + 1, t_strconcat(" ", value, NULL));
	str_append(dest, "\r\n");
}

/* an address header: cleaned, not encoded (RFC 2047 does not apply to
   addresses) */
static void
report_header_address(string_t *dest, const char *name, const char *value)
{
	report_header_raw(dest, name,
			  report_clean(value, REPORT_HEADER_VALUE_MAX, FALSE));
}

/* an unstructured header: cleaned, and RFC 2047 encoded where it holds
   non-ASCII text or something that would decode as an encoded word */
static void
report_header_text(string_t *dest, const char *name, const char *value)
{
	string_t *encoded = t_str_new(256);
	const char *clean;

	clean = report_clean(value, REPORT_HEADER_VALUE_MAX, FALSE);
	if (strstr(clean, "=?") == NULL) {
		/* only the words that need it */
		message_header_encode(clean, encoded);
	} else {
		/* the word-wise encoder leaves "x/=?...?=" alone, which
		   lenient decoders still decode: encode all of it */
		message_header_encode_q((const unsigned char *)clean,
					strlen(clean), encoded,
					strlen(name) + 2);
	}
	report_header_raw(dest, name, str_c(encoded));
}

/* [0-9A-Za-z] only: the id goes into Message-ID and boundaries */
static const char *report_id_token(const char *id)
{
	string_t *str = t_str_new(32);

	for (; id != NULL && *id != '\0' && str_len(str) < 64; id++) {
		if (i_isalnum(*id))
			str_append_c(str, *id);
	}
	if (str_len(str) == 0)
		str_append(str, "unknown");
	return str_c(str);
}

/* host names in headers: letters, digits, '-' and '.' only */
const char *alertwall_report_hostname(const char *hostname)
{
	string_t *str = t_str_new(64);

	if (hostname == NULL || *hostname == '\0')
		hostname = my_hostname;
	for (; hostname != NULL && *hostname != '\0' && str_len(str) < 253;
	     hostname++) {
		if (i_isalnum(*hostname) || *hostname == '-' ||
		    *hostname == '.')
			str_append_c(str, *hostname);
	}
	if (str_len(str) == 0)
		str_append(str, "localhost");
	return str_c(str);
}

static const char *report_object(const struct alertwall_alert *alert)
{
	const struct alertwall_failure *f = &alert->failure;

	if (alert->scope == ALERTWALL_SCOPE_PROFILE && alert->profile != NULL)
		return t_strconcat("profile ", alert->profile, NULL);
	if (f->user != NULL && f->mailbox != NULL)
		return t_strconcat(f->user, "/", f->mailbox, NULL);
	if (f->user != NULL)
		return f->user;
	if (f->mailbox != NULL)
		return f->mailbox;
	return "unknown";
}

static const char *report_subject(const struct alertwall_alert *alert)
{
	const char *level = alertwall_level_name(alert->level);
	string_t *str = t_str_new(128);

	str_append(str, "[alertwall] ");
	str_append(str, t_str_ucase(level != NULL ? level : "alert"));
	str_append_c(str, ' ');
	report_append_clean(str, alert->code != NULL ? alert->code :
			    "UNKNOWN", REPORT_SUBJECT_OBJECT_MAX, FALSE);
	str_append(str, ": ");
	report_append_clean(str, report_object(alert),
			    REPORT_SUBJECT_OBJECT_MAX, FALSE);
	if (alert->event != ALERTWALL_EVENT_RAISED &&
	    alertwall_event_name(alert->event) != NULL)
		str_printfa(str, " (%s)", alertwall_event_name(alert->event));
	return str_c(str);
}

static void
report_headers(const struct report_context *ctx, const char *boundary,
	       string_t *dest)
{
	const struct alertwall_alert *alert = ctx->alert;
	const char *from = ctx->from, *value;

	if (from == NULL || *from == '\0') {
		from = t_strdup_printf("alertwall <MAILER-DAEMON@%s>",
				       ctx->hostname);
	}
	report_header_address(dest, "From", from);
	report_header_address(dest, "To", ctx->recipient);
	report_header_text(dest, "Subject", report_subject(alert));
	report_header_raw(dest, "Date",
			  message_date_create(alert->time_usecs / 1000000));
	/* the recipient's crc tells apart two mails of one role (impacted
	   mailbox owners), and the same mail rendered again matches; the
	   follow-ups of an alert (reminders, resolved) share its id, so their
	   event and time keep them apart from the raised mail and each
	   other: the deliver service's duplicate check goes by Message-ID */
	value = alertwall_report_role_name(ctx->role);
	if (alert->event == ALERTWALL_EVENT_RAISED) {
		report_header_raw(dest, "Message-ID", t_strdup_printf(
			"<%s.%s.%08x@alertwall>", ctx->id_token,
			value != NULL ? value : "unknown",
			crc32_str(ctx->recipient)));
	} else {
		const char *event = alertwall_event_name(alert->event);

		report_header_raw(dest, "Message-ID", t_strdup_printf(
			"<%s.%s-%llx.%s.%08x@alertwall>", ctx->id_token,
			event != NULL ? event : "event",
			(unsigned long long)alert->time_usecs,
			value != NULL ? value : "unknown",
			crc32_str(ctx->recipient)));
	}
	report_header_raw(dest, "Auto-Submitted", "auto-generated");
	report_header_raw(dest, "X-Alertwall-Id", ctx->id_token);
	report_header_text(dest, "X-Alertwall-Code",
			   alert->code != NULL ? alert->code : "UNKNOWN");
	value = alertwall_level_name(alert->level);
	report_header_raw(dest, "X-Alertwall-Level",
			  value != NULL ? value : "unknown");
	value = alertwall_event_name(alert->event);
	report_header_raw(dest, "X-Alertwall-Event",
			  value != NULL ? value : "unknown");
	report_header_raw(dest, "MIME-Version", "1.0");
	str_printfa(dest, "Content-Type: multipart/report; report-type=%s;\r\n"
		    "\tboundary=\"%s\"\r\n",
		    ctx->delivery_status ? "delivery-status" :
		    "alertwall-record", boundary);
}

/* one "Label: value" line of the text part; nothing when value is NULL */
static void
report_text_line(string_t *text, const char *label, const char *value)
{
	if (value == NULL)
		return;
	str_printfa(text, "%-15s", t_strconcat(label, ":", NULL));
	report_append_clean(text, value, REPORT_TEXT_VALUE_MAX, FALSE);
	/* trailing spaces do not survive transport: drop them */
	while (str_len(text) > 0 && str_data(text)[str_len(text) - 1] == ' ')
		str_truncate(text, str_len(text) - 1);
	str_append_c(text, '\n');
}

static const char *report_level_phrase(enum alertwall_level level)
{
	switch (level) {
	case ALERTWALL_LEVEL_INFO:
		return "an information alert";
	case ALERTWALL_LEVEL_WARNING:
		return "a warning";
	case ALERTWALL_LEVEL_ERROR:
	case ALERTWALL_LEVEL_COUNT:
		break;
	}
	return "an error";
}

static const char *report_headline(const struct alertwall_alert *alert)
{
	const char *what = report_level_phrase(alert->level);

	switch (alert->event) {
	case ALERTWALL_EVENT_RAISED:
		return t_strdup_printf("alertwall raised %s.", what);
	case ALERTWALL_EVENT_REPEATED:
		return t_strdup_printf("This problem happened again (%s).",
				       what);
	case ALERTWALL_EVENT_ESCALATED:
		return "A transient problem kept failing past its retry limit "
			"and is now an error.";
	case ALERTWALL_EVENT_RESOLVED:
		return "This problem is resolved.";
	case ALERTWALL_EVENT_DISMISSED:
		return "This alert was dismissed; it comes back if the problem "
			"does.";
	case ALERTWALL_EVENT_SUSPENDED:
		return "Processing of the mailbox is suspended because of this "
			"problem.";
	case ALERTWALL_EVENT_ENABLED:
		return "The mailbox was tested and enabled again.";
	case ALERTWALL_EVENT_COUNT:
		break;
	}
	return t_strdup_printf("alertwall reports %s.", what);
}

static bool report_event_needs_action(enum alertwall_event event)
{
	return event != ALERTWALL_EVENT_RESOLVED &&
		event != ALERTWALL_EVENT_DISMISSED &&
		event != ALERTWALL_EVENT_ENABLED;
}

static const char *
report_join(const char *const *parts, unsigned int count, const char *sep)
{
	string_t *str = t_str_new(128);
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (parts[i] == NULL)
			continue;
		if (str_len(str) > 0)
			str_append(str, sep);
		str_append(str, parts[i]);
	}
	return str_len(str) == 0 ? NULL : str_c(str);
}

/* the text for people, with LF line ends (the QP encoder makes CRLFs) */
static void report_text(const struct report_context *ctx, string_t *text)
{
	const struct alertwall_alert *alert = ctx->alert;
	const struct alertwall_failure *f = &alert->failure;
	const char *parts[3], *value, *profile;
	string_t *str;

	str_append(text, report_headline(alert));
	str_append(text, "\n\n");

	report_text_line(text, "What happened", alert->summary);
	str = t_str_new(64);
	str_append(str, alert->code != NULL ? alert->code : "UNKNOWN");
	value = alertwall_nature_name(alert->nature);
	str_printfa(str, " (%s %s, %s level)", value != NULL ? value : "",
		    alertwall_level_name(alert->level) != NULL ?
		    alertwall_level_name(alert->level) : "alert",
		    alertwall_scope_name(alert->scope) != NULL ?
		    alertwall_scope_name(alert->scope) : "unknown");
	report_text_line(text, "Code", str_c(str));
	report_text_line(text, "Details", f->text);
	if (f->smtp_code != 0) {
		report_text_line(text, "SMTP reply", f->smtp_status == NULL ?
				 dec2str(f->smtp_code) :
				 t_strdup_printf("%u %s", f->smtp_code,
						 f->smtp_status));
	}

	report_text_line(text, "User", f->user);
	report_text_line(text, "Mailbox", f->mailbox);
	parts[0] = f->uid == 0 ? NULL : t_strdup_printf("UID %u", f->uid);
	parts[1] = f->message_id == NULL ? NULL :
		t_strconcat("Message-ID ", f->message_id, NULL);
	parts[2] = f->guid == NULL ? NULL : t_strconcat("GUID ", f->guid, NULL);
	report_text_line(text, "Message", report_join(parts, 3, ", "));
	report_text_line(text, "Profile", alert->profile);

	str = t_str_new(64);
	value = alertwall_source_name(f->source);
	str_append(str, value != NULL ? value : "unknown");
	parts[0] = f->mail_error < 0 ? NULL :
		t_strconcat("mail error ", alertwall_mail_error_name(f->mail_error) != NULL ?
			    alertwall_mail_error_name(f->mail_error) :
			    dec2str(f->mail_error), NULL);
	parts[1] = f->errno_value == 0 ? NULL :
		t_strconcat("errno ", alertwall_errno_name(f->errno_value) != NULL ?
			    alertwall_errno_name(f->errno_value) :
			    t_strdup_printf("%d", f->errno_value), NULL);
	value = report_join(parts, 2, ", ");
	if (value != NULL)
		str_printfa(str, " (%s)", value);
	report_text_line(text, "Caught in", str_c(str));

	parts[0] = f->service;
	parts[1] = f->host == NULL ? NULL : t_strconcat("on ", f->host, NULL);
	parts[2] = f->session == NULL ? NULL :
		t_strconcat("session ", f->session, NULL);
	report_text_line(text, "Where", report_join(parts, 3, " "));
	str = t_str_new(32);
	alertwall_record_append_time(alert->time_usecs, str);
	report_text_line(text, "When", str_c(str));
	report_text_line(text, "How often", ctx->count <= 1 ? "once" :
			 t_strdup_printf("%u times", ctx->count));
	if (ctx->role != ALERTWALL_REPORT_ROLE_INFO &&
	    report_event_needs_action(alert->event))
		report_text_line(text, "What to do", alert->action);
	str_append_c(text, '\n');

	profile = alert->profile != NULL ?
		report_clean(alert->profile, REPORT_SUBJECT_OBJECT_MAX, FALSE) :
		ALERTWALL_PROFILE_DEFAULT;
	switch (ctx->role) {
	case ALERTWALL_REPORT_ROLE_ADMIN:
	case ALERTWALL_REPORT_ROLE_COUNT:
		str_append(text, "You get this mail as the administrator of "
			   "the mail system.\n");
		break;
	case ALERTWALL_REPORT_ROLE_OWNER:
		str_append(text, "You get this mail because the problem "
			   "concerns your mailbox.\n");
		break;
	case ALERTWALL_REPORT_ROLE_PROFILE_OWNER:
		str_printfa(text, "You get this mail as the owner of the "
			    "profile \"%s\".\n", profile);
		break;
	case ALERTWALL_REPORT_ROLE_INFO:
		str_printfa(text, "You get this mail because your mailbox is "
			    "in the profile \"%s\", which has a problem.\n",
			    profile);
		str_append(text, "For your information, no action is needed "
			   "from you.\n");
		break;
	}
	str_printfa(text, "\nAlert id: %s\n", ctx->id_token);
}

static void report_qp(string_t *dest, const char *data)
{
	struct qp_encoder *qp;
	size_t len = strlen(data);

	qp = qp_encoder_init(dest, REPORT_QP_LINE_LEN, 0);
	qp_encoder_more(qp, data, len);
	qp_encoder_finish(qp);
	qp_encoder_deinit(&qp);
	/* the part ends on a line end */
	if (len == 0 || data[len - 1] != '\n')
		str_append(dest, "\r\n");
}

static void
report_part_text(const struct report_context *ctx, string_t *part)
{
	string_t *text = t_str_new(1024);

	report_text(ctx, text);
	str_append(part, "Content-Type: text/plain; charset=utf-8\r\n"
		   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	report_qp(part, str_c(text));
}

static void
report_part_json(const struct report_context *ctx, const char *record_json,
		 string_t *part)
{
	if (record_json == NULL) {
		string_t *str = t_str_new(1024);

		alertwall_record_render(ctx->alert, str);
		record_json = str_c(str);
	}
	str_printfa(part, "Content-Type: application/json\r\n"
		    "Content-Disposition: attachment;\r\n"
		    "\tfilename=\"alertwall-%s.json\"\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
		    ctx->id_token);
	report_qp(part, record_json);
}

/* "4.2.2": a class digit, then two numbers of one to three digits */
static bool report_status_is_valid(const char *status)
{
	unsigned int i, digits;

	if (status == NULL || (status[0] != '2' && status[0] != '4' &&
			       status[0] != '5') || status[1] != '.')
		return FALSE;
	status += 2;
	for (i = 0; i < 2; i++) {
		for (digits = 0; i_isdigit(status[digits]); digits++) ;
		if (digits == 0 || digits > 3)
			return FALSE;
		status += digits;
		if (*status != (i == 0 ? '.' : '\0'))
			return FALSE;
		if (i == 0)
			status++;
	}
	return TRUE;
}

static void
report_part_dsn(const struct report_context *ctx, string_t *part)
{
	const struct alertwall_alert *alert = ctx->alert;
	const struct alertwall_failure *f = &alert->failure;
	bool permanent = alert->nature == ALERTWALL_NATURE_PERMANENT;
	const char *status;
	string_t *diag;

	if (report_status_is_valid(f->smtp_status))
		status = f->smtp_status;
	else if (f->smtp_code >= 400 && f->smtp_code < 500)
		status = "4.0.0";
	else if (f->smtp_code >= 500 && f->smtp_code < 600)
		status = "5.0.0";
	else
		status = permanent ? "5.0.0" : "4.0.0";

	diag = t_str_new(256);
	str_printfa(diag, "smtp; %u", f->smtp_code);
	if (f->smtp_status != NULL && f->smtp_status[0] != '\0') {
		str_append_c(diag, ' ');
		report_append_clean(diag, f->smtp_status, 32, TRUE);
	}
	if (f->text != NULL) {
		str_append_c(diag, ' ');
		report_append_clean(diag, f->text, REPORT_DSN_TEXT_MAX, TRUE);
	}

	/* RFC 3464 fields are US-ASCII */
	str_append(part, "Content-Type: message/delivery-status\r\n"
		   "Content-Transfer-Encoding: 7bit\r\n\r\n");
	report_header_raw(part, "Reporting-MTA",
			  t_strconcat("dns; ", ctx->hostname, NULL));
	str_append(part, "\r\n");
	report_header_raw(part, "Final-Recipient", t_strconcat("rfc822; ",
		report_clean(f->user != NULL ? f->user : "unknown",
			     REPORT_SUBJECT_OBJECT_MAX, TRUE), NULL));
	report_header_raw(part, "Action", permanent ? "failed" : "delayed");
	report_header_raw(part, "Status", status);
	report_header_raw(part, "Diagnostic-Code", str_c(diag));
	report_header_raw(part, "Last-Attempt-Date",
			  message_date_create(alert->time_usecs / 1000000));
}

/* The header block of the original message, clean: CRLF line ends, no
   control bytes but TAB-turned-space, valid UTF-8, lines of at most 998
   bytes, at most ALERTWALL_REPORT_ORIG_HEADERS_MAX bytes, cut at a line
   end. Returns FALSE when nothing is left. */
static bool
report_orig_headers(const char *headers, string_t *dest, bool *eightbit_r)
{
	const char *p = headers, *end;
	string_t *clean = t_str_new(256);
	size_t i, start = str_len(dest);

	while (*p != '\0') {
		const char *line;
		size_t len;

		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		len = end - p;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		line = t_strndup(p, len);
		p = *end == '\0' ? end : end + 1;

		/* the empty line ends the header block: no body ever */
		if (*line == '\0')
			break;
		/* a whitespace-only line is not a header line */
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		str_truncate(clean, 0);
		report_append_clean(clean, line, REPORT_LINE_MAX, FALSE);
		/* full: stop at this line end */
		if (str_len(dest) - start + str_len(clean) + 2 >
		    ALERTWALL_REPORT_ORIG_HEADERS_MAX)
			break;
		str_append_str(dest, clean);
		str_append(dest, "\r\n");
	}

	*eightbit_r = FALSE;
	for (i = start; i < str_len(dest); i++) {
		if ((str_data(dest)[i] & 0x80) != 0) {
			*eightbit_r = TRUE;
			break;
		}
	}
	return str_len(dest) > start;
}

static bool
report_part_orig_headers(const char *orig_headers, string_t *part)
{
	string_t *headers = t_str_new(1024);
	bool eightbit;

	if (!report_orig_headers(orig_headers, headers, &eightbit))
		return FALSE;
	str_printfa(part, "Content-Type: text/rfc822-headers%s\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n",
		    eightbit ? "; charset=utf-8" : "",
		    eightbit ? "8bit" : "7bit");
	str_append_str(part, headers);
	return TRUE;
}

/* A boundary must not occur in the parts it separates. The parts that
   could hold it (original headers, diagnostic text) are attacker
   controlled but rendered before the boundary is chosen: lengthen it
   until it is not in them. Deterministic for the same input. */
static const char *
report_boundary(const char *prefix, const char *id_token,
		string_t *const *parts, unsigned int count)
{
	const char *boundary = t_strconcat(prefix, id_token, NULL);
	const char *delim;
	unsigned int i, n = 0;
	bool found;

	do {
		delim = t_strconcat("--", boundary, NULL);
		found = FALSE;
		for (i = 0; i < count && !found; i++)
			found = strstr(str_c(parts[i]), delim) != NULL;
		if (found) {
			boundary = t_strdup_printf("%s%s.%u", prefix,
						   id_token, ++n);
		}
	} while (found);
	return boundary;
}

static void
report_render(const struct report_context *ctx, const char *record_json,
	      const char *orig_headers, string_t *dest)
{
	const struct alertwall_alert *alert = ctx->alert;
	string_t *parts[3], *text, *json;
	const char *boundary;
	unsigned int i, count = 0;

	text = t_str_new(2048);
	report_part_text(ctx, text);
	json = t_str_new(8192);
	report_part_json(ctx, record_json, json);

	parts[count] = t_str_new(8192);
	if (ctx->delivery_status) {
		string_t *inner[2] = { text, json };
		const char *mixed = report_boundary(
			REPORT_MIXED_BOUNDARY_PREFIX, ctx->id_token,
			inner, N_ELEMENTS(inner));

		str_printfa(parts[count], "Content-Type: multipart/mixed;\r\n"
			    "\tboundary=\"%s\"\r\n\r\n", mixed);
		str_printfa(parts[count], "--%s\r\n", mixed);
		str_append_str(parts[count], text);
		str_printfa(parts[count], "--%s\r\n", mixed);
		str_append_str(parts[count], json);
		str_printfa(parts[count], "--%s--\r\n", mixed);
		count++;
		parts[count] = t_str_new(1024);
		report_part_dsn(ctx, parts[count++]);
	} else {
		str_append_str(parts[count++], text);
		parts[count++] = json;
	}
	if (alert->scope == ALERTWALL_SCOPE_EMAIL && orig_headers != NULL) {
		parts[count] = t_str_new(4096);
		if (report_part_orig_headers(orig_headers, parts[count]))
			count++;
	}

	boundary = report_boundary(REPORT_BOUNDARY_PREFIX, ctx->id_token,
				   parts, count);
	report_headers(ctx, boundary, dest);
	str_append(dest, "\r\nThis is an alert report from alertwall in "
		   "MIME format (RFC 6522).\r\n\r\n");
	for (i = 0; i < count; i++) {
		str_printfa(dest, "--%s\r\n", boundary);
		str_append_str(dest, parts[i]);
	}
	str_printfa(dest, "--%s--\r\n", boundary);
}

void alertwall_report_render(const struct alertwall_alert *alert,
			     const char *recipient,
			     enum alertwall_report_role role,
			     unsigned int count, const char *record_json,
			     const char *orig_headers,
			     const struct alertwall_report_settings *set,
			     string_t *dest)
{
	struct report_context ctx;

	i_assert(recipient != NULL);

	/* no data stack frame here: dest may be a t_ string of the
	   caller's frame, and growing it inside a new frame is not allowed */
	i_zero(&ctx);
	ctx.alert = alert;
	ctx.recipient = recipient;
	ctx.role = role;
	ctx.count = count;
	ctx.hostname = alertwall_report_hostname(set == NULL ? NULL : set->hostname);
	ctx.id_token = report_id_token(alert->id);
	ctx.delivery_status = alertwall_report_is_delivery_status(alert);
	ctx.from = set == NULL ? NULL : set->from;
	report_render(&ctx, record_json, orig_headers, dest);
}
