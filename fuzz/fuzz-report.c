/* Copyright (c) 2026 alertwall authors */

/* fuzz-report: libFuzzer harness for the alert mail renderer. Hostile
   mailbox names, user names, codes (the Subject), Message-IDs,
   recipients, senders, host names and original header blocks go into
   alertwall_report_render() for every role, and each mail must hold:
   - every line ends in CRLF, no bare CR or LF, and no line is longer than
     998 bytes (RFC 5322);
   - no control byte but CR, LF and TAB, and valid UTF-8;
   - the header block has only the documented headers, each once; every
     other line in it is a folded continuation (starts with space or
     tab), so no input can inject a header; Subject and X-Alertwall-Code
     are ASCII (RFC 2047 encoded) and the Subject decodes to one line
     starting with "[alertwall] ";
   - each MIME boundary occurs only as its own delimiter lines, and the
     parts are the documented ones in order (alertwall-report.h), with
     only Content-* headers; 7bit parts are ASCII, quoted-printable parts
     are ASCII with lines of at most 76 bytes, no white space before a
     line end, and decode without error; the text part decodes to lines
     without control bytes, and the JSON part to exactly the record line
     given, or else the one alertwall_record_render() makes.
   Built by fuzz/run.

   Input layout: time (8 bytes), event, nature, level, scope, source (1
   byte each; one value past the last is allowed), flags (1: bit 0 passes
   settings, bit 1 a record_json, made one line ending in "}\n"), count
   (4), mail_error (4, signed), errno (4, signed), SMTP code (4), uid (4),
   then NUL-separated strings:
   recipient, from, hostname, record_json, id, code, user, mailbox,
   message_id, guid, profile, summary, action, service, session, host,
   smtp_status, text, orig_headers. A string past the end is NULL. */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "qp-decoder.h"
#include "message-header-decode.h"
#include "alertwall-record.h"
#include "alertwall-report.h"
#include "fuzz-common.h"

#include <stdio.h>

/* RFC 5322 line limit, CRLF not counted */
#define FUZZ_LINE_MAX 998
/* RFC 2045 limit of quoted-printable lines, CRLF not counted */
#define FUZZ_QP_LINE_MAX 76
/* localtime() of Dovecot's Date: header needs a year that fits */
#define FUZZ_TIME_SECS_MAX 253402300799LL

static const char *const header_names[] = {
	"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted",
	"X-Alertwall-Id", "X-Alertwall-Code", "X-Alertwall-Level",
	"X-Alertwall-Event", "MIME-Version", "Content-Type"
};

static const char *const part_header_names[] = {
	"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"
};

/* one rendered mail and what the checks expect of it */
struct fuzz_mail {
	const struct alertwall_alert *alert;
	/* the record line the JSON part must hold */
	const char *record;
	bool orig_headers;
	bool json_seen;
};

/* a header block split into unfolded headers */
struct fuzz_header {
	const char *name;
	/* the value with the folds' CRLFs removed */
	const char *value;
};

static bool fuzz_is_ascii(const char *data, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if ((unsigned char)data[i] >= 0x80)
			return FALSE;
	}
	return TRUE;
}

/* Split a header block (CRLF lines, without the empty line) into headers
   with the given names: every line starts a known header or is a fold.
   Returns the number of headers. */
static unsigned int
fuzz_parse_headers(const char *block, const char *const *names,
		   unsigned int name_count, struct fuzz_header *headers,
		   unsigned int max_headers)
{
	const char *const *lines = t_strsplit(block, "\n");
	unsigned int i, n, count = 0;
	string_t *value = NULL;

	for (n = 0; lines[n] != NULL; n++) {
		const char *line = lines[n];
		size_t len = strlen(line);

		if (len == 0 && lines[n + 1] == NULL)
			break;
		FUZZ_CHECK(len > 0 && line[len - 1] == '\r',
			   "header line %u without CRLF", n);
		line = t_strndup(line, len - 1);
		if (line[0] == ' ' || line[0] == '\t') {
			FUZZ_CHECK(count > 0, "the first header line is folded");
			FUZZ_CHECK(line[strspn(line, " \t")] != '\0',
				   "header continuation %u is blank", n);
			str_append(value, line);
			headers[count - 1].value = str_c(value);
			continue;
		}
		for (i = 0; i < name_count; i++) {
			size_t name_len = strlen(names[i]);

			if (strncmp(line, names[i], name_len) == 0 &&
			    line[name_len] == ':')
				break;
		}
		FUZZ_CHECK(i < name_count, "header line %u is no known "
			   "header: '%s'", n, str_sanitize(line, 200));
		FUZZ_CHECK(count < max_headers, "too many headers");
		value = t_str_new(128);
		str_append(value, line + strlen(names[i]) + 1);
		headers[count].name = names[i];
		headers[count].value = str_c(value);
		count++;
	}
	return count;
}

