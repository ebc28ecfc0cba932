/* Copyright (c) 2026 alertwall authors */

/* tests for the alert model (alertwall-alert.c) and the sidecar record
   renderer (alertwall-record.c): ids, field order, nulls, escaping and
   the 4000 byte bound */

#include "lib.h"
#include "str.h"
#include "unichar.h"
#include "mail-error.h"
#include "alertwall-json.h"
#include "alertwall-record.h"
#include "test-alertwall.h"

#include <ctype.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#define MARKER ALERTWALL_JSON_TRUNCATED_MARKER
/* 2026-11-26T19:04:05.123456Z */
#define TEST_TIME 1795719845123456LL
#define TEST_ID "01abcdefghijklmnopqrstuv23"

static const char *const field_names[] = {
	"time", "id", "event", "code", "nature", "level", "scope", "user",
	"mailbox", "uid", "guid", "message_id", "profile", "service",
	"session", "host", "source", "mail_error", "errno", "smtp", "text",
	"action", "summary"
};

/* A strict little reader for one record line: returns the number of
   fields, with names and raw values (string literals keep their quotes),
   or -1 with the reason when the line is not a flat JSON object of
   strings, numbers and nulls. */
static int
parse_record(const char *line, const char **names_r, const char **values_r,
	     unsigned int max_fields, const char **error_r)
{
	const char *p = line, *start;
	unsigned int count = 0;

	if (*p++ != '{') {
		*error_r = "no {";
		return -1;
	}
	for (;;) {
		if (count == max_fields) {
			*error_r = "too many fields";
			return -1;
		}
		if (*p++ != '"') {
			*error_r = "no key";
			return -1;
		}
		start = p;
		while (*p != '"' && *p != '\0')
			p++;
		if (*p == '\0') {
			*error_r = "unterminated key";
			return -1;
		}
		names_r[count] = t_strdup_until(start, p);
		p++;
		if (*p++ != ':') {
			*error_r = "no colon";
			return -1;
		}
		start = p;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if ((unsigned char)*p < 0x20) {
					*error_r = "raw control byte";
					return -1;
				}
				if (*p != '\\')
					continue;
				p++;
				if (*p == 'u') {
					unsigned int i;

					for (i = 1; i <= 4; i++) {
						if (!i_isxdigit(p[i])) {
							*error_r = "bad \\u";
							return -1;
						}
					}
					p += 4;
				} else if (strchr("\"\\/bfnrt", *p) == NULL ||
					   *p == '\0') {
					*error_r = "bad escape";
					return -1;
				}
			}
			p++;
		} else if (strncmp(p, "null", 4) == 0) {
			p += 4;
		} else if (*p >= '1' && *p <= '9') {
			while (i_isdigit(*p))
				p++;
		} else {
			*error_r = "bad value";
			return -1;
		}
		values_r[count++] = t_strdup_until(start, p);
		if (*p == '}')
			break;
		if (*p++ != ',') {
			*error_r = "no comma";
			return -1;
		}
	}
	if (strcmp(p, "}\n") != 0) {
		*error_r = "junk after the object";
		return -1;
	}
	return count;
}

/* parse and check the field names and order; returns the values */
static const char *const *check_record(const char *line, unsigned int case_idx)
{
	const char **names, **values;
	const char *error = NULL;
	unsigned int i;
	int count;

	names = t_new(const char *, N_ELEMENTS(field_names) + 1);
	values = t_new(const char *, N_ELEMENTS(field_names) + 1);
	count = parse_record(line, names, values, N_ELEMENTS(field_names) + 1,
			     &error);
	ck_assert_msg(count >= 0, "case %u: %s: %s", case_idx, error, line);
	ck_assert_msg((unsigned int)count == N_ELEMENTS(field_names),
		      "case %u: %d fields", case_idx, count);
	for (i = 0; i < N_ELEMENTS(field_names); i++) {
		ck_assert_msg(strcmp(names[i], field_names[i]) == 0,
			      "case %u: field %u is %s", case_idx, i,
			      names[i]);
	}
	ck_assert_msg(uni_utf8_str_is_valid(line), "case %u: UTF-8", case_idx);
	ck_assert_msg(strlen(line) <= ALERTWALL_RECORD_MAX_SIZE,
		      "case %u: %zu bytes", case_idx, strlen(line));
	ck_assert_msg(strchr(line, '\n') == line + strlen(line) - 1,
		      "case %u: not one line", case_idx);
	return values;
}

