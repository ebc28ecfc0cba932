/* Copyright (c) 2026 alertwall authors */

/* tests for alertwall-match.c: first-match order, every condition type
   (and that an unknown failure field never matches), levels and generate
   switches in the classification, summary expansion with hostile values,
   and a walk through 40 rules (the rate is bench/bench-classify's job) */

#include "lib.h"
#include "str.h"
#include "alertwall-rules-private.h"
#include "test-alertwall.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <mail-error.h>

#define R(code, match) \
	"  - {code: " code ", nature: transient, scope: mailbox, " \
	"summary: s, action: a, match: " match "}\n"

static const char *match_yaml =
	"version: 1\n"
	"generate: {info: no}\n"
	"rules:\n"
	R("SYNC_TEMP", "{source: sync, mail_error: TEMP}")
	R("MAIL_ERROR_NONE", "{mail_error: NONE}")
	R("ERRNO_QUOTA", "{errno: [EDQUOT, ENOSPC]}")
	R("SMTP_EXACT", "{smtp_code: 552}")
	R("SMTP_4XX_STATUS", "{smtp_code: 4xx, smtp_status: \"4.2.\"}")
	R("SMTP_5XX", "{smtp_code: 5XX}")
	R("STATUS_EXACT", "{smtp_status: 4.3.1}")
	R("EVENT", "{event: [mail_expunged, index_corrupted]}")
	R("CATEGORY", "{category: mail-cache}")
	R("TEXT", "{text: [\"Permission denied\", \"Read-only\"]}")
	R("REGEX", "{regex: \"^corrupted [a-z]+ file\"}")
	R("TEXT_AND_REGEX", "{text: \"lock\", regex: \"timeout\"}")
	R("AUTH", "{source: [userdb, open]}")
	"  - {code: INFO, nature: transient, scope: email, level: info,\n"
	"     summary: s, action: a, match: {source: other, text: tested}}\n"
	"  - {code: PERM, nature: permanent, scope: profile,\n"
	"     summary: s, action: a, match: {source: other, text: perm}}\n";

#define UNCLASSIFIED ALERTWALL_CODE_UNCLASSIFIED
#define NO_ME -1

static const char *const cat_cache[] = { "storage", "mail-cache", NULL };
static const char *const cat_storage[] = { "storage", NULL };
static const char *const cat_none[] = { NULL };

