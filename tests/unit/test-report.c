/* Copyright (c) 2026 alertwall authors */

/* tests for the alert mail renderer (alertwall-report.c): the MIME
   structure per scope, role and source, the delivery-status fields, the
   original headers part, header hygiene (CRLF injection, RFC 2047) and
   determinism */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "crc32.h"
#include "unichar.h"
#include "qp-decoder.h"
#include "message-date.h"
#include "message-header-decode.h"
#include "mail-error.h"
#include "alertwall-record.h"
#include "alertwall-report.h"
#include "test-alertwall.h"

#include <ctype.h>
#include <stdio.h>

#define TEST_TIME 1795719845123456LL
#define TEST_ID "01abcdefghijklmnopqrstuv23"
#define TEST_RCPT "bob@example.org"
#define INFO_LINE "For your information, no action is needed from you."

/* a MIME entity as the tests see it */
struct mime_part {
	/* header block with CRLF line ends, without the empty line */
	const char *header;
	const char *body;
	/* lowercase content type without parameters */
	const char *type;
	ARRAY(struct mime_part *) children;
};

static const struct alertwall_report_settings test_set = {
	.from = NULL,
	.hostname = "mx1.example.org",
};

/* n copies of c */
static const char *test_fill(unsigned int n, char c)
{
	char *str = t_malloc0(n + 1);

	memset(str, c, n);
	return str;
}

static void test_alert_fill(struct alertwall_alert *alert)
{
	i_zero(alert);
	alert->id = TEST_ID;
	alert->time_usecs = TEST_TIME;
	alert->event = ALERTWALL_EVENT_RAISED;
	alert->code = "QUOTA_FULL";
	alert->nature = ALERTWALL_NATURE_PERMANENT;
	alert->level = ALERTWALL_LEVEL_ERROR;
	alert->scope = ALERTWALL_SCOPE_MAILBOX;
	alert->summary = "Mailbox of bob is full";
	alert->action = "Mailbox owner: delete mail.";
	alert->profile = "default";
	alert->profile_owner = "postmaster";

	alertwall_failure_init(&alert->failure, ALERTWALL_SOURCE_DELIVERY);
	alert->failure.mail_error = MAIL_ERROR_NOQUOTA;
	alert->failure.text = "Quota exceeded (mailbox for user is full)";
	alert->failure.smtp_code = 552;
	alert->failure.smtp_status = "5.2.2";
	alert->failure.user = TEST_RCPT;
	alert->failure.mailbox = "INBOX";
	alert->failure.uid = 42;
	alert->failure.message_id = "<m1@example.org>";
	alert->failure.service = "lmtp";
	alert->failure.host = "mx1";
}

static const char *
render(const struct alertwall_alert *alert, const char *recipient,
       enum alertwall_report_role role, unsigned int count,
       const char *record_json, const char *orig_headers)
{
	string_t *str = t_str_new(256);

	alertwall_report_render(alert, recipient, role, count, record_json,
				orig_headers, &test_set, str);
	return str_c(str);
}

/* text split at CRLFs; a final CRLF gives no empty last line */
static const char *const *split_lines(const char *text)
{
	ARRAY_TYPE(const_string) lines;
	const char *p = text, *end;

	t_array_init(&lines, 32);
	while (*p != '\0') {
		const char *line;

		end = strstr(p, "\r\n");
		if (end == NULL)
			end = p + strlen(p);
		line = t_strdup_until(p, end);
		array_push_back(&lines, &line);
		p = *end == '\0' ? end : end + 2;
	}
	array_append_zero(&lines);
	return array_front(&lines);
}

/* the unfolded value of the first header called name, or NULL */
static const char *header_get(const char *block, const char *name)
{
	size_t name_len = strlen(name);
	const char *p = block, *end;
	string_t *value = NULL;

	while (*p != '\0') {
		end = strstr(p, "\r\n");
		if (end == NULL)
			end = p + strlen(p);
		if (value != NULL) {
			if (*p != ' ' && *p != '\t')
				break;
			/* unfolding removes the CRLF only */
			str_append_data(value, p, end - p);
		} else if (strncasecmp(p, name, name_len) == 0 &&
			   p[name_len] == ':') {
			value = t_str_new(128);
			str_append_data(value, p + name_len + 1,
					end - (p + name_len + 1));
		}
		p = *end == '\0' ? end : end + 2;
	}
	if (value == NULL)
		return NULL;
	return t_strcut(str_c(value) + strspn(str_c(value), " \t"), '\0');
}

static unsigned int header_count(const char *block, const char *name)
{
	const char *const *lines = split_lines(block);
	size_t name_len = strlen(name);
	unsigned int i, count = 0;

	for (i = 0; lines[i] != NULL; i++) {
		if (strncasecmp(lines[i], name, name_len) == 0 &&
		    lines[i][name_len] == ':')
			count++;
	}
	return count;
}

static const char *header_param(const char *value, const char *param)
{
	const char *p = value, *end;
	size_t len = strlen(param);

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, param, len) != 0 || p[len] != '=')
			continue;
		p += len + 1;
		if (*p == '"') {
			end = strchr(++p, '"');
			return end == NULL ? NULL : t_strdup_until(p, end);
		}
		return t_strcut(p, ';');
	}
	return NULL;
}

static struct mime_part *parse_part(const char *text)
{
	struct mime_part *part = t_new(struct mime_part, 1);
	const char *p, *value, *boundary, *delim, *start = NULL;