static unsigned int field_idx(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(field_names); i++) {
		if (strcmp(field_names[i], name) == 0)
			return i;
	}
	i_unreached();
}

static void test_alert_fill(struct alertwall_alert *alert)
{
	i_zero(alert);
	alert->id = TEST_ID;
	alert->time_usecs = TEST_TIME;
	alert->event = ALERTWALL_EVENT_ESCALATED;
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
	alert->failure.errno_value = EDQUOT;
	alert->failure.text = "Quota exceeded (mailbox for user is full)";
	alert->failure.smtp_code = 552;
	alert->failure.smtp_status = "5.2.2";
	alert->failure.user = "bob@example.org";
	alert->failure.mailbox = "INBOX";
	alert->failure.uid = 42;
	alert->failure.guid = "0b1c2d3e4f";
	alert->failure.message_id = "<m1@example.org>";
	alert->failure.service = "lmtp";
	alert->failure.session = "abc123";
	alert->failure.host = "mx1";
}

START_TEST(test_record_exact)
{
	static const char *const expected_full =
		"{\"time\":\"2026-11-26T19:04:05.123Z\","
		"\"id\":\"" TEST_ID "\",\"event\":\"escalated\","
		"\"code\":\"QUOTA_FULL\",\"nature\":\"permanent\","
		"\"level\":\"error\",\"scope\":\"mailbox\","
		"\"user\":\"bob@example.org\",\"mailbox\":\"INBOX\","
		"\"uid\":42,\"guid\":\"0b1c2d3e4f\","
		"\"message_id\":\"<m1@example.org>\",\"profile\":\"default\","
		"\"service\":\"lmtp\",\"session\":\"abc123\",\"host\":\"mx1\","
		"\"source\":\"delivery\",\"mail_error\":\"NOQUOTA\","
		"\"errno\":\"EDQUOT\",\"smtp\":\"552 5.2.2\","
		"\"text\":\"Quota exceeded (mailbox for user is full)\","
		"\"action\":\"Mailbox owner: delete mail.\","
		"\"summary\":\"Mailbox of bob is full\"}\n";
	static const char *const expected_unknown =
		"{\"time\":\"1970-01-01T00:00:00.000Z\","
		"\"id\":null,\"event\":\"raised\","
		"\"code\":null,\"nature\":\"transient\","
		"\"level\":\"info\",\"scope\":\"email\","
		"\"user\":null,\"mailbox\":null,\"uid\":null,\"guid\":null,"
		"\"message_id\":null,\"profile\":null,\"service\":null,"
		"\"session\":null,\"host\":null,\"source\":\"sync\","
		"\"mail_error\":null,\"errno\":null,\"smtp\":null,"
		"\"text\":null,\"action\":null,\"summary\":null}\n";
	struct alertwall_alert alert;
	string_t *str = t_str_new(1024);

	test_alert_fill(&alert);
	str_append(str, "prefix ");
	alertwall_record_render(&alert, str);
	ck_assert_str_eq(str_c(str) + 7, expected_full);
	(void)check_record(str_c(str) + 7, 0);

	i_zero(&alert);
	alertwall_failure_init(&alert.failure, ALERTWALL_SOURCE_SYNC);
	str_truncate(str, 0);
	alertwall_record_render(&alert, str);
	ck_assert_str_eq(str_c(str), expected_unknown);
	(void)check_record(str_c(str), 1);
}
END_TEST

struct value_case {
	/* what to change in the test alert */
	int mail_error;
	int errno_value;
	unsigned int smtp_code;
	const char *smtp_status;
	/* expected raw JSON values */
	const char *mail_error_json;
	const char *errno_json;
	const char *smtp_json;
};