static const struct {
	enum alertwall_source source;
	int mail_error;
	int errno_value;
	const char *text;
	unsigned int smtp_code;
	const char *smtp_status;
	const char *event;
	const char *const *categories;
	const char *code;
} match_cases[] = {
	/* source and mail_error: bitmasks, both must hold */
	{ ALERTWALL_SOURCE_SYNC, MAIL_ERROR_TEMP, 0, NULL, 0, NULL, NULL,
	  NULL, "SYNC_TEMP" },
	{ ALERTWALL_SOURCE_SAVE, MAIL_ERROR_TEMP, 0, NULL, 0, NULL, NULL,
	  NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_SYNC, MAIL_ERROR_PERM, 0, NULL, 0, NULL, NULL,
	  NULL, UNCLASSIFIED },
	/* an unknown mail_error matches no mail_error condition */
	{ ALERTWALL_SOURCE_SYNC, NO_ME, 0, NULL, 0, NULL, NULL, NULL,
	  UNCLASSIFIED },
	{ ALERTWALL_SOURCE_SYNC, ALERTWALL_MAIL_ERROR_COUNT, 0, NULL, 0,
	  NULL, NULL, NULL, UNCLASSIFIED },
	/* NONE is a known value, not an unknown one */
	{ ALERTWALL_SOURCE_SAVE, MAIL_ERROR_NONE, 0, NULL, 0, NULL, NULL,
	  NULL, "MAIL_ERROR_NONE" },

	/* errno lists; 0 is unknown */
	{ ALERTWALL_SOURCE_SAVE, NO_ME, EDQUOT, NULL, 0, NULL, NULL, NULL,
	  "ERRNO_QUOTA" },
	{ ALERTWALL_SOURCE_SAVE, NO_ME, ENOSPC, NULL, 0, NULL, NULL, NULL,
	  "ERRNO_QUOTA" },
	{ ALERTWALL_SOURCE_SAVE, NO_ME, EIO, NULL, 0, NULL, NULL, NULL,
	  UNCLASSIFIED },
	{ ALERTWALL_SOURCE_SAVE, NO_ME, 0, NULL, 0, NULL, NULL, NULL,
	  UNCLASSIFIED },

	/* SMTP codes, classes and enhanced status */
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 552, "5.2.2", NULL,
	  NULL, "SMTP_EXACT" },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 452, "4.2.2", NULL,
	  NULL, "SMTP_4XX_STATUS" },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 451, "4.2.0", NULL,
	  NULL, "SMTP_4XX_STATUS" },
	/* 4xx but not 4.2.*; "4.20.1" and "4.2" are not under "4.2." */
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 451, "4.3.0", NULL,
	  NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 451, "4.20.1", NULL,
	  NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 451, "4.2", NULL,
	  NULL, UNCLASSIFIED },
	/* no status known */
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 452, NULL, NULL,
	  NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 550, "5.1.1", NULL,
	  NULL, "SMTP_5XX" },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 599, NULL, NULL,
	  NULL, "SMTP_5XX" },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 0, "4.3.1", NULL,
	  NULL, "STATUS_EXACT" },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 0, "4.3.10", NULL,
	  NULL, UNCLASSIFIED },
	/* no SMTP reply at all */
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, 0, NULL, 0, NULL, NULL,
	  NULL, UNCLASSIFIED },

	/* event names and categories */
	{ ALERTWALL_SOURCE_INDEX, NO_ME, 0, NULL, 0, NULL, "index_corrupted",
	  NULL, "EVENT" },
	{ ALERTWALL_SOURCE_INDEX, NO_ME, 0, NULL, 0, NULL, "index_corrupte",
	  NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_CACHE, NO_ME, 0, NULL, 0, NULL, NULL, cat_cache,
	  "CATEGORY" },
	{ ALERTWALL_SOURCE_CACHE, NO_ME, 0, NULL, 0, NULL, NULL, cat_storage,
	  UNCLASSIFIED },
	{ ALERTWALL_SOURCE_CACHE, NO_ME, 0, NULL, 0, NULL, NULL, cat_none,
	  UNCLASSIFIED },

	/* text: case-sensitive substrings, any of a list */
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "open(/x) failed: Permission "
	  "denied (euid=1000)", 0, NULL, NULL, NULL, "TEXT" },
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "Read-only file system", 0, NULL,
	  NULL, NULL, "TEXT" },
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "permission denied", 0, NULL,
	  NULL, NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, NULL, 0, NULL, NULL, NULL,
	  UNCLASSIFIED },
	/* regex: extended, case-insensitive, anchored as written */
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "Corrupted index file /x/y: bad",
	  0, NULL, NULL, NULL, "REGEX" },
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "Index: corrupted index file",
	  0, NULL, NULL, NULL, UNCLASSIFIED },
	/* text and regex together */
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "dotlock: TIMEOUT while waiting",
	  0, NULL, NULL, NULL, "TEXT_AND_REGEX" },
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "dotlock failed", 0, NULL, NULL,
	  NULL, UNCLASSIFIED },
	{ ALERTWALL_SOURCE_COPY, NO_ME, 0, "Lock timeout", 0, NULL, NULL,
	  NULL, UNCLASSIFIED },

	/* source lists, with the userdb alias */
	{ ALERTWALL_SOURCE_AUTH, NO_ME, 0, NULL, 0, NULL, NULL, NULL, "AUTH" },
	{ ALERTWALL_SOURCE_OPEN, NO_ME, 0, NULL, 0, NULL, NULL, NULL, "AUTH" },
	{ ALERTWALL_SOURCE_COUNT, NO_ME, 0, NULL, 0, NULL, NULL, NULL,
	  UNCLASSIFIED },

	/* first match wins */
	{ ALERTWALL_SOURCE_SYNC, MAIL_ERROR_TEMP, EDQUOT, NULL, 0, NULL,
	  NULL, NULL, "SYNC_TEMP" },
	{ ALERTWALL_SOURCE_DELIVERY, NO_ME, EDQUOT, NULL, 552, NULL, NULL,
	  NULL, "ERRNO_QUOTA" },
	{ ALERTWALL_SOURCE_OPEN, NO_ME, 0, "Permission denied", 0, NULL, NULL,
	  NULL, "TEXT" },
};