	if (str_begins(text, "\r\n")) {
		part->header = "";
		part->body = text + 2;
	} else {
		p = strstr(text, "\r\n\r\n");
		ck_assert_msg(p != NULL, "no end of headers: %s", text);
		part->header = t_strdup_until(text, p + 2);
		part->body = p + 4;
	}
	value = header_get(part->header, "Content-Type");
	part->type = value == NULL ? "text/plain" :
		t_str_lcase(t_strcut(value, ';'));
	t_array_init(&part->children, 4);
	if (!str_begins(part->type, "multipart/"))
		return part;

	boundary = header_param(value, "boundary");
	ck_assert_msg(boundary != NULL, "no boundary: %s", value);
	delim = t_strconcat("--", boundary, NULL);
	/* a delimiter is a whole line; the CRLF before it is its own */
	for (p = part->body; *p != '\0'; ) {
		const char *end = strstr(p, "\r\n");
		const char *line;

		if (end == NULL)
			end = p + strlen(p);
		line = t_strdup_until(p, end);
		if (strcmp(line, delim) == 0 ||
		    strcmp(line, t_strconcat(delim, "--", NULL)) == 0) {
			if (start != NULL) {
				struct mime_part *child = parse_part(
					t_strdup_until(start, p - 2));
				array_push_back(&part->children, &child);
			}
			if (line[strlen(delim)] == '-')
				return part;
			start = *end == '\0' ? end : end + 2;
		}
		p = *end == '\0' ? end : end + 2;
	}
	ck_abort_msg("no closing delimiter %s", delim);
	return part;
}

/* "multipart/report[text/plain,application/json]" */
static void describe(const struct mime_part *part, string_t *dest)
{
	struct mime_part *const *child;
	bool first = TRUE;

	str_append(dest, part->type);
	if (array_count(&part->children) == 0)
		return;
	str_append_c(dest, '[');
	array_foreach(&part->children, child) {
		if (!first)
			str_append_c(dest, ',');
		first = FALSE;
		describe(*child, dest);
	}
	str_append_c(dest, ']');
}

static const struct mime_part *
find_part(const struct mime_part *part, const char *type)
{
	struct mime_part *const *child;
	const struct mime_part *found;

	if (strcmp(part->type, type) == 0)
		return part;
	array_foreach(&part->children, child) {
		if ((found = find_part(*child, type)) != NULL)
			return found;
	}
	return NULL;
}

static const char *qp_decode(const char *body)
{
	buffer_t *buf = t_buffer_create(strlen(body) + 1);
	struct qp_decoder *qp = qp_decoder_init(buf);
	const char *error;
	size_t pos;

	ck_assert_int_eq(qp_decoder_more(qp, (const unsigned char *)body,
					 strlen(body), &pos, &error), 0);
	ck_assert_int_eq(qp_decoder_finish(qp, &error), 0);
	qp_decoder_deinit(&qp);
	return str_c(buf);
}

static const char *header_decode(const char *value)
{
	string_t *str = t_str_new(128);

	message_header_decode_utf8((const unsigned char *)value,
				   strlen(value), str, NULL);
	return str_c(str);
}

/* the rules every rendered mail follows, whatever its input */
static void check_lines(const char *msg, unsigned int case_idx)
{
	const char *p, *line = msg;

	for (p = msg; *p != '\0'; p++) {
		if (*p == '\r') {
			ck_assert_msg(p[1] == '\n', "case %u: bare CR at %zu",
				      case_idx, (size_t)(p - msg));
		} else if (*p == '\n') {
			ck_assert_msg(p > msg && p[-1] == '\r',
				      "case %u: bare LF at %zu", case_idx,
				      (size_t)(p - msg));
			ck_assert_msg(p - 1 - line <= 998,
				      "case %u: line of %zu bytes", case_idx,
				      (size_t)(p - 1 - line));
			line = p + 1;
		}
	}
	ck_assert_msg(p > msg + 1 && p[-1] == '\n', "case %u: no final CRLF",
		      case_idx);
	ck_assert_msg(uni_utf8_str_is_valid(msg), "case %u: invalid UTF-8",
		      case_idx);
}

/* the top-level header block: only known names, each line a header or a
   continuation, all ASCII, at most 78 bytes a line */
static void check_header_block(const char *header, unsigned int case_idx,
			       bool check_length)
{
	static const char *const names[] = {
		"From", "To", "Subject", "Date", "Message-ID",
		"Auto-Submitted", "X-Alertwall-Id", "X-Alertwall-Code",
		"X-Alertwall-Level", "X-Alertwall-Event", "MIME-Version",
		"Content-Type",
	};
	const char *const *lines = split_lines(header);
	unsigned int i, j;

	for (i = 0; lines[i] != NULL; i++) {
		const char *line = lines[i];

		if (check_length) {
			ck_assert_msg(strlen(line) <= 78, "case %u: long: %s",
				      case_idx, line);
		}
		for (j = 0; line[j] != '\0'; j++) {
			ck_assert_msg((unsigned char)line[j] < 0x80 &&
				      (line[j] >= 0x20 || line[j] == '\t'),
				      "case %u: byte %02x in %s", case_idx,
				      (unsigned char)line[j], line);
		}
		if (*line == ' ' || *line == '\t') {
			ck_assert_msg(line[strspn(line, " \t")] != '\0',
				      "case %u: blank continuation", case_idx);
			continue;
		}
		for (j = 0; j < N_ELEMENTS(names); j++) {
			if (strncmp(line, names[j], strlen(names[j])) == 0 &&
			    line[strlen(names[j])] == ':')
				break;
		}
		ck_assert_msg(j < N_ELEMENTS(names),
			      "case %u: unexpected header line: %s",
			      case_idx, line);
	}
	for (j = 0; j < N_ELEMENTS(names); j++) {
		ck_assert_msg(header_count(header, names[j]) == 1,
			      "case %u: %s %u times", case_idx, names[j],
			      header_count(header, names[j]));
	}
}