static const struct value_case value_cases[] = {
	{ MAIL_ERROR_NOQUOTA, EDQUOT, 552, "5.2.2", "\"NOQUOTA\"", "\"EDQUOT\"", "\"552 5.2.2\"" },
	{ 0, 0, 0, NULL, "\"NONE\"", "null", "null" },
	{ -1, 0, 451, NULL, "null", "null", "\"451\"" },
	{ -1, 0, 451, "", "null", "null", "\"451\"" },
	/* out of range or unnamed numbers keep their value */
	{ 99, 4321, 0, "4.2.2", "\"99\"", "\"4321\"", "null" },
	{ 1, -5, 452, "4.2.2\r\nX: y", "\"TEMP\"", "\"-5\"",
	  "\"452 4.2.2\\u000d\\u000aX: y\"" },
};

START_TEST(test_record_values)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(value_cases); i++) T_BEGIN {
		const struct value_case *c = &value_cases[i];
		struct alertwall_alert alert;
		const char *const *values;
		string_t *str = t_str_new(1024);

		test_alert_fill(&alert);
		alert.failure.mail_error = c->mail_error;
		alert.failure.errno_value = c->errno_value;
		alert.failure.smtp_code = c->smtp_code;
		alert.failure.smtp_status = c->smtp_status;
		alertwall_record_render(&alert, str);
		values = check_record(str_c(str), i);
		ck_assert_msg(strcmp(values[field_idx("mail_error")],
				     c->mail_error_json) == 0,
			      "case %u: mail_error %s", i,
			      values[field_idx("mail_error")]);
		ck_assert_msg(strcmp(values[field_idx("errno")],
				     c->errno_json) == 0,
			      "case %u: errno %s", i, values[field_idx("errno")]);
		ck_assert_msg(strcmp(values[field_idx("smtp")],
				     c->smtp_json) == 0,
			      "case %u: smtp %s", i, values[field_idx("smtp")]);
	} T_END;
}
END_TEST

/* hostile values stay inside their field and the line stays one line */
START_TEST(test_record_hostile)
{
	struct alertwall_alert alert;
	const char *const *values;
	string_t *str = t_str_new(1024);

	test_alert_fill(&alert);
	alert.failure.text = "line1\nline2\"}\n{\"injected\":1,\"x\":\"\xFF\xC0\xAF";
	alert.failure.mailbox = "Sent\x1b[2J\xE2\x80\xA8";
	alert.failure.message_id = "<a\\\"@b>";
	alertwall_record_render(&alert, str);
	values = check_record(str_c(str), 0);
	ck_assert_str_eq(values[field_idx("text")],
			 "\"line1\\u000aline2\\\"}\\u000a{\\\"injected\\\":1,"
			 "\\\"x\\\":\\\"\xEF\xBF\xBD\"");
	ck_assert_str_eq(values[field_idx("mailbox")],
			 "\"Sent\\u001b[2J\\u2028\"");
	ck_assert_str_eq(values[field_idx("message_id")],
			 "\"<a\\\\\\\"@b>\"");
}
END_TEST

struct cap_case {
	/* fields made huge, by name */
	const char *fields[8];
	size_t size;
	/* fields that must come out whole */
	const char *intact[4];
};

static const struct cap_case cap_cases[] = {
	{ { "text" }, 1024 * 1024, { "mailbox", "message_id", "summary", "user" } },
	{ { "text" }, 3800, { "mailbox", "message_id", "summary", "user" } },
	{ { "mailbox" }, 1024 * 1024, { "text", "message_id", "user" } },
	{ { "text", "summary" }, 100000, { "mailbox", "message_id" } },
	{ { "text", "summary", "mailbox", "message_id", "user", "guid",
	    "session", "host" }, 100000, { "code" } },
};

static const char **alert_field_ptr(struct alertwall_alert *alert,
				    const char *name)
{
	if (strcmp(name, "text") == 0) return &alert->failure.text;
	if (strcmp(name, "summary") == 0) return &alert->summary;
	if (strcmp(name, "mailbox") == 0) return &alert->failure.mailbox;
	if (strcmp(name, "message_id") == 0) return &alert->failure.message_id;
	if (strcmp(name, "user") == 0) return &alert->failure.user;
	if (strcmp(name, "guid") == 0) return &alert->failure.guid;
	if (strcmp(name, "session") == 0) return &alert->failure.session;
	if (strcmp(name, "host") == 0) return &alert->failure.host;
	if (strcmp(name, "code") == 0) return &alert->code;
	i_unreached();
}