static struct alertwall_rules *load_rules(const char *yaml)
{
	struct alertwall_rules *rules;
	const char *error;

	if (alertwall_rules_load_data("test", yaml, strlen(yaml),
				      &rules, &error) < 0)
		ck_abort_msg("rules do not load: %s", error);
	return rules;
}

START_TEST(test_match_conditions)
{
	struct alertwall_rules *rules = load_rules(match_yaml);
	struct alertwall_classification class;
	struct alertwall_failure failure;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(match_cases); i++) {
		alertwall_failure_init(&failure, match_cases[i].source);
		failure.mail_error = match_cases[i].mail_error;
		failure.errno_value = match_cases[i].errno_value;
		failure.text = match_cases[i].text;
		failure.smtp_code = match_cases[i].smtp_code;
		failure.smtp_status = match_cases[i].smtp_status;
		failure.event_name = match_cases[i].event;
		failure.categories = match_cases[i].categories;
		alertwall_rules_classify(rules, &failure, &class);
		ck_assert_msg(strcmp(class.code, match_cases[i].code) == 0,
			      "case %u: got %s, expected %s", i, class.code,
			      match_cases[i].code);
		ck_assert_msg(class.rule ==
			      alertwall_rules_find_code(rules, class.code),
			      "case %u", i);
	}
	alertwall_rules_free(&rules);
}
END_TEST

START_TEST(test_match_classification)
{
	static const struct {
		const char *text;
		const char *code;
		unsigned int rule_index;
		enum alertwall_nature nature;
		enum alertwall_scope scope;
		enum alertwall_level level;
		unsigned int retry_limit;
		bool generate;
	} cases[] = {
		/* info is switched off by generate */
		{ "mailbox tested", "INFO", 13, ALERTWALL_NATURE_TRANSIENT,
		  ALERTWALL_SCOPE_EMAIL, ALERTWALL_LEVEL_INFO, 10, FALSE },
		/* level from nature: permanent is an error, not retried */
		{ "perm", "PERM", 14, ALERTWALL_NATURE_PERMANENT,
		  ALERTWALL_SCOPE_PROFILE, ALERTWALL_LEVEL_ERROR, 0, TRUE },
		/* level from nature: transient is a warning */
		{ "nothing", UNCLASSIFIED, 15, ALERTWALL_NATURE_TRANSIENT,
		  ALERTWALL_SCOPE_MAILBOX, ALERTWALL_LEVEL_WARNING, 10, TRUE },
	};
	struct alertwall_rules *rules = load_rules(match_yaml);
	struct alertwall_classification class;
	struct alertwall_failure failure;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
		failure.text = cases[i].text;
		alertwall_rules_classify(rules, &failure, &class);
		ck_assert_msg(strcmp(class.code, cases[i].code) == 0,
			      "case %u: %s", i, class.code);
		ck_assert_msg(class.rule_index == cases[i].rule_index,
			      "case %u: %u", i, class.rule_index);
		ck_assert_msg(class.nature == cases[i].nature, "case %u", i);
		ck_assert_msg(class.scope == cases[i].scope, "case %u", i);
		ck_assert_msg(class.level == cases[i].level, "case %u", i);
		ck_assert_msg(class.retry_limit == cases[i].retry_limit,
			      "case %u", i);
		ck_assert_msg(class.generate == cases[i].generate,
			      "case %u", i);
		ck_assert_msg(strcmp(class.summary_template, "s") == 0 ||
			      cases[i].rule_index == 15, "case %u", i);
	}
	alertwall_rules_free(&rules);
}
END_TEST

#define ALL_VARS "%{code}|%{user}|%{mailbox}|%{uid}|%{guid}|" \
	"%{message_id}|%{profile}|%{service}|%{source}|%{mail_error}|" \
	"%{errno}|%{smtp}|%{text}"