struct structure_case {
	enum alertwall_scope scope;
	enum alertwall_source source;
	enum alertwall_nature nature;
	unsigned int smtp_code;
	const char *smtp_status;
	enum alertwall_report_role role;
	const char *orig_headers;

	const char *report_type;
	const char *structure;
	/* expected DSN fields, NULL when there is no DSN */
	const char *dsn_action;
	const char *dsn_status;
	const char *subject;
};

#define ORIG "Subject: hello\r\nFrom: a@example.org\r\n\r\nsecret body\r\n"
#define MIXED "multipart/mixed[text/plain,application/json]"

static const struct structure_case structure_cases[] = {
	/* delivery failures */
	{ ALERTWALL_SCOPE_EMAIL, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_TRANSIENT, 452, "4.2.2",
	  ALERTWALL_REPORT_ROLE_ADMIN, ORIG, "delivery-status",
	  "multipart/report[" MIXED ",message/delivery-status,"
	  "text/rfc822-headers]", "delayed", "4.2.2",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/INBOX" },
	{ ALERTWALL_SCOPE_MAILBOX, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_PERMANENT, 552, "5.2.2",
	  ALERTWALL_REPORT_ROLE_OWNER, ORIG, "delivery-status",
	  "multipart/report[" MIXED ",message/delivery-status]",
	  "failed", "5.2.2",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/INBOX" },
	/* no or a bad enhanced code: the class of the reply decides */
	{ ALERTWALL_SCOPE_MAILBOX, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_PERMANENT, 451, NULL,
	  ALERTWALL_REPORT_ROLE_ADMIN, NULL, "delivery-status",
	  "multipart/report[" MIXED ",message/delivery-status]",
	  "failed", "4.0.0", NULL },
	{ ALERTWALL_SCOPE_MAILBOX, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_TRANSIENT, 550, "5.7.1\r\nX: y",
	  ALERTWALL_REPORT_ROLE_ADMIN, NULL, "delivery-status",
	  "multipart/report[" MIXED ",message/delivery-status]",
	  "delayed", "5.0.0", NULL },
	{ ALERTWALL_SCOPE_MAILBOX, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_TRANSIENT, 421, "4.1234.1",
	  ALERTWALL_REPORT_ROLE_ADMIN, NULL, "delivery-status",
	  "multipart/report[" MIXED ",message/delivery-status]",
	  "delayed", "4.0.0", NULL },
	/* a delivery-caught failure without a reply is no DSN */
	{ ALERTWALL_SCOPE_EMAIL, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_TRANSIENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_ADMIN, ORIG, "alertwall-record",
	  "multipart/report[text/plain,application/json,"
	  "text/rfc822-headers]", NULL, NULL, NULL },
	/* everything else */
	{ ALERTWALL_SCOPE_EMAIL, ALERTWALL_SOURCE_SAVE,
	  ALERTWALL_NATURE_PERMANENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_ADMIN, ORIG, "alertwall-record",
	  "multipart/report[text/plain,application/json,"
	  "text/rfc822-headers]", NULL, NULL, NULL },
	{ ALERTWALL_SCOPE_EMAIL, ALERTWALL_SOURCE_SAVE,
	  ALERTWALL_NATURE_PERMANENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_ADMIN, NULL, "alertwall-record",
	  "multipart/report[text/plain,application/json]",
	  NULL, NULL, NULL },
	/* an empty header block gives no headers part */
	{ ALERTWALL_SCOPE_EMAIL, ALERTWALL_SOURCE_COPY,
	  ALERTWALL_NATURE_PERMANENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_ADMIN, "\r\nbody only\r\n",
	  "alertwall-record", "multipart/report[text/plain,application/json]",
	  NULL, NULL, NULL },
	{ ALERTWALL_SCOPE_MAILBOX, ALERTWALL_SOURCE_SYNC,
	  ALERTWALL_NATURE_TRANSIENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_OWNER, ORIG, "alertwall-record",
	  "multipart/report[text/plain,application/json]", NULL, NULL,
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/INBOX" },
	{ ALERTWALL_SCOPE_PROFILE, ALERTWALL_SOURCE_INDEX,
	  ALERTWALL_NATURE_PERMANENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_PROFILE_OWNER, ORIG, "alertwall-record",
	  "multipart/report[text/plain,application/json]", NULL, NULL,
	  "[alertwall] ERROR QUOTA_FULL: profile default" },
	{ ALERTWALL_SCOPE_PROFILE, ALERTWALL_SOURCE_INDEX,
	  ALERTWALL_NATURE_PERMANENT, 0, NULL,
	  ALERTWALL_REPORT_ROLE_INFO, NULL, "alertwall-record",
	  "multipart/report[text/plain,application/json]", NULL, NULL,
	  "[alertwall] ERROR QUOTA_FULL: profile default" },
	/* a profile-level delivery failure is still a DSN */
	{ ALERTWALL_SCOPE_PROFILE, ALERTWALL_SOURCE_DELIVERY,
	  ALERTWALL_NATURE_TRANSIENT, 451, "4.3.0",
	  ALERTWALL_REPORT_ROLE_INFO, ORIG, "delivery-status",
	  "multipart/report[" MIXED ",message/delivery-status]",
	  "delayed", "4.3.0", NULL },
};

START_TEST(test_report_structure)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(structure_cases); i++) T_BEGIN {
		const struct structure_case *c = &structure_cases[i];
		const struct mime_part *root, *text_part, *dsn, *headers_part;
		struct alertwall_alert alert;
		const char *msg, *value, *text;
		string_t *str = t_str_new(256);

		test_alert_fill(&alert);
		alert.scope = c->scope;
		alert.nature = c->nature;
		alert.failure.source = c->source;
		alert.failure.smtp_code = c->smtp_code;
		alert.failure.smtp_status = c->smtp_status;
		msg = render(&alert, TEST_RCPT, c->role, 1, NULL,
			     c->orig_headers);
		check_lines(msg, i);
		root = parse_part(msg);
		check_header_block(root->header, i, TRUE);

		describe(root, str);
		ck_assert_msg(strcmp(str_c(str), c->structure) == 0,
			      "case %u: %s", i, str_c(str));
		value = header_get(root->header, "Content-Type");
		ck_assert_msg(strcmp(header_param(value, "report-type"),
				     c->report_type) == 0, "case %u: %s",
			      i, value);
		ck_assert_msg(alertwall_report_is_delivery_status(&alert) ==
			      (strcmp(c->report_type, "delivery-status") == 0),
			      "case %u", i);
		ck_assert_msg(strcmp(header_get(root->header, "Auto-Submitted"),
				     "auto-generated") == 0, "case %u", i);
		ck_assert_msg(strcmp(header_get(root->header, "MIME-Version"),
				     "1.0") == 0, "case %u", i);
		if (c->subject != NULL) {
			ck_assert_msg(strcmp(header_get(root->header, "Subject"),
					     c->subject) == 0, "case %u: %s",
				      i, header_get(root->header, "Subject"));
		}

		/* the human part is always the first leaf */
		text_part = find_part(root, "text/plain");
		ck_assert_msg(text_part != NULL, "case %u", i);
		text = qp_decode(text_part->body);
		ck_assert_msg((strstr(text, INFO_LINE) != NULL) ==
			      (c->role == ALERTWALL_REPORT_ROLE_INFO),
			      "case %u: info line", i);
		ck_assert_msg((strstr(text, "What to do:") != NULL) ==
			      (c->role != ALERTWALL_REPORT_ROLE_INFO),
			      "case %u: action line", i);
		ck_assert_msg(strstr(text, "User:          " TEST_RCPT "\r\n")
			      != NULL, "case %u: %s", i, text);

		dsn = find_part(root, "message/delivery-status");
		ck_assert_msg((dsn != NULL) == (c->dsn_action != NULL),
			      "case %u: dsn", i);
		if (dsn != NULL) {
			const char *rcpt_block = strstr(dsn->body, "\r\n\r\n");

			ck_assert_msg(rcpt_block != NULL, "case %u", i);
			ck_assert_str_eq(header_get(dsn->body, "Reporting-MTA"),
					 "dns; mx1.example.org");
			rcpt_block += 4;
			ck_assert_str_eq(header_get(rcpt_block, "Final-Recipient"),
					 "rfc822; " TEST_RCPT);
			ck_assert_msg(strcmp(header_get(rcpt_block, "Action"),
					     c->dsn_action) == 0, "case %u", i);
			ck_assert_msg(strcmp(header_get(rcpt_block, "Status"),
					     c->dsn_status) == 0, "case %u: %s",
				      i, header_get(rcpt_block, "Status"));
			value = header_get(rcpt_block, "Diagnostic-Code");
			ck_assert_msg(str_begins(value, t_strdup_printf(
				"smtp; %u", c->smtp_code)), "case %u: %s",
				i, value);
			ck_assert_msg(strstr(value, alert.failure.text) != NULL,
				      "case %u: %s", i, value);
		}

		headers_part = find_part(root, "text/rfc822-headers");
		if (headers_part != NULL) {
			ck_assert_msg(strcmp(headers_part->body,
				"Subject: hello\r\nFrom: a@example.org") == 0,
				"case %u: %s", i, headers_part->body);
		}
	} T_END;
}
END_TEST

/* the JSON part carries the given record, or renders one */
START_TEST(test_report_json)
{
	static const char *const records[] = {
		"{\"given\":true,\"x\":\"=?\u00e4\"}\n",
		NULL,
	};
	unsigned int i, source;

	for (source = 0; source < 2; source++)
	for (i = 0; i < N_ELEMENTS(records); i++) T_BEGIN {
		struct alertwall_alert alert;
		const struct mime_part *root, *json;
		string_t *expected = t_str_new(1024);
		const char *msg;

		test_alert_fill(&alert);
		if (source == 1)
			alert.failure.source = ALERTWALL_SOURCE_SYNC;
		msg = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_ADMIN, 1,
			     records[i], NULL);
		root = parse_part(msg);
		json = find_part(root, "application/json");
		ck_assert_msg(json != NULL, "case %u", i);
		if (records[i] != NULL)
			str_append(expected, records[i]);
		else
			alertwall_record_render(&alert, expected);
		/* the part's last line end belongs to the delimiter */
		str_truncate(expected, str_len(expected) - 1);
		ck_assert_msg(strcmp(qp_decode(json->body), str_c(expected)) == 0,
			      "case %u/%u: %s", source, i, qp_decode(json->body));
	} T_END;
}
END_TEST