static const char *huge_value(size_t size)
{
	/* multibyte characters, quotes and controls: the cap must not cut
	   inside any of them */
	static const char unit[] = "\xE2\x82\xAC\"\x01x\xF0\x9F\x93\xAC\\";
	string_t *str = t_str_new(size + sizeof(unit));

	while (str_len(str) < size)
		str_append(str, unit);
	return str_c(str);
}

START_TEST(test_record_caps)
{
	unsigned int i, j;

	for (i = 0; i < N_ELEMENTS(cap_cases); i++) T_BEGIN {
		const struct cap_case *c = &cap_cases[i];
		struct alertwall_alert alert, orig;
		const char *const *values;
		const char *huge = huge_value(c->size);
		string_t *str = t_str_new(4096);
		string_t *whole = t_str_new(256);

		test_alert_fill(&alert);
		orig = alert;
		for (j = 0; j < N_ELEMENTS(c->fields) && c->fields[j] != NULL; j++)
			*alert_field_ptr(&alert, c->fields[j]) = huge;
		alertwall_record_render(&alert, str);
		values = check_record(str_c(str), i);

		for (j = 0; j < N_ELEMENTS(c->fields) && c->fields[j] != NULL; j++) {
			const char *v = values[field_idx(c->fields[j])];
			size_t len = strlen(v);

			ck_assert_msg(len > strlen(MARKER) + 2 &&
				      strcmp(v + len - strlen(MARKER) - 1,
					     MARKER "\"") == 0,
				      "case %u: %s not cut", i, c->fields[j]);
		}
		for (j = 0; j < N_ELEMENTS(c->intact) && c->intact[j] != NULL; j++) {
			str_truncate(whole, 0);
			alertwall_json_append_string(
				whole, *alert_field_ptr(&orig, c->intact[j]));
			ck_assert_msg(strcmp(values[field_idx(c->intact[j])],
					     str_c(whole)) == 0,
				      "case %u: %s was cut", i, c->intact[j]);
		}
		/* the cut leaves the space it can: the line is near the
		   limit, not far below it */
		ck_assert_msg(str_len(str) > ALERTWALL_RECORD_MAX_SIZE - 64,
			      "case %u: only %zu bytes", i, str_len(str));
	} T_END;
}
END_TEST

/* every field huge at once: the bound still holds */
START_TEST(test_record_all_huge)
{
	struct alertwall_alert alert;
	string_t *str = t_str_new(4096);
	const char *huge = huge_value(20000);

	test_alert_fill(&alert);
	alert.id = alert.code = alert.summary = alert.action = huge;
	alert.profile = huge;
	alert.failure.text = alert.failure.smtp_status = huge;
	alert.failure.user = alert.failure.mailbox = huge;
	alert.failure.guid = alert.failure.message_id = huge;
	alert.failure.service = alert.failure.session = huge;
	alert.failure.host = huge;
	alertwall_record_render(&alert, str);
	(void)check_record(str_c(str), 0);
}
END_TEST

struct time_case {
	long long usecs;
	const char *expected;
};

static const struct time_case time_cases[] = {
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ 999, "1970-01-01T00:00:00.000Z" },
	{ 1000, "1970-01-01T00:00:00.001Z" },
	{ TEST_TIME, "2026-11-26T19:04:05.123Z" },
	{ 1795719845999999LL, "2026-11-26T19:04:05.999Z" },
	{ 951782400000000LL, "2000-02-29T00:00:00.000Z" },
	{ -1, "1969-12-31T23:59:59.999Z" },
};

START_TEST(test_record_time)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(time_cases); i++) T_BEGIN {
		string_t *str = t_str_new(32);

		alertwall_record_append_time(time_cases[i].usecs, str);
		ck_assert_msg(strcmp(str_c(str), time_cases[i].expected) == 0,
			      "case %u: %s", i, str_c(str));
	} T_END;
}
END_TEST

