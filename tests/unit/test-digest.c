/* Copyright (c) 2026 alertwall authors */

/* The digest mail: headers, the text part's sections, the JSON part
   (valid, with every section), the per-owner view (profiles), hostile
   strings kept out of the headers, and line lengths. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "istream.h"
#include "json-parser.h"
#include "qp-decoder.h"
#include "test-alertwall.h"
#include "alertwall-digest.h"

#define NOW 1800000000
/* 2027-01-15T08:00:00Z */
#define NOW_STR "2027-01-15T08:00:00Z"
#define HOUR_AGO_STR "2027-01-15T07:00:00Z"

static const struct alertwall_digest_open open_alerts[] = {
	{ "1aaaaaaaaaaaaaaaaaaaaaaaaa", "PERMISSION_DENIED", "permanent",
	  "permanent", "mailbox", "bob", "INBOX", "default", 3,
	  NOW - 600, NOW - 60, TRUE },
	{ "1bbbbbbbbbbbbbbbbbbbbbbbbb", "MAILBOX_QUOTA_EXCEEDED", "open",
	  "transient", "mailbox", "alice", "INBOX", "nfs-a", 1,
	  NOW - 300, NOW - 300, FALSE },
	{ "1ccccccccccccccccccccccccc", "STORAGE_DISK_FULL", "open",
	  "transient", "profile", NULL, NULL, "nfs-a", 12,
	  NOW - 200, NOW - 20, FALSE },
};

static const struct alertwall_digest_new new_alerts[] = {
	{ "2027-01-15T07:50:00.000Z", "1aaaaaaaaaaaaaaaaaaaaaaaaa", "raised",
	  "error", "PERMISSION_DENIED", "mailbox", "bob", "INBOX", "default",
	  "Permission denied on bob/INBOX" },
	{ "2027-01-15T07:55:00.000Z", "1bbbbbbbbbbbbbbbbbbbbbbbbb", "raised",
	  "warning", "MAILBOX_QUOTA_EXCEEDED", "mailbox", "alice", "INBOX",
	  "nfs-a", "Quota exceeded" },
	{ "2027-01-15T07:56:00.000Z", "1ddddddddddddddddddddddddd", "raised",
	  "warning", "MAILBOX_QUOTA_EXCEEDED", "mailbox", "quinn", "INBOX",
	  "nfs-a", "Quota exceeded" },
};

static const struct alertwall_silence silences[] = {
	{ "1eeeeeeeeeeeeeeeeeeeeeeeee", ALERTWALL_SILENCE_CODE,
	  "MAILBOX_QUOTA_EXCEEDED", NOW - 10, NOW + 3600, "moving quotas" },
};

struct mail_parts {
	const char *headers;
	const char *text;
	const char *json;
};

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
	/* the parts travel with CRLF line ends; compare with LF */
	string_t *str = t_str_new(buf->used + 1);
	const unsigned char *data = buf->data;
	size_t i;

	for (i = 0; i < buf->used; i++) {
		if (data[i] != '\r')
			str_append_c(str, data[i]);
	}
	return str_c(str);
}

/* the body of the part after content_type, up to the next boundary */
static const char *part_body(const char *mail, const char *content_type)
{
	const char *p = strstr(mail, content_type), *end;

	ck_assert_msg(p != NULL, "no %s part", content_type);
	p = strstr(p, "\r\n\r\n");
	ck_assert_ptr_nonnull(p);
	p += 4;
	end = strstr(p, "\r\n--=_alertwall_digest_");
	ck_assert_ptr_nonnull(end);
	return t_strdup_until(p, end);
}

static void digest_split(const char *mail, struct mail_parts *parts_r)
{
	const char *p = strstr(mail, "\r\n\r\n");

	ck_assert_ptr_nonnull(p);
	parts_r->headers = t_strdup_until(mail, p + 2);
	parts_r->text = qp_decode(part_body(mail, "Content-Type: text/plain"));
	parts_r->json = qp_decode(part_body(mail,
				"Content-Type: application/json"));
}

static void assert_json_valid(const char *json)
{
	struct istream *input = i_stream_create_from_data(json, strlen(json));
	struct json_parser *parser = json_parser_init(input);
	enum json_type type;
	const char *value, *error;

	while (json_parse_next(parser, &type, &value) > 0) ;
	ck_assert_msg(json_parser_deinit(&parser, &error) == 0,
		      "invalid JSON (%s): %s", error, json);
	i_stream_unref(&input);
}

static void assert_lines_short(const char *mail)
{
	const char *const *lines = t_strsplit(mail, "\n");
	unsigned int i;

	for (i = 0; lines[i] != NULL; i++) {
		ck_assert_msg(strlen(lines[i]) <= 998, "line %u has %zu bytes",
			      i, strlen(lines[i]));
		/* every line ends in CRLF */
		if (lines[i + 1] != NULL) {
			size_t len = strlen(lines[i]);
			ck_assert_msg(len > 0 && lines[i][len - 1] == '\r',
				      "line %u is not CRLF", i);
		}
	}
}