static const char *
fuzz_header_get(const struct fuzz_header *headers, unsigned int count,
		const char *name)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (strcmp(headers[i].name, name) == 0)
			return headers[i].value;
	}
	return NULL;
}

static const char *fuzz_boundary_param(const char *content_type)
{
	const char *p = strstr(content_type, "boundary=\"");

	FUZZ_CHECK(p != NULL, "multipart without a boundary: '%s'",
		   str_sanitize(content_type, 200));
	p = t_strcut(p + strlen("boundary=\""), '"');
	FUZZ_CHECK(*p != '\0', "empty boundary");
	return p;
}

/* Split a multipart body at its boundary: every "--boundary" starts a
   line and is a delimiter line, and the body ends with the closing
   delimiter. Returns the parts (without the CRLF before a delimiter). */
static unsigned int
fuzz_split_parts(const char *body, const char *boundary,
		 const char **parts, unsigned int max_parts)
{
	const char *delim = t_strconcat("--", boundary, NULL);
	size_t delim_len = strlen(delim);
	const char *p, *next, *part_start = NULL;
	unsigned int count = 0;

	for (p = strstr(body, delim); p != NULL; p = next) {
		FUZZ_CHECK(p == body || p[-1] == '\n', "boundary inside a "
			   "line at %zu", (size_t)(p - body));
		if (part_start != NULL) {
			FUZZ_CHECK(count < max_parts, "too many parts");
			FUZZ_CHECK(p - part_start >= 2, "part without CRLF");
			parts[count++] = t_strndup(part_start,
						   p - 2 - part_start);
		}
		/* the closing delimiter ends the body (a nested one lost
		   its CRLF to the outer delimiter) */
		if (strcmp(p + delim_len, "--\r\n") == 0 ||
		    strcmp(p + delim_len, "--") == 0)
			return count;
		FUZZ_CHECK(strncmp(p + delim_len, "\r\n", 2) == 0,
			   "boundary continues on its line at %zu",
			   (size_t)(p - body));
		part_start = p + delim_len + 2;
		next = strstr(part_start, delim);
	}
	FUZZ_CHECK(FALSE, "no closing delimiter at the end");
	return 0;
}

static const char *fuzz_qp_decode(const char *body)
{
	buffer_t *decoded = t_buffer_create(strlen(body) + 1);
	struct qp_decoder *qp = qp_decoder_init(decoded);
	const char *const *lines, *error = NULL;
	size_t invalid_pos;
	unsigned int n;

	FUZZ_CHECK(fuzz_is_ascii(body, strlen(body)), "8bit data in a "
		   "quoted-printable part");
	lines = t_strsplit(body, "\r\n");
	for (n = 0; lines[n] != NULL; n++) {
		size_t len = strlen(lines[n]);

		FUZZ_CHECK(len <= FUZZ_QP_LINE_MAX,
			   "quoted-printable line of %zu bytes", len);
		/* RFC 2045 rule 3: white space at the end of a line may
		   be lost in transport, so it must be encoded */
		FUZZ_CHECK(len == 0 || (lines[n][len - 1] != ' ' &&
					lines[n][len - 1] != '\t'),
			   "quoted-printable line %u ends in white space", n);
	}
	FUZZ_CHECK(qp_decoder_more(qp, (const unsigned char *)body,
				   strlen(body), &invalid_pos, &error) == 0,
		   "invalid quoted-printable at %zu: %s", invalid_pos, error);
	FUZZ_CHECK(qp_decoder_finish(qp, &error) == 0,
		   "invalid quoted-printable end: %s", error);
	qp_decoder_deinit(&qp);
	return t_strndup(decoded->data, decoded->used);
}