START_TEST(test_event_names)
{
	static const struct {
		enum alertwall_event event;
		const char *name;
	} cases[] = {
		{ ALERTWALL_EVENT_RAISED, "raised" },
		{ ALERTWALL_EVENT_REPEATED, "repeated" },
		{ ALERTWALL_EVENT_ESCALATED, "escalated" },
		{ ALERTWALL_EVENT_RESOLVED, "resolved" },
		{ ALERTWALL_EVENT_DISMISSED, "dismissed" },
		{ ALERTWALL_EVENT_SUSPENDED, "suspended" },
		{ ALERTWALL_EVENT_ENABLED, "enabled" },
		{ ALERTWALL_EVENT_COUNT, NULL },
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		const char *name = alertwall_event_name(cases[i].event);

		ck_assert_msg(null_strcmp(name, cases[i].name) == 0,
			      "case %u: %s", i, name);
	}
}
END_TEST

static const char *generate_id(long long time_usecs)
{
	string_t *str = t_str_new(32);

	alertwall_alert_id_generate(time_usecs, str);
	return str_c(str);
}

static int cmp_strp(const void *p1, const void *p2)
{
	return strcmp(*(const char *const *)p1, *(const char *const *)p2);
}

START_TEST(test_alert_id_format)
{
	static const long long times[] = {
		0, 1, 999999, 1000000, TEST_TIME, TEST_TIME + 1,
		TEST_TIME + 1000, 4102444800000000LL
	};
	const char *prev = NULL;
	unsigned int i, j;

	for (i = 0; i < N_ELEMENTS(times); i++) {
		const char *id = generate_id(times[i]);

		ck_assert_msg(strlen(id) == 26, "case %u: %s", i, id);
		for (j = 0; j < 26; j++) {
			ck_assert_msg(i_isdigit(id[j]) ||
				      (id[j] >= 'a' && id[j] <= 'z'),
				      "case %u: %s", i, id);
		}
		/* later times sort later */
		if (prev != NULL) {
			ck_assert_msg(strcmp(prev, id) < 0, "case %u: %s >= %s",
				      i, prev, id);
		}
		prev = id;
	}
	/* the time part of one microsecond is the same */
	ck_assert(strncmp(generate_id(TEST_TIME), generate_id(TEST_TIME),
			  11) == 0);
}
END_TEST

#define IDS_PER_PROC 2000
#define ID_PROCS 4

/* ids of one microsecond from several processes never collide */
START_TEST(test_alert_id_unique)
{
	const unsigned int total = IDS_PER_PROC * (ID_PROCS + 1);
	const char **ids = t_new(const char *, total);
	unsigned int i, n = 0, proc;
	int fds[ID_PROCS][2];
	pid_t pids[ID_PROCS];
	int status;

	for (proc = 0; proc < ID_PROCS; proc++) {
		ck_assert_int_eq(pipe(fds[proc]), 0);
		pids[proc] = fork();
		ck_assert_int_ne(pids[proc], -1);
		if (pids[proc] == 0) {
			string_t *str = t_str_new(IDS_PER_PROC * 27);

			for (i = 0; i < IDS_PER_PROC; i++) {
				alertwall_alert_id_generate(TEST_TIME, str);
				str_append_c(str, '\n');
			}
			if (write(fds[proc][1], str_data(str), str_len(str)) !=
			    (ssize_t)str_len(str))
				_exit(1);
			_exit(0);
		}
		i_close_fd(&fds[proc][1]);
	}
	for (i = 0; i < IDS_PER_PROC; i++)
		ids[n++] = generate_id(TEST_TIME);
	for (proc = 0; proc < ID_PROCS; proc++) {
		string_t *str = t_str_new(IDS_PER_PROC * 27);
		char buf[4096];
		const char *const *lines;
		ssize_t ret;

		while ((ret = read(fds[proc][0], buf, sizeof(buf))) > 0)
			str_append_data(str, buf, ret);
		i_close_fd(&fds[proc][0]);
		ck_assert_int_eq(waitpid(pids[proc], &status, 0), pids[proc]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "process %u: status %d", proc, status);
		lines = t_strsplit(str_c(str), "\n");
		for (i = 0; lines[i] != NULL; i++) {
			if (lines[i][0] == '\0')
				continue;
			ck_assert_msg(strlen(lines[i]) == 26, "%s", lines[i]);
			ck_assert_uint_lt(n, total);
			ids[n++] = lines[i];
		}
	}
	ck_assert_uint_eq(n, total);
	qsort(ids, n, sizeof(*ids), cmp_strp);
	for (i = 1; i < n; i++)
		ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "duplicate %s",
			      ids[i]);
}
END_TEST