START_TEST(test_report_headers)
{
	struct alertwall_alert alert;
	const struct mime_part *root;
	const char *msg, *msg2, *msg_id;
	struct alertwall_report_settings set = {
		.from = "Alerts <alerts@example.org>",
		.hostname = "mx1.example.org\r\nX-Evil: 1",
	};
	string_t *str = t_str_new(1024);

	test_alert_fill(&alert);
	msg = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_OWNER, 1, NULL,
		     NULL);
	root = parse_part(msg);
	ck_assert_str_eq(header_get(root->header, "From"),
			 "alertwall <MAILER-DAEMON@mx1.example.org>");
	ck_assert_str_eq(header_get(root->header, "To"), TEST_RCPT);
	ck_assert_str_eq(header_get(root->header, "X-Alertwall-Id"), TEST_ID);
	ck_assert_str_eq(header_get(root->header, "X-Alertwall-Code"),
			 "QUOTA_FULL");
	ck_assert_str_eq(header_get(root->header, "X-Alertwall-Level"), "error");
	ck_assert_str_eq(header_get(root->header, "X-Alertwall-Event"), "raised");
	msg_id = header_get(root->header, "Message-ID");
	ck_assert_str_eq(msg_id, t_strdup_printf("<" TEST_ID ".owner.%08x@alertwall>",
						 crc32_str(TEST_RCPT)));
	ck_assert_str_eq(header_get(root->header, "Date"),
			 message_date_create(TEST_TIME / 1000000));

	/* the same input renders the same mail, so a redelivery is a
	   duplicate */
	msg2 = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_OWNER, 1, NULL,
		      NULL);
	ck_assert_str_eq(msg, msg2);
	/* another recipient or role: another Message-ID */
	root = parse_part(render(&alert, "carol@example.org",
				 ALERTWALL_REPORT_ROLE_OWNER, 1, NULL, NULL));
	ck_assert_str_ne(header_get(root->header, "Message-ID"), msg_id);
	root = parse_part(render(&alert, TEST_RCPT,
				 ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL, NULL));
	ck_assert_str_eq(header_get(root->header, "Message-ID"),
			 t_strdup_printf("<" TEST_ID ".admin.%08x@alertwall>",
					 crc32_str(TEST_RCPT)));
	/* a follow-up of the same alert (reminder, resolved) is another
	   mail, and so is the next reminder */
	alert.event = ALERTWALL_EVENT_REPEATED;
	msg_id = t_strdup(header_get(parse_part(render(&alert, TEST_RCPT,
		ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL, NULL))->header, "Message-ID"));
	ck_assert_str_ne(msg_id, t_strdup_printf("<" TEST_ID ".admin.%08x@alertwall>",
						 crc32_str(TEST_RCPT)));
	alert.time_usecs += 1000000;
	ck_assert_str_ne(header_get(parse_part(render(&alert, TEST_RCPT,
		ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL, NULL))->header, "Message-ID"),
		msg_id);
	alert.event = ALERTWALL_EVENT_RESOLVED;
	ck_assert_str_ne(header_get(parse_part(render(&alert, TEST_RCPT,
		ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL, NULL))->header, "Message-ID"),
		msg_id);
	alert.event = ALERTWALL_EVENT_RAISED;
	alert.time_usecs -= 1000000;

	/* configured sender; a hostname is reduced to host name bytes */
	alertwall_report_render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_ADMIN,
				1, NULL, NULL, &set, str);
	check_lines(str_c(str), 0);
	root = parse_part(str_c(str));
	check_header_block(root->header, 0, TRUE);
	ck_assert_str_eq(header_get(root->header, "From"),
			 "Alerts <alerts@example.org>");
	ck_assert_str_eq(header_get(find_part(root, "message/delivery-status")->body,
				    "Reporting-MTA"), "dns; mx1.example.orgX-Evil1");

	/* other events are named in the Subject */
	alert.event = ALERTWALL_EVENT_RESOLVED;
	root = parse_part(render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_OWNER,
				 1, NULL, NULL));
	ck_assert_str_eq(header_get(root->header, "Subject"),
			 "[alertwall] ERROR QUOTA_FULL: bob@example.org/INBOX "
			 "(resolved)");
	ck_assert_str_eq(header_get(root->header, "X-Alertwall-Event"),
			 "resolved");
	/* nothing to do about a resolved problem */
	ck_assert_ptr_null(strstr(qp_decode(find_part(root, "text/plain")->body),
				  "What to do:"));
}
END_TEST