/* the text for people: lines without control bytes, valid UTF-8 */
static void fuzz_check_text(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t bad_pos;

	for (; *p != '\0'; p++) {
		if (*p == '\r') {
			FUZZ_CHECK(p[1] == '\n', "bare CR in the text part");
			continue;
		}
		FUZZ_CHECK(*p == '\n' || (*p >= 0x20 && *p != 0x7f),
			   "control byte 0x%02x in the text part", *p);
	}
	FUZZ_CHECK(fuzz_utf8_is_valid((const unsigned char *)text,
				      strlen(text), &bad_pos),
		   "invalid UTF-8 in the text part at %zu", bad_pos);
}

static void
fuzz_check_part(struct fuzz_mail *mail, const char *part,
		const char *expected_type)
{
	struct fuzz_header headers[N_ELEMENTS(part_header_names) + 1];
	const char *end, *ctype, *cte, *body, *text;
	unsigned int count;

	end = strstr(part, "\r\n\r\n");
	FUZZ_CHECK(end != NULL, "part without a header block");
	count = fuzz_parse_headers(t_strdup_until(part, end + 2),
				   part_header_names,
				   N_ELEMENTS(part_header_names), headers,
				   N_ELEMENTS(headers));
	body = end + 4;
	ctype = fuzz_header_get(headers, count, "Content-Type");
	FUZZ_CHECK(ctype != NULL, "part without Content-Type");
	FUZZ_CHECK(str_begins(ctype, t_strconcat(" ", expected_type, NULL)),
		   "part is '%s', not %s", ctype, expected_type);
	cte = fuzz_header_get(headers, count, "Content-Transfer-Encoding");
	if (cte == NULL)
		cte = " 7bit";

	if (strcmp(expected_type, "multipart/mixed") == 0) {
		const char *parts[3];

		count = fuzz_split_parts(body, fuzz_boundary_param(ctype),
					 parts, N_ELEMENTS(parts));
		FUZZ_CHECK(count == 2, "multipart/mixed with %u parts", count);
		fuzz_check_part(mail, parts[0], "text/plain");
		fuzz_check_part(mail, parts[1], "application/json");
		return;
	}
	if (strcmp(cte, " 7bit") == 0) {
		FUZZ_CHECK(fuzz_is_ascii(body, strlen(body)),
			   "8bit data in a 7bit %s part", expected_type);
		text = body;
	} else if (strcmp(cte, " quoted-printable") == 0) {
		text = fuzz_qp_decode(body);
	} else {
		FUZZ_CHECK(strcmp(cte, " 8bit") == 0 &&
			   strcmp(expected_type, "text/rfc822-headers") == 0,
			   "%s part with encoding '%s'", expected_type, cte);
		text = body;
	}

	if (strcmp(expected_type, "text/plain") == 0)
		fuzz_check_text(text);
	else if (strcmp(expected_type, "application/json") == 0) {
		mail->json_seen = TRUE;
		/* the CRLF before the delimiter is the delimiter's, so
		   the record's "\n" is not in the part */
		FUZZ_CHECK(strcmp(text, t_strcut(mail->record, '\n')) == 0,
			   "the JSON part is not the record");
	} else if (strcmp(expected_type, "message/delivery-status") == 0) {
		/* RFC 3464 fields are US-ASCII lines */
		fuzz_check_text(text);
	}
}