START_TEST(test_match_summary)
{
	static const char *yaml =
		"version: 1\n"
		"rules:\n"
		"  - code: ALL\n"
		"    nature: transient\n"
		"    scope: mailbox\n"
		"    summary: \"" ALL_VARS "\"\n"
		"    action: a\n";
	struct alertwall_rules *rules = load_rules(yaml);
	struct alertwall_classification class;
	struct alertwall_failure failure;
	string_t *str = t_str_new(256);

	alertwall_rule_get_classification(rules,
		alertwall_rules_find_code(rules, "ALL"), &class);

	/* everything unknown */
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_DELIVERY);
	alertwall_classification_summary(&class, &failure, NULL, str);
	ck_assert_str_eq(str_c(str), "ALL|-|-|-|-|-|-|-|delivery|-|-|-|-");

	/* everything known */
	failure.source = ALERTWALL_SOURCE_SYNC;
	failure.user = "u@example.org";
	failure.mailbox = "INBOX";
	failure.uid = 42;
	failure.guid = "0123abcd";
	failure.message_id = "<m@x>";
	failure.service = "lmtp";
	failure.mail_error = MAIL_ERROR_NOQUOTA;
	failure.errno_value = EDQUOT;
	failure.smtp_code = 552;
	failure.smtp_status = "5.2.2";
	failure.text = "Quota exceeded";
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, "nfs-a", str);
	ck_assert_str_eq(str_c(str), "ALL|u@example.org|INBOX|42|0123abcd|"
			 "<m@x>|nfs-a|lmtp|sync|NOQUOTA|EDQUOT|552 5.2.2|"
			 "Quota exceeded");

	/* partial SMTP, an errno without a name, empty strings */
	failure.smtp_code = 0;
	failure.smtp_status = "4.2.0";
	failure.errno_value = 99999;
	failure.user = "";
	failure.mail_error = MAIL_ERROR_NONE;
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, "", str);
	ck_assert_str_eq(str_c(str), "ALL|-|INBOX|42|0123abcd|<m@x>|-|lmtp|"
			 "sync|NONE|99999|4.2.0|Quota exceeded");
	failure.smtp_code = 451;
	failure.smtp_status = NULL;
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, "", str);
	ck_assert_msg(strstr(str_c(str), "|451|") != NULL, "%s", str_c(str));

	/* appends to what dest holds */
	str_truncate(str, 0);
	str_append(str, "> ");
	class.summary_template = "%{code}";
	alertwall_classification_summary(&class, &failure, NULL, str);
	ck_assert_str_eq(str_c(str), "> ALL");
	alertwall_rules_free(&rules);
}
END_TEST

START_TEST(test_match_summary_hostile)
{
	static const struct {
		const char *text;
		const char *expected;
	} cases[] = {
		/* each run of control characters becomes one space */
		{ "a\r\nb\tc\x7f", "[a b c ]" },
		{ "\n\n\nx", "[ x]" },
		/* C1 NEL and the Unicode line and paragraph separators */
		{ "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "d", "[a b c d]" },
		/* other UTF-8 is kept */
		{ "caf\xc3\xa9 \xe2\x82\xac", "[caf\xc3\xa9 \xe2\x82\xac]" },
		/* values are not expanded again */
		{ "%{user} 100%", "[%{user} 100%]" },
	};
	struct alertwall_classification class;
	struct alertwall_failure failure;
	string_t *str = t_str_new(256);
	string_t *value = t_str_new(512);
	unsigned int i;

	i_zero(&class);
	class.code = "X";
	class.summary_template = "[%{text}]";
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
		failure.text = cases[i].text;
		str_truncate(str, 0);
		alertwall_classification_summary(&class, &failure, NULL, str);
		ck_assert_msg(strcmp(str_c(str), cases[i].expected) == 0,
			      "case %u: %s", i, str_c(str));
	}

	/* long values stop at 200 bytes */
	for (i = 0; i < 300; i++)
		str_append_c(value, 'x');
	failure.text = str_c(value);
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, NULL, str);
	ck_assert_uint_eq(str_len(str), 1 + 200 + 3 + 1);
	ck_assert(str_begins(str_c(str), "[xxxxxxxxxx"));
	ck_assert(strcmp(str_c(str) + 201, "...]") == 0);

	/* ... and never in the middle of a character */
	str_truncate(value, 0);
	for (i = 0; i < 199; i++)
		str_append_c(value, 'y');
	str_append(value, "\xc3\xa9zzzz");
	failure.text = str_c(value);
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, NULL, str);
	ck_assert_uint_eq(str_len(str), 1 + 199 + 3 + 1);
	ck_assert(strcmp(str_c(str) + 200, "...]") == 0);

	/* exactly 200 bytes is not cut */
	str_truncate(value, 200);
	str_truncate(value, 0);
	for (i = 0; i < 200; i++)
		str_append_c(value, 'w');
	failure.text = str_c(value);
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, NULL, str);
	ck_assert_uint_eq(str_len(str), 202);

	/* every string variable is cleaned, not just text */
	failure.text = NULL;
	failure.user = "evil\nX-Header: 1";
	failure.mailbox = "box\r";
	class.summary_template = "%{user}|%{mailbox}";
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, "p\x1b[31m", str);
	ck_assert_str_eq(str_c(str), "evil X-Header: 1|box ");
	class.summary_template = "%{profile}";
	str_truncate(str, 0);
	alertwall_classification_summary(&class, &failure, "p\x1b[31m", str);
	ck_assert_str_eq(str_c(str), "p [31m");
}
END_TEST