static void fill(struct alertwall_digest *digest, const char *profile)
{
	unsigned int i;

	alertwall_digest_init(digest, pool_datastack_create());
	digest->id = "1fffffffffffffffffffffffff";
	digest->kind = "hourly";
	digest->recipient = "admin";
	digest->since = NOW - 3600;
	digest->now = NOW;
	digest->hostname = "mx.example.test";
	for (i = 0; i < N_ELEMENTS(open_alerts); i++) {
		if (profile == NULL ||
		    null_strcmp(open_alerts[i].profile, profile) == 0)
			array_push_back(&digest->open, &open_alerts[i]);
	}
	for (i = 0; i < N_ELEMENTS(new_alerts); i++) {
		if (profile == NULL ||
		    null_strcmp(new_alerts[i].profile, profile) == 0)
			array_push_back(&digest->new_alerts, &new_alerts[i]);
	}
	for (i = 0; i < N_ELEMENTS(silences); i++)
		array_push_back(&digest->silences, &silences[i]);
}

static const char *const admin_header_lines[] = {
	"From: alertwall <MAILER-DAEMON@mx.example.test>\r\n",
	"To: admin\r\n",
	"Subject: [alertwall] hourly digest: 3 open, 1 suspended, 3 new\r\n",
	"Message-ID: <1fffffffffffffffffffffffff.digest.",
	"Auto-Submitted: auto-generated\r\n",
	"X-Alertwall-Id: 1fffffffffffffffffffffffff\r\n",
	"X-Alertwall-Event: digest\r\n",
	"X-Alertwall-Digest: hourly\r\n",
	"Content-Type: multipart/mixed;\r\n",
};

static const char *const admin_text_lines[] = {
	"alertwall hourly digest for admin on mx.example.test\n",
	"Period: " HOUR_AGO_STR " .. " NOW_STR " (no earlier digest)\n",
	"Covers: every alert\n",
	"Open alerts: 3\n",
	"  PERMISSION_DENIED permanent mailbox bob/INBOX "
	"1aaaaaaaaaaaaaaaaaaaaaaaaa total=3 last_seen=2027-01-15T07:59:00Z "
	"SUSPENDED\n",
	"  STORAGE_DISK_FULL open profile profile nfs-a "
	"1ccccccccccccccccccccccccc total=12",
	"Suspended mailboxes: 1\n",
	"  bob PERMISSION_DENIED (alert 1aaaaaaaaaaaaaaaaaaaaaaaaa)\n",
	"New alerts in the period: 3\n",
	"  2027-01-15T07:56:00.000Z raised warning MAILBOX_QUOTA_EXCEEDED "
	"quinn/INBOX: Quota exceeded\n",
	"Top codes in the period:\n"
	"       2 MAILBOX_QUOTA_EXCEEDED\n"
	"       1 PERMISSION_DENIED\n",
	"Active silences: 1\n"
	"  1eeeeeeeeeeeeeeeeeeeeeeeee code=MAILBOX_QUOTA_EXCEEDED until "
	"2027-01-15T09:00:00Z: moving quotas\n",
};

static const char *const admin_json_members[] = {
	"{\"digest\":\"hourly\",\"recipient\":\"admin\",\"profiles\":null,"
	"\"since\":\"" HOUR_AGO_STR "\",\"until\":\"" NOW_STR "\","
	"\"since_last\":false",
	"{\"id\":\"1aaaaaaaaaaaaaaaaaaaaaaaaa\",\"code\":\"PERMISSION_DENIED\","
	"\"status\":\"permanent\",\"nature\":\"permanent\",\"scope\":\"mailbox\","
	"\"user\":\"bob\",\"mailbox\":\"INBOX\",\"profile\":\"default\","
	"\"total\":3,",
	"\"suspended\":true}",
	"\"user\":null,\"mailbox\":null,\"profile\":\"nfs-a\"",
	"\"suspended\":[\n{\"user\":\"bob\",\"code\":\"PERMISSION_DENIED\","
	"\"id\":\"1aaaaaaaaaaaaaaaaaaaaaaaaa\"}]",
	"\"new_total\":3",
	"\"top_codes\":[\n{\"code\":\"MAILBOX_QUOTA_EXCEEDED\",\"count\":2},\n"
	"{\"code\":\"PERMISSION_DENIED\",\"count\":1}]",
	"\"silences\":[\n{\"id\":\"1eeeeeeeeeeeeeeeeeeeeeeeee\","
	"\"selector\":\"code=MAILBOX_QUOTA_EXCEEDED\","
	"\"expires\":\"2027-01-15T09:00:00Z\",\"reason\":\"moving quotas\"}]",
};