/* the header block: documented headers only, each once */
static const char *
fuzz_check_headers(struct fuzz_mail *mail, const char *block,
		   bool *delivery_status_r)
{
	struct fuzz_header headers[N_ELEMENTS(header_names) + 1];
	const char *value, *ctype;
	buffer_t *decoded;
	unsigned int i, j, count, seen;
	size_t k, len;

	count = fuzz_parse_headers(block, header_names,
				   N_ELEMENTS(header_names), headers,
				   N_ELEMENTS(headers));
	for (i = 0; i < N_ELEMENTS(header_names); i++) {
		seen = 0;
		for (j = 0; j < count; j++) {
			if (strcmp(headers[j].name, header_names[i]) == 0)
				seen++;
		}
		FUZZ_CHECK(seen == 1, "header %s seen %u times",
			   header_names[i], seen);
	}
	FUZZ_CHECK(strcmp(headers[0].name, "From") == 0, "From is not first");

	value = fuzz_header_get(headers, count, "Message-ID");
	len = strlen(value);
	FUZZ_CHECK(str_begins(value, " <") && len > 13 &&
		   strcmp(value + len - 11, "@alertwall>") == 0 &&
		   strspn(value + 2, "0123456789abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-") == len - 13,
		   "bad Message-ID: '%s'", str_sanitize(value, 200));

	/* unstructured text is RFC 2047 encoded, never raw 8bit */
	value = fuzz_header_get(headers, count, "X-Alertwall-Code");
	FUZZ_CHECK(fuzz_is_ascii(value, strlen(value)),
		   "X-Alertwall-Code is not ASCII");
	value = fuzz_header_get(headers, count, "Subject");
	FUZZ_CHECK(fuzz_is_ascii(value, strlen(value)),
		   "Subject is not ASCII");
	decoded = t_buffer_create(256);
	value += strspn(value, " \t");
	message_header_decode_utf8((const unsigned char *)value, strlen(value),
				   decoded, NULL);
	FUZZ_CHECK(decoded->used > 12 &&
		   memcmp(decoded->data, "[alertwall] ", 12) == 0,
		   "decoded Subject: '%s'", str_sanitize(
			t_strndup(decoded->data, decoded->used), 200));
	for (k = 0; k < decoded->used; k++) {
		unsigned char c = ((const unsigned char *)decoded->data)[k];

		/* a tab is the folding white space, kept by unfolding */
		FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7f,
			   "decoded Subject has control byte 0x%02x", c);
	}

	ctype = fuzz_header_get(headers, count, "Content-Type");
	if (str_begins(ctype, " multipart/report; report-type="
		       "delivery-status;"))
		*delivery_status_r = TRUE;
	else {
		FUZZ_CHECK(str_begins(ctype, " multipart/report; report-type="
				      "alertwall-record;"),
			   "Content-Type: '%s'", ctype);
		*delivery_status_r = FALSE;
	}
	FUZZ_CHECK(*delivery_status_r ==
		   alertwall_report_is_delivery_status(mail->alert),
		   "wrong report-type");
	return fuzz_boundary_param(ctype);
}

static void fuzz_check_mail(struct fuzz_mail *mail, string_t *mail_str)
{
	const unsigned char *data = str_data(mail_str);
	size_t size = str_len(mail_str), i, line_start = 0, bad_pos;
	const char *text = str_c(mail_str), *end, *boundary, *parts[4];
	unsigned int count, expected;
	bool delivery_status;

	FUZZ_CHECK(size > 0 && data[size - 1] == '\n', "no final CRLF");
	FUZZ_CHECK(strlen(text) == size, "NUL byte in the mail");
	for (i = 0; i < size; i++) {
		if (data[i] == '\n') {
			FUZZ_CHECK(i > 0 && data[i - 1] == '\r',
				   "bare LF at %zu", i);
			FUZZ_CHECK(i - 1 - line_start <= FUZZ_LINE_MAX,
				   "line of %zu bytes at %zu",
				   i - 1 - line_start, line_start);
			line_start = i + 1;
		} else if (data[i] == '\r') {
			FUZZ_CHECK(i + 1 < size && data[i + 1] == '\n',
				   "bare CR at %zu", i);
		} else {
			FUZZ_CHECK(data[i] >= 0x20 || data[i] == '\t',
				   "control byte 0x%02x at %zu", data[i], i);
			FUZZ_CHECK(data[i] != 0x7f, "DEL at %zu", i);
		}
	}
	FUZZ_CHECK(fuzz_utf8_is_valid(data, size, &bad_pos),
		   "invalid UTF-8 at %zu", bad_pos);

	end = strstr(text, "\r\n\r\n");
	FUZZ_CHECK(end != NULL, "no end of the header block");
	boundary = fuzz_check_headers(mail, t_strdup_until(text, end + 2),
				      &delivery_status);

	count = fuzz_split_parts(end + 4, boundary, parts, N_ELEMENTS(parts));
	expected = mail->orig_headers ? 3 : 2;
	FUZZ_CHECK(count == expected || (mail->orig_headers && count == 2),
		   "%u parts, expected %u", count, expected);
	if (delivery_status) {
		fuzz_check_part(mail, parts[0], "multipart/mixed");
		fuzz_check_part(mail, parts[1], "message/delivery-status");
	} else {
		fuzz_check_part(mail, parts[0], "text/plain");
		fuzz_check_part(mail, parts[1], "application/json");
	}
	if (count == 3)
		fuzz_check_part(mail, parts[2], "text/rfc822-headers");
	FUZZ_CHECK(mail->json_seen, "no application/json part");
}