struct count_case {
	unsigned int count;
	const char *line;
};

static const struct count_case count_cases[] = {
	{ 0, "How often:     once\r\n" },
	{ 1, "How often:     once\r\n" },
	{ 2, "How often:     2 times\r\n" },
	{ 4000000000U, "How often:     4000000000 times\r\n" },
};

START_TEST(test_report_text)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(count_cases); i++) T_BEGIN {
		struct alertwall_alert alert;
		const struct mime_part *root;
		const char *text;

		test_alert_fill(&alert);
		root = parse_part(render(&alert, TEST_RCPT,
					 ALERTWALL_REPORT_ROLE_ADMIN,
					 count_cases[i].count, NULL, NULL));
		text = qp_decode(find_part(root, "text/plain")->body);
		ck_assert_msg(strstr(text, count_cases[i].line) != NULL,
			      "case %u: %s", i, text);
		ck_assert_msg(strstr(text, "What happened: Mailbox of bob is full\r\n") != NULL &&
			      strstr(text, "Mailbox:       INBOX\r\n") != NULL &&
			      strstr(text, "Message:       UID 42, Message-ID <m1@example.org>\r\n") != NULL &&
			      strstr(text, "What to do:    Mailbox owner: delete mail.\r\n") != NULL &&
			      strstr(text, "SMTP reply:    552 5.2.2\r\n") != NULL &&
			      strstr(text, "When:          2026-11-26T19:04:05.123Z\r\n") != NULL,
			      "case %u: %s", i, text);
	} T_END;
}
END_TEST

