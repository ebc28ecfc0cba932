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
     tab), so no input can inject a header;
   - the MIME boundary occurs only as its own delimiter lines, and the
     mail ends with the closing delimiter.
   Built by fuzz/run.

   Input layout: time (8 bytes), event, nature, level, scope, source (1
   byte each; one value past the last is allowed), flags (1: bit 0 passes
   settings, bit 1 a record_json), count (4), mail_error (4, signed),
   errno (4, signed), SMTP code (4), uid (4), then NUL-separated strings:
   recipient, from, hostname, record_json, id, code, user, mailbox,
   message_id, guid, profile, summary, action, service, session, host,
   smtp_status, text, orig_headers. A string past the end is NULL. */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "alertwall-report.h"
#include "fuzz-common.h"

/* RFC 5322 line limit, CRLF not counted */
#define FUZZ_LINE_MAX 998
/* localtime() of Dovecot's Date: header needs a year that fits */
#define FUZZ_TIME_SECS_MAX 253402300799LL

static const char *const header_names[] = {
	"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted",
	"X-Alertwall-Id", "X-Alertwall-Code", "X-Alertwall-Level",
	"X-Alertwall-Event", "MIME-Version", "Content-Type"
};

/* Check the header block (lines up to the empty line) and return the
   multipart boundary from its Content-Type. */
static const char *
fuzz_check_headers(const char *mail, size_t header_len)
{
	unsigned int seen[N_ELEMENTS(header_names)];
	const char *const *lines, *line, *boundary = NULL, *p;
	unsigned int i, n;

	memset(seen, 0, sizeof(seen));
	lines = t_strsplit(t_strndup(mail, header_len), "\n");
	for (n = 0; lines[n] != NULL; n++) {
		line = lines[n];
		if (*line == '\0' && lines[n + 1] == NULL)
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			FUZZ_CHECK(n > 0, "the first header line is folded");
			FUZZ_CHECK(line[strspn(line, " \t\r")] != '\0',
				   "header continuation %u is blank", n);
			continue;
		}
		for (i = 0; i < N_ELEMENTS(header_names); i++) {
			size_t len = strlen(header_names[i]);

			if (strncmp(line, header_names[i], len) == 0 &&
			    line[len] == ':')
				break;
		}
		FUZZ_CHECK(i < N_ELEMENTS(header_names),
			   "header line %u is no known header: '%s'", n,
			   str_sanitize(line, 200));
		seen[i]++;
		if (strcmp(header_names[i], "Content-Type") == 0) {
			/* boundary="..." is on the next, folded line */
			FUZZ_CHECK(lines[n + 1] != NULL,
				   "Content-Type without a boundary");
			p = strstr(lines[n + 1], "boundary=\"");
			FUZZ_CHECK(p != NULL, "Content-Type without a "
				   "boundary: '%s'", lines[n + 1]);
			p += strlen("boundary=\"");
			boundary = t_strcut(p, '"');
		}
		if (strcmp(header_names[i], "Message-ID") == 0) {
			FUZZ_CHECK(str_begins(line, "Message-ID: <") &&
				   strstr(line, "@alertwall>\r") != NULL,
				   "bad Message-ID: '%s'",
				   str_sanitize(line, 200));
		}
	}
	for (i = 0; i < N_ELEMENTS(header_names); i++) {
		FUZZ_CHECK(seen[i] == 1, "header %s seen %u times",
			   header_names[i], seen[i]);
	}
	FUZZ_CHECK(boundary != NULL && *boundary != '\0', "no boundary");
	return boundary;
}

/* every "--boundary" starts a line and is a delimiter line, and the last
   line is the closing delimiter */
static void fuzz_check_boundary(const char *mail, const char *boundary)
{
	const char *delim = t_strconcat("--", boundary, NULL);
	const char *close_line = t_strconcat(delim, "--\r\n", NULL);
	size_t delim_len = strlen(delim), mail_len = strlen(mail);
	const char *p = mail;
	unsigned int count = 0;

	while ((p = strstr(p, delim)) != NULL) {
		FUZZ_CHECK(p > mail && p[-1] == '\n',
			   "boundary inside a line at %zu", (size_t)(p - mail));
		FUZZ_CHECK(strncmp(p + delim_len, "\r\n", 2) == 0 ||
			   strcmp(p + delim_len, "--\r\n") == 0,
			   "boundary continues on its line at %zu",
			   (size_t)(p - mail));
		count++;
		p += delim_len;
	}
	/* the parts and the closing delimiter */
	FUZZ_CHECK(count >= 3 && count <= 4, "%u boundary lines", count);
	FUZZ_CHECK(mail_len > strlen(close_line) &&
		   strcmp(mail + mail_len - strlen(close_line),
			  close_line) == 0, "no closing delimiter at the end");
}

static void fuzz_check_mail(string_t *mail_str)
{
	const unsigned char *data = str_data(mail_str);
	size_t size = str_len(mail_str), i, line_start = 0, bad_pos;
	const char *mail = str_c(mail_str), *end, *boundary;

	FUZZ_CHECK(size > 0 && data[size - 1] == '\n', "no final CRLF");
	FUZZ_CHECK(strlen(mail) == size, "NUL byte in the mail");
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

	end = strstr(mail, "\r\n\r\n");
	FUZZ_CHECK(end != NULL, "no end of the header block");
	boundary = fuzz_check_headers(mail, end + 2 - mail);
	fuzz_check_boundary(end + 2, boundary);
}

static void fuzz_report(struct fuzz_input *input)
{
	struct alertwall_alert alert;
	struct alertwall_failure *f = &alert.failure;
	struct alertwall_report_settings set;
	const char *recipient, *record_json, *orig_headers;
	unsigned int role, count, flags;
	string_t *mail;

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
	if ((flags & 2) == 0)
		record_json = NULL;

	for (role = 0; role < ALERTWALL_REPORT_ROLE_COUNT; role++) T_BEGIN {
		mail = t_str_new(4096);
		alertwall_report_render(&alert, recipient, role, count,
					record_json, orig_headers,
					(flags & 1) != 0 ? &set : NULL, mail);
		fuzz_check_mail(mail);
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
	struct fuzz_input input;

	fuzz_input_init(&input, data, size);
	T_BEGIN {
		fuzz_report(&input);
	} T_END;
	return 0;
}