static void fuzz_report(struct fuzz_input *input)
{
	struct alertwall_alert alert;
	struct alertwall_failure *f = &alert.failure;
	struct alertwall_report_settings set;
	struct fuzz_mail mail;
	const char *recipient, *record_json, *orig_headers;
	unsigned int role, count, flags;
	string_t *str;
	/* FUZZ_REPORT_DUMP=1 prints each mail, to see what a check saw */
	bool dump = getenv("FUZZ_REPORT_DUMP") != NULL;

	i_zero(&alert);
	i_zero(&set);
	alert.time_usecs = (long long)(fuzz_input_u64(input) %
		((uint64_t)(FUZZ_TIME_SECS_MAX + 1) * 1000000));
	alert.event = fuzz_input_u8(input) % (ALERTWALL_EVENT_COUNT + 1);
	alert.nature = fuzz_input_u8(input) % (ALERTWALL_NATURE_COUNT + 1);
	alert.level = fuzz_input_u8(input) % (ALERTWALL_LEVEL_COUNT + 1);
	alert.scope = fuzz_input_u8(input) % (ALERTWALL_SCOPE_COUNT + 1);
	f->source = fuzz_input_u8(input) % (ALERTWALL_SOURCE_COUNT + 1);
	flags = fuzz_input_u8(input);
	count = fuzz_input_u32(input);
	f->mail_error = (int32_t)fuzz_input_u32(input);
	f->errno_value = (int32_t)fuzz_input_u32(input);
	f->smtp_code = fuzz_input_u32(input);
	f->uid = fuzz_input_u32(input);

	recipient = fuzz_input_string(input);
	set.from = fuzz_input_string(input);
	set.hostname = fuzz_input_string(input);
	record_json = fuzz_input_string(input);
	alert.id = fuzz_input_string(input);
	alert.code = fuzz_input_string(input);
	f->user = fuzz_input_string(input);
	f->mailbox = fuzz_input_string(input);
	f->message_id = fuzz_input_string(input);
	f->guid = fuzz_input_string(input);
	alert.profile = fuzz_input_string(input);
	alert.summary = fuzz_input_string(input);
	alert.action = fuzz_input_string(input);
	f->service = fuzz_input_string(input);
	f->session = fuzz_input_string(input);
	f->host = fuzz_input_string(input);
	f->smtp_status = fuzz_input_string(input);
	f->text = fuzz_input_string(input);
	orig_headers = fuzz_input_string(input);
	if (recipient == NULL)
		recipient = "postmaster";
	if ((flags & 2) == 0 || record_json == NULL)
		record_json = NULL;
	else {
		/* a sidecar record line, as the header asks: one line
		   that ends in "}\n" */
		record_json = t_strconcat(t_str_replace(t_str_replace(
			record_json, '\r', ' '), '\n', ' '), "}\n", NULL);
	}

	i_zero(&mail);
	mail.alert = &alert;
	/* only email-level alerts carry the original headers, and only
	   when something of them is left after cleaning */
	mail.orig_headers = alert.scope == ALERTWALL_SCOPE_EMAIL &&
		orig_headers != NULL;
	if (record_json != NULL)
		mail.record = record_json;
	else {
		str = t_str_new(1024);
		alertwall_record_render(&alert, str);
		mail.record = str_c(str);
	}

	for (role = 0; role < ALERTWALL_REPORT_ROLE_COUNT; role++) T_BEGIN {
		str = t_str_new(4096);
		alertwall_report_render(&alert, recipient, role, count,
					record_json, orig_headers,
					(flags & 1) != 0 ? &set : NULL, str);
		if (dump)
			fprintf(stderr, "%s\n", str_c(str));
		mail.json_seen = FALSE;
		fuzz_check_mail(&mail, str);
	} T_END;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size, fuzz_report);
	return 0;
}