struct injection_case {
	const char *mailbox;
	const char *message_id;
	const char *user;
	const char *code;
	const char *recipient;
	const char *text;
};

static const struct injection_case injection_cases[] = {
	{ "INBOX\r\nBcc: evil@example.org", NULL, NULL, NULL, NULL, NULL },
	{ "INBOX\nBcc: evil@example.org", NULL, NULL, NULL, NULL, NULL },
	{ "INBOX\rBcc: evil@example.org", NULL, NULL, NULL, NULL, NULL },
	{ "INBOX\r\n\r\nbody", NULL, NULL, NULL, NULL, NULL },
	{ "INBOX\r\n\tBcc: folded", NULL, NULL, NULL, NULL, NULL },
	{ "INBOX\xE2\x80\xA8" "Bcc: evil@example.org", NULL, NULL, NULL, NULL,
	  NULL },
	{ "INBOX\xC2\x85" "Bcc: evil@example.org", NULL, NULL, NULL, NULL,
	  NULL },
	{ NULL, "<a@b>\r\nBcc: evil@example.org", NULL, NULL, NULL, NULL },
	{ NULL, "<a@b>\nX-Evil: 1\n\nbody", NULL, NULL, NULL, NULL },
	{ NULL, NULL, "bob\r\nBcc: evil@example.org", NULL, NULL, NULL },
	{ NULL, NULL, NULL, "CODE\r\nBcc: evil@example.org", NULL, NULL },
	{ NULL, NULL, NULL, NULL, "bob@example.org\r\nBcc: evil@example.org",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL,
	  "text\r\nBcc: evil@example.org\r\n\r\nbody" },
};

static void check_no_injected_lines(const char *text, unsigned int case_idx)
{
	const char *const *lines = split_lines(text);
	unsigned int i;

	for (i = 0; lines[i] != NULL; i++) {
		ck_assert_msg(strncasecmp(lines[i], "Bcc:", 4) != 0 &&
			      strncasecmp(lines[i], "X-Evil:", 7) != 0 &&
			      strcmp(lines[i], "body") != 0,
			      "case %u: injected line %u: %s", case_idx, i,
			      lines[i]);
	}
}

/* no untrusted value starts a line of its own in any header block, in
   the delivery-status fields or in the text for people (the JSON part
   holds them escaped) */
static void
check_no_injection(const struct mime_part *part, unsigned int case_idx)
{
	struct mime_part *const *child;

	check_no_injected_lines(part->header, case_idx);
	if (strcmp(part->type, "message/delivery-status") == 0)
		check_no_injected_lines(part->body, case_idx);
	else if (strcmp(part->type, "text/plain") == 0)
		check_no_injected_lines(qp_decode(part->body), case_idx);
	array_foreach(&part->children, child)
		check_no_injection(*child, case_idx);
}

START_TEST(test_report_injection)
{
	unsigned int i, scope;

	for (scope = 0; scope < ALERTWALL_SCOPE_COUNT; scope++)
	for (i = 0; i < N_ELEMENTS(injection_cases); i++) T_BEGIN {
		const struct injection_case *c = &injection_cases[i];
		struct alertwall_alert alert;
		const struct mime_part *root;
		const char *msg, *value;

		test_alert_fill(&alert);
		alert.scope = scope;
		if (c->mailbox != NULL)
			alert.failure.mailbox = c->mailbox;
		if (c->message_id != NULL)
			alert.failure.message_id = c->message_id;
		if (c->user != NULL)
			alert.failure.user = c->user;
		if (c->code != NULL)
			alert.code = c->code;
		if (c->text != NULL)
			alert.failure.text = c->text;
		msg = render(&alert, c->recipient != NULL ? c->recipient :
			     TEST_RCPT, ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL,
			     NULL);
		check_lines(msg, i);
		root = parse_part(msg);
		check_no_injection(root, i);
		/* Subject lines may be long where a word cannot fold */
		check_header_block(root->header, i, FALSE);
		ck_assert_msg(array_count(&root->children) == 2, "case %u", i);

		/* the decoded Subject is one line too */
		value = header_decode(header_get(root->header, "Subject"));
		ck_assert_msg(strpbrk(value, "\r\n") == NULL,
			      "case %u: %s", i, value);
		if (c->mailbox != NULL && scope != ALERTWALL_SCOPE_PROFILE) {
			ck_assert_msg(strstr(value, "INBOX") != NULL,
				      "case %u: %s", i, value);
			ck_assert_msg((strstr(value, "Bcc") != NULL) ==
				      (strstr(c->mailbox, "Bcc") != NULL),
				      "case %u: %s", i, value);
		}
	} T_END;
}
END_TEST