/* templates the loader would refuse are kept literally, not misread */
START_TEST(test_match_summary_template_edges)
{
	static const struct {
		const char *template;
		const char *expected;
	} cases[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "100% full", "100% full" },
		{ "%{bogus} x", "%{bogus} x" },
		{ "x %{user", "x %{user" },
		{ "%{user}%{user}", "uu" },
		{ "%{}", "%{}" },
		{ "%%{user}", "%u" },
	};
	struct alertwall_classification class;
	struct alertwall_failure failure;
	string_t *str = t_str_new(64);
	unsigned int i;

	i_zero(&class);
	class.code = "X";
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
	failure.user = "u";
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		class.summary_template = cases[i].template;
		str_truncate(str, 0);
		alertwall_classification_summary(&class, &failure, NULL, str);
		ck_assert_msg(strcmp(str_c(str), cases[i].expected) == 0,
			      "case %u: %s", i, str_c(str));
	}
}
END_TEST

static void classify_expect(const struct alertwall_rules *rules,
			    const struct alertwall_failure *failure,
			    const char *expected_code)
{
	struct alertwall_classification class;

	alertwall_rules_classify(rules, failure, &class);
	ck_assert_str_eq(class.code, expected_code);
}

/* 40 rules of the shipped kind, and failures that walk all of them; the
   rate is measured by bench/bench-classify, not here */
START_TEST(test_match_deep_walk)
{
	static const char *const sources[] = {
		"delivery", "sync", "open", "save", "copy", "index", "cache",
		"auth",
	};
	static const char *const mail_errors[] = {
		"TEMP", "PERM", "NOQUOTA", "NOTFOUND", "INUSE", "LIMIT",
	};
	struct alertwall_rules *rules;
	struct alertwall_failure failure;
	string_t *yaml = t_str_new(8192);
	unsigned int i;

	str_append(yaml, "version: 1\nrules:\n");
	for (i = 0; i < 40; i++) {
		str_printfa(yaml, "  - code: RULE_%u\n    match:\n", i);
		switch (i % 4) {
		case 0:
			str_printfa(yaml, "      source: [%s, %s]\n"
				    "      text: \"failure number %u\"\n",
				    sources[i % 8], sources[(i + 3) % 8], i);
			break;
		case 1:
			str_printfa(yaml, "      mail_error: %s\n"
				    "      text: [\"text %u\", \"other %u\"]\n",
				    mail_errors[i % 6], i, i);
			break;
		case 2:
			str_printfa(yaml, "      smtp_code: 4xx\n"
				    "      smtp_status: \"4.%u.\"\n",
				    (i / 4) % 10);
			break;
		case 3:
			str_printfa(yaml, "      source: %s\n"
				    "      regex: \"^[a-z]+ %u (x|y)$\"\n",
				    sources[(i / 4) % 8], i);
			break;
		}
		str_append(yaml, "    nature: transient\n    scope: mailbox\n"
			   "    summary: s\n    action: a\n");
	}
	rules = load_rules(str_c(yaml));
	ck_assert_uint_eq(alertwall_rules_count(rules), 41);

	/* passes many source and mail_error masks, so reaches strstr() and
	   regexec() often; matches nothing */
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_SYNC);
	failure.mail_error = MAIL_ERROR_TEMP;
	failure.errno_value = EIO;
	failure.text = "Error: open(/var/mail/u/INBOX/dovecot.index.log) "
		"failed: Input/output error (euid=1000(u) egid=1000(u))";
	failure.user = "u@example.org";
	failure.mailbox = "INBOX";
	classify_expect(rules, &failure, UNCLASSIFIED);

	/* a delivery failure with an SMTP reply that only the next to
	   last rule takes */
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_DELIVERY);
	failure.smtp_code = 451;
	failure.smtp_status = "4.9.0";
	failure.text = "Internal error occurred";
	classify_expect(rules, &failure, "RULE_38");
	alertwall_rules_free(&rules);
}
END_TEST