START_TEST(test_digest_admin)
{
	struct alertwall_digest digest;
	struct mail_parts parts;
	string_t *mail = t_str_new(8192);
	unsigned int i;

	fill(&digest, NULL);
	ck_assert_uint_eq(alertwall_digest_suspended_count(&digest), 1);
	alertwall_digest_render(&digest, mail);
	assert_lines_short(str_c(mail));
	digest_split(str_c(mail), &parts);
	for (i = 0; i < N_ELEMENTS(admin_header_lines); i++) {
		ck_assert_msg(strstr(parts.headers, admin_header_lines[i]) != NULL,
			      "header %u: %s", i, parts.headers);
	}
	for (i = 0; i < N_ELEMENTS(admin_text_lines); i++) {
		ck_assert_msg(strstr(parts.text, admin_text_lines[i]) != NULL,
			      "text %u: %s", i, parts.text);
	}
	assert_json_valid(parts.json);
	for (i = 0; i < N_ELEMENTS(admin_json_members); i++) {
		ck_assert_msg(strstr(parts.json, admin_json_members[i]) != NULL,
			      "json %u: %s", i, parts.json);
	}
}
END_TEST

START_TEST(test_digest_owner)
{
	struct alertwall_digest digest;
	struct mail_parts parts;
	string_t *mail = t_str_new(8192);

	fill(&digest, "nfs-a");
	digest.recipient = "storage-team";
	digest.profiles = "nfs-a";
	digest.since_last = TRUE;
	alertwall_digest_render(&digest, mail);
	digest_split(str_c(mail), &parts);
	ck_assert_ptr_nonnull(strstr(parts.headers, "Subject: [alertwall] "
		"hourly digest: 2 open, 0 suspended, 2 new\r\n"));
	ck_assert_ptr_nonnull(strstr(parts.text, "Covers: the alerts of "
				     "profile(s) nfs-a\n"));
	ck_assert_ptr_nonnull(strstr(parts.text, "(since the last digest)"));
	ck_assert_ptr_nonnull(strstr(parts.text, "Suspended mailboxes: 0\n"));
	/* other profiles' alerts are not in it */
	ck_assert_ptr_null(strstr(parts.text, "PERMISSION_DENIED"));
	ck_assert_ptr_null(strstr(parts.text, "bob"));
	assert_json_valid(parts.json);
	ck_assert_ptr_nonnull(strstr(parts.json, "\"profiles\":[\"nfs-a\"]"));
	ck_assert_ptr_nonnull(strstr(parts.json, "\"since_last\":true"));
	ck_assert_ptr_nonnull(strstr(parts.json, "\"suspended\":[]"));
}
END_TEST

START_TEST(test_digest_hostile)
{
	static const struct alertwall_digest_new hostile = {
		"2027-01-15T07:57:00.000Z", "1ggggggggggggggggggggggggg",
		"raised", "error", "X\r\nBcc: victim@example.org",
		"mailbox", "mallory\r\nBcc: victim@example.org", "IN\"BOX",
		"default", NULL
	};
	struct alertwall_digest_new *rec;
	struct alertwall_digest digest;
	struct mail_parts parts;
	string_t *mail = t_str_new(8192), *summary = t_str_new(4096);
	const char *const *lines;
	unsigned int i;

	fill(&digest, NULL);
	digest.recipient = "admin\r\nBcc: victim@example.org";
	digest.from = "x\nBcc: victim@example.org";
	for (i = 0; i < 3000; i++)
		str_append_c(summary, 'a' + i % 26);
	rec = array_append_space(&digest.new_alerts);
	*rec = hostile;
	rec->summary = str_c(summary);
	alertwall_digest_render(&digest, mail);
	assert_lines_short(str_c(mail));
	digest_split(str_c(mail), &parts);
	/* no header line was injected */
	lines = t_strsplit(parts.headers, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		ck_assert_msg(strncasecmp(lines[i], "Bcc:", 4) != 0,
			      "injected: %s", parts.headers);
	}
	/* nor a text line */
	lines = t_strsplit(parts.text, "\n");
	for (i = 0; lines[i] != NULL; i++) {
		ck_assert_msg(!str_begins(lines[i], "Bcc:"), "injected: %s",
			      lines[i]);
	}
	assert_json_valid(parts.json);
	ck_assert_ptr_nonnull(strstr(parts.json, "\"mailbox\":\"IN\\\"BOX\""));
	ck_assert_ptr_nonnull(strstr(parts.text, "New alerts in the "
				     "period: 4\n"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("digest");

	tcase_add_test(tc, test_digest_admin);
	tcase_add_test(tc, test_digest_owner);
	tcase_add_test(tc, test_digest_hostile);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