struct subject_case {
	const char *mailbox;
	/* the Subject after RFC 2047 decoding */
	const char *decoded;
	/* TRUE when the raw Subject must hold an encoded word */
	bool encoded;
};

static const struct subject_case subject_cases[] = {
	{ "INBOX", "[alertwall] ERROR QUOTA_FULL: bob@example.org/INBOX",
	  FALSE },
	{ "Entw\xC3\xBCrfe",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/Entw\xC3\xBCrfe",
	  TRUE },
	{ "\xE8\x8D\x89\xE7\xA8\xBF \xE9\x82\xAE\xE4\xBB\xB6",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/"
	  "\xE8\x8D\x89\xE7\xA8\xBF \xE9\x82\xAE\xE4\xBB\xB6", TRUE },
	/* something that looks like an encoded word is encoded itself,
	   even where it is not a word of its own */
	{ "=?utf-8?q?fake?=",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/=?utf-8?q?fake?=",
	  TRUE },
	{ "x =?utf-8?b?ZmFrZQ==?= y",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/x =?utf-8?b?ZmFrZQ==?= y",
	  TRUE },
	{ "\xC3\xA4 =?utf-8?q?fake?=",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/\xC3\xA4 =?utf-8?q?fake?=",
	  TRUE },
	/* invalid UTF-8 becomes U+FFFD */
	{ "bad\xFF\xFEname",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/bad\xEF\xBF\xBDname",
	  TRUE },
	/* controls become one space */
	{ "a\x01\x02\x1b" "b", "[alertwall] ERROR QUOTA_FULL: bob@example.org/a b",
	  FALSE },
	/* long text with spaces folds, and unfolds to the same */
	{ "one two three four five six seven eight nine ten eleven twelve "
	  "thirteen fourteen fifteen sixteen seventeen eighteen",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/one two three four "
	  "five six seven eight nine ten eleven twelve thirteen fourteen "
	  "fifteen sixteen seventeen eighteen", FALSE },
	{ "\xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6"
	  "\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC "
	  "\xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6"
	  "\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC",
	  "[alertwall] ERROR QUOTA_FULL: bob@example.org/"
	  "\xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6"
	  "\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC "
	  "\xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6"
	  "\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC \xC3\xA4\xC3\xB6\xC3\xBC", TRUE },
};

START_TEST(test_report_subject)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(subject_cases); i++) T_BEGIN {
		const struct subject_case *c = &subject_cases[i];
		struct alertwall_alert alert;
		const struct mime_part *root;
		const char *msg, *raw;

		test_alert_fill(&alert);
		alert.failure.mailbox = c->mailbox;
		msg = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_OWNER, 1,
			     NULL, NULL);
		check_lines(msg, i);
		root = parse_part(msg);
		check_header_block(root->header, i, TRUE);
		raw = header_get(root->header, "Subject");
		ck_assert_msg((strstr(raw, "=?utf-8?") != NULL) == c->encoded,
			      "case %u: %s", i, raw);
		ck_assert_msg(strcmp(header_decode(raw), c->decoded) == 0,
			      "case %u: %s", i, header_decode(raw));
	} T_END;
}
END_TEST

struct orig_headers_case {
	const char *input;
	const char *part;
	const char *cte;
};

static const struct orig_headers_case orig_headers_cases[] = {
	{ "Subject: a\r\nFrom: b\r\n\r\nbody\r\n", "Subject: a\r\nFrom: b",
	  "7bit" },
	/* LF-only line ends, and no body after the empty line */
	{ "Subject: a\nFrom: b\n\nbody\n", "Subject: a\r\nFrom: b", "7bit" },
	/* headers without a body */
	{ "Subject: a\r\nReceived: x\r\n\ty", "Subject: a\r\nReceived: x\r\n y",
	  "7bit" },
	/* bare CRs, controls, whitespace-only lines, invalid UTF-8 */
	{ "Subject: a\rb\x01\x02" "c\r\n \t\r\nX-A: \xFF\r\n\r\n",
	  "Subject: a b c\r\nX-A: \xEF\xBF\xBD", "8bit" },
	{ "Subject: \xC3\xA4\r\n", "Subject: \xC3\xA4", "8bit" },
};

START_TEST(test_report_orig_headers)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(orig_headers_cases); i++) T_BEGIN {
		const struct orig_headers_case *c = &orig_headers_cases[i];
		struct alertwall_alert alert;
		const struct mime_part *root, *part;
		const char *msg;

		test_alert_fill(&alert);
		alert.scope = ALERTWALL_SCOPE_EMAIL;
		msg = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_ADMIN, 1,
			     NULL, c->input);
		check_lines(msg, i);
		root = parse_part(msg);
		part = find_part(root, "text/rfc822-headers");
		ck_assert_msg(part != NULL, "case %u", i);
		ck_assert_msg(strcmp(part->body, c->part) == 0,
			      "case %u: %s", i, part->body);
		ck_assert_msg(strcmp(header_get(part->header,
				"Content-Transfer-Encoding"), c->cte) == 0,
			      "case %u: encoding", i);
	} T_END;
}
END_TEST