/* The text conditions skip strstr() when a byte pair of theirs is not
   in the failure text; whatever the pairs, the first rule whose text is
   a substring must win, exactly as with strstr() alone. A small alphabet
   (with a two-byte UTF-8 letter) makes near misses common. */
/* deterministic, so a failure can be replayed */
static unsigned int prefilter_rand(unsigned int *seed)
{
	*seed = *seed * 1103515245U + 12345U;
	return (*seed >> 16) & 0x7fff;
}

START_TEST(test_match_text_prefilter_agrees_with_strstr)
{
	static const char *const letters[] = { "a", "b", "c", " ", "\xc3\xa9" };
#define PREFILTER_PATTERNS 150
	const char *patterns[PREFILTER_PATTERNS], *expected;
	struct alertwall_rules *rules;
	struct alertwall_failure failure;
	struct alertwall_classification class;
	string_t *yaml, *text;
	unsigned int i, j, len, matched = 0, seed = 4242;

	yaml = t_str_new(16384);
	str_append(yaml, "version: 1\nrules:\n");
	for (i = 0; i < PREFILTER_PATTERNS; i++) {
		text = t_str_new(32);
		len = 1 + prefilter_rand(&seed) % 9;
		for (j = 0; j < len; j++)
			str_append(text, letters[prefilter_rand(&seed) % N_ELEMENTS(letters)]);
		patterns[i] = str_c(text);
		str_printfa(yaml, R("T%u", "{text: \"%s\"}"), i, patterns[i]);
	}
	rules = load_rules(str_c(yaml));

	for (i = 0; i < 3000; i++) {
		text = t_str_new(512);
		len = prefilter_rand(&seed) % (i % 10 == 0 ? 300 : 24);
		for (j = 0; j < len; j++)
			str_append(text, letters[prefilter_rand(&seed) % N_ELEMENTS(letters)]);
		expected = UNCLASSIFIED;
		for (j = 0; j < PREFILTER_PATTERNS; j++) {
			if (strstr(str_c(text), patterns[j]) != NULL) {
				expected = t_strdup_printf("T%u", j);
				break;
			}
		}
		if (strcmp(expected, UNCLASSIFIED) != 0)
			matched++;
		alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
		failure.text = str_c(text);
		alertwall_rules_classify(rules, &failure, &class);
		ck_assert_msg(strcmp(class.code, expected) == 0,
			      "text '%s': got %s, expected %s", str_c(text),
			      class.code, expected);
	}
	/* both outcomes were tried many times */
	ck_assert_uint_gt(matched, 500);
	ck_assert_uint_lt(matched, 2900);
	alertwall_rules_free(&rules);
#undef PREFILTER_PATTERNS
}
END_TEST

int main(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_match_conditions);
	tcase_add_test(tc, test_match_classification);
	tcase_add_test(tc, test_match_summary);
	tcase_add_test(tc, test_match_summary_hostile);
	tcase_add_test(tc, test_match_summary_template_edges);
	tcase_add_test(tc, test_match_deep_walk);
	tcase_add_test(tc, test_match_text_prefilter_agrees_with_strstr);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