START_TEST(test_alert_init)
{
	struct alertwall_rules *rules = alertwall_rules_get_builtin();
	const struct alertwall_profile *profile;
	struct alertwall_classification class;
	struct alertwall_failure failure;
	struct alertwall_alert alert;
	pool_t pool;

	profile = alertwall_rules_get_profile(rules, ALERTWALL_PROFILE_DEFAULT);
	ck_assert_ptr_nonnull(profile);

	i_zero(&class);
	class.code = "TEST_CODE";
	class.nature = ALERTWALL_NATURE_TRANSIENT;
	class.scope = ALERTWALL_SCOPE_EMAIL;
	class.level = ALERTWALL_LEVEL_WARNING;
	class.summary_template = "Mail %{uid} of %{user} in %{profile}";
	class.action = "Wait.";
	class.generate = TRUE;

	alertwall_failure_init(&failure, ALERTWALL_SOURCE_SAVE);
	failure.user = "carol";
	failure.uid = 7;
	failure.text = "boom";

	pool = pool_alloconly_create("test alert", 1024);
	alertwall_alert_init(&alert, pool, &failure, &class, profile,
			     TEST_TIME);
	ck_assert_uint_eq(strlen(alert.id), 26);
	ck_assert(strncmp(alert.id, generate_id(TEST_TIME), 11) == 0);
	ck_assert(alert.time_usecs == TEST_TIME);
	ck_assert_int_eq(alert.event, ALERTWALL_EVENT_RAISED);
	ck_assert_str_eq(alert.code, "TEST_CODE");
	ck_assert_int_eq(alert.nature, ALERTWALL_NATURE_TRANSIENT);
	ck_assert_int_eq(alert.scope, ALERTWALL_SCOPE_EMAIL);
	ck_assert_int_eq(alert.level, ALERTWALL_LEVEL_WARNING);
	ck_assert_str_eq(alert.summary, "Mail 7 of carol in default");
	ck_assert_str_eq(alert.action, "Wait.");
	ck_assert_str_eq(alert.profile, ALERTWALL_PROFILE_DEFAULT);
	ck_assert_str_eq(alert.profile_owner,
			 alertwall_profile_get_owner(profile));
	ck_assert(alert.notify_mailbox_owners ==
		  alertwall_profile_notify_mailbox_owners(profile));
	ck_assert_str_eq(alert.failure.user, "carol");
	ck_assert_uint_eq(alert.failure.uid, 7);
	ck_assert_int_eq(alert.failure.source, ALERTWALL_SOURCE_SAVE);

	/* no profile, no template */
	class.summary_template = NULL;
	alertwall_alert_init(&alert, pool, &failure, &class, NULL, 0);
	ck_assert_ptr_null(alert.profile);
	ck_assert_str_eq(alert.profile_owner, "");
	ck_assert_ptr_null(alert.summary);
	pool_unref(&pool);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");

	tcase_add_test(tc, test_record_exact);
	tcase_add_test(tc, test_record_values);
	tcase_add_test(tc, test_record_hostile);
	tcase_add_test(tc, test_record_caps);
	tcase_add_test(tc, test_record_all_huge);
	tcase_add_test(tc, test_record_time);
	tcase_add_test(tc, test_event_names);
	tcase_add_test(tc, test_alert_id_format);
	tcase_add_test(tc, test_alert_id_unique);
	tcase_add_test(tc, test_alert_init);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