/* huge headers are cut at a line end below the limit; a delimiter line
   planted in them changes the boundary instead of splitting the mail */
START_TEST(test_report_orig_headers_hostile)
{
	struct alertwall_alert alert;
	const struct mime_part *root, *part;
	string_t *input = t_str_new(65536);
	const char *msg, *boundary;
	unsigned int i;

	test_alert_fill(&alert);
	alert.scope = ALERTWALL_SCOPE_EMAIL;
	alert.failure.source = ALERTWALL_SOURCE_SAVE;
	str_append(input, "--=_aw_report_" TEST_ID "\r\n"
		   "Content-Type: text/plain\r\n"
		   "--=_aw_report_" TEST_ID ".1--\r\n");
	for (i = 0; str_len(input) < 40000; i++)
		str_printfa(input, "X-Filler-%u: %s\r\n", i,
			    test_fill(i % 900, 'x'));
	msg = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL,
		     str_c(input));
	check_lines(msg, 0);
	root = parse_part(msg);
	boundary = header_param(header_get(root->header, "Content-Type"),
				"boundary");
	ck_assert_str_eq(boundary, "=_aw_report_" TEST_ID ".2");
	ck_assert_uint_eq(array_count(&root->children), 3);
	part = find_part(root, "text/rfc822-headers");
	ck_assert_ptr_nonnull(part);
	/* the part's body plus its final CRLF */
	ck_assert_uint_le(strlen(part->body) + 2,
			  ALERTWALL_REPORT_ORIG_HEADERS_MAX);
	ck_assert_uint_gt(strlen(part->body) + 2,
			  ALERTWALL_REPORT_ORIG_HEADERS_MAX - 1000);
	ck_assert(str_begins(part->body, "--=_aw_report_" TEST_ID "\r\n"));
	/* cut at a line end: the last line is a whole filler line */
	{
		const char *last = strrchr(part->body, '\n') + 1;
		unsigned int n;
		const char *colon = strchr(last, ':');

		ck_assert(sscanf(last, "X-Filler-%u:", &n) == 1);
		ck_assert_uint_eq(strlen(colon + 2), n % 900);
	}
}
END_TEST

/* a very long line in the original headers is cut to the line limit */
START_TEST(test_report_orig_headers_long_line)
{
	struct alertwall_alert alert;
	const struct mime_part *root, *part;
	const char *msg;

	test_alert_fill(&alert);
	alert.scope = ALERTWALL_SCOPE_EMAIL;
	msg = render(&alert, TEST_RCPT, ALERTWALL_REPORT_ROLE_ADMIN, 1, NULL,
		     t_strconcat("X-Long: ", test_fill(5000, 'y'), "\r\n",
				 "Subject: s\r\n", NULL));
	check_lines(msg, 0);
	root = parse_part(msg);
	part = find_part(root, "text/rfc822-headers");
	ck_assert_ptr_nonnull(part);
	/* 998 bytes, the last three of them the cut marker */
	ck_assert_uint_eq(strchr(part->body, '\r') - part->body, 998);
	ck_assert(strncmp(part->body + 995, "...\r\n", 5) == 0);
	ck_assert_str_eq(strchr(part->body, '\r'), "\r\nSubject: s");
}
END_TEST

/* summary lengths that put a space at each column near the end of a
   quoted-printable line, where a space is written as "=20" before the
   soft break; found by fuzz/fuzz-report.c */
static const unsigned int qp_space_cases[] = {
	50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65
};

START_TEST(test_report_qp_line_length)
{
	static const char *const part_types[] = {
		"text/plain", "application/json"
	};
	unsigned int i, j, role;

	for (i = 0; i < N_ELEMENTS(qp_space_cases); i++) T_BEGIN {
		struct alertwall_alert alert;
		const struct mime_part *root, *part;
		const char *const *lines;

		test_alert_fill(&alert);
		alert.failure.source = ALERTWALL_SOURCE_SYNC;
		alert.summary = t_strconcat(test_fill(qp_space_cases[i], 's'),
					    " and the rest of the summary",
					    NULL);
		for (role = 0; role < ALERTWALL_REPORT_ROLE_COUNT; role++) {
			root = parse_part(render(&alert, TEST_RCPT, role, 1,
						 NULL, NULL));
			for (j = 0; j < N_ELEMENTS(part_types); j++) {
				part = find_part(root, part_types[j]);
				ck_assert_msg(part != NULL, "case %u", i);
				/* RFC 2045: at most 76 characters */
				for (lines = split_lines(part->body);
				     *lines != NULL; lines++) {
					ck_assert_msg(strlen(*lines) <= 76,
						"case %u role %u %s: line of "
						"%zu: %s", i, role,
						part_types[j], strlen(*lines),
						*lines);
				}
			}
		}
	} T_END;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_report_structure);
	tcase_add_test(tc, test_report_json);
	tcase_add_test(tc, test_report_headers);
	tcase_add_test(tc, test_report_text);
	tcase_add_test(tc, test_report_injection);
	tcase_add_test(tc, test_report_subject);
	tcase_add_test(tc, test_report_orig_headers);
	tcase_add_test(tc, test_report_orig_headers_hostile);
	tcase_add_test(tc, test_report_orig_headers_long_line);
	tcase_add_test(tc, test_report_qp_line_length);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
