/* Copyright (c) 2026 alertwall authors */

/* tests for alertwall-rules.c, the rules file loader: every validation
   error with its position, all errors of a file reported at once, the
   size and count limits, defaults and implicit rules, the examples of
   doc/rules.md, files on disk and the builtin rules */

#include "lib.h"
#include "str.h"
#include "alertwall-rules-private.h"
#include "test-alertwall.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <mail-error.h>

#define NAME "t.yaml"
#define HEAD "version: 1\nrules:\n"
/* a complete catch-all rule, five lines: code on the first line (code
   key at column 5, value at column 11), nature value at column 13, scope
   at 12, summary at 14, action at 13 */
#define RULE(code) \
	"  - code: " code "\n" \
	"    nature: transient\n" \
	"    scope: mailbox\n" \
	"    summary: s\n" \
	"    action: a\n"

/* Returns TRUE if error has a line "NAME:line:column: ..." that contains
   substr after the position. */
static bool
error_has(const char *error, unsigned int line, unsigned int column,
	  const char *substr)
{
	const char *prefix, *const *lines;

	if (error == NULL)
		return FALSE;
	prefix = line == 0 ? NAME": " :
		t_strdup_printf(NAME":%u:%u: ", line, column);
	for (lines = t_strsplit(error, "\n"); *lines != NULL; lines++) {
		if (str_begins(*lines, prefix) &&
		    strstr(*lines + strlen(prefix), substr) != NULL)
			return TRUE;
	}
	return FALSE;
}

static unsigned int error_line_count(const char *error)
{
	return str_array_length(t_strsplit(error, "\n"));
}

static int
load_str(const char *yaml, struct alertwall_rules **rules_r,
	 const char **error_r)
{
	*error_r = NULL;
	return alertwall_rules_load_data(NAME, yaml, strlen(yaml),
					 rules_r, error_r);
}

static const struct {
	const char *yaml;
	unsigned int line, column;
	const char *error;
} error_cases[] = {
	/* malformed YAML */
	{ HEAD "  - code: A\n   nature: x\n", 4, 4,
	  "invalid YAML: did not find expected '-' indicator" },
	{ HEAD "  - code: \"A\n", 4, 1,
	  "invalid YAML: found unexpected end of stream (while scanning a "
	  "quoted scalar at line 3, column 11)" },
	{ HEAD "\t- a\n", 3, 1, "invalid YAML: found character that cannot "
	  "start any token" },
	{ HEAD "  - code: \"a\xff\"\n", 3, 13,
	  "invalid YAML: invalid leading UTF-8 octet (byte 0xff)" },
	{ "version: 1\nrules: [*x]\n", 2, 9, "found undefined alias" },
	{ "version: 1\nrules: []\n---\nfoo: 1\n", 4, 1,
	  "only one YAML document is allowed" },
	{ "", 1, 1, "the rules file is empty" },
	{ "- a\n", 1, 1, "the rules file must be a map, not a list" },
	{ "? [a]\n: 1\nversion: 1\nrules: []\n", 1, 3,
	  "keys in the rules file must be strings, not a list" },

	/* unknown keys, listing the expected ones */
	{ "version: 1\nrulez: []\nrules: []\n", 2, 1,
	  "unknown key 'rulez' in the rules file (expected one of: version, "
	  "generate, defaults, profiles, rules)" },
	{ HEAD RULE("A") "    natur: transient\n", 8, 5,
	  "unknown key 'natur' in rule (expected one of: code, match, "
	  "nature, scope, level, retry_limit, retry_window, summary, "
	  "action)" },
	{ HEAD RULE("A") "    match: {sorce: sync}\n", 8, 13,
	  "unknown key 'sorce' in match (expected one of: source, "
	  "mail_error, errno, text, regex, smtp_code, smtp_status, event, "
	  "category)" },
	{ "version: 1\ngenerate: {debug: no}\nrules: []\n", 2, 12,
	  "unknown key 'debug' in generate (expected one of: info, warning, "
	  "error)" },
	{ "version: 1\ndefaults: {retry: 3}\nrules: []\n", 2, 12,
	  "unknown key 'retry' in defaults (expected one of: retry_limit, "
	  "retry_window)" },
	{ "version: 1\nprofiles:\n  - name: a\n    owner: x\n    notify: no\n"
	  "    match: {domain: x.org}\nrules: []\n", 5, 5,
	  "unknown key 'notify' in profile (expected one of: name, owner, "
	  "notify_mailbox_owners, match, mailboxes, alarm_percent)" },
	{ "version: 1\nprofiles:\n  - name: a\n    match: {host: x}\n"
	  "rules: []\n", 4, 13, "unknown key 'host' in profile match "
	  "(expected one of: userdb, domain, path_prefix)" },
	{ HEAD RULE("A") "    nature: permanent\n", 8, 5,
	  "duplicate key 'nature' in rule (first given at line 4)" },

	/* bad names */
	{ HEAD "  - code: A\n    nature: sometimes\n    scope: mailbox\n"
	  "    summary: s\n    action: a\n", 4, 13,
	  "invalid nature 'sometimes' (expected transient or permanent)" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: box\n"
	  "    summary: s\n    action: a\n", 5, 12,
	  "invalid scope 'box' (expected email, mailbox or profile)" },
	{ HEAD RULE("A") "    level: critical\n", 8, 12,
	  "invalid level 'critical' (expected info, warning or error)" },
	{ HEAD RULE("A") "    match: {source: bogus}\n", 8, 21,
	  "unknown source 'bogus'" },
	{ HEAD RULE("A") "    match: {mail_error: NOSPACE}\n", 8, 25,
	  "unknown mail_error name 'NOSPACE'" },
	{ HEAD RULE("A") "    match:\n      errno: [ENOSPC, ENOSPACE]\n",
	  9, 23, "unknown errno name 'ENOSPACE'" },
	{ "version: 1\ngenerate: {info: maybe}\nrules: []\n", 2, 18,
	  "'info' must be yes or no, not 'maybe'" },
	{ HEAD "  - code: lower_case\n", 3, 11,
	  "invalid code 'lower_case' (use upper case letters" },
	{ "version: 1\nprofiles:\n  - name: \"a b\"\n    match: {domain: x}\n"
	  "rules: []\n", 3, 11, "invalid profile name 'a b'" },

	/* regexes */
	{ HEAD RULE("A") "    match:\n      regex: \"(\"\n", 9, 14,
	  "invalid regex '(': " },
	{ HEAD RULE("A") "    match:\n      regex: \"a{2,1}\"\n", 9, 14,
	  "invalid regex 'a{2,1}': " },
	/* repetitions that regcomp() would spell out into gigabytes:
	   chained, nested, one huge interval */
	{ HEAD RULE("A") "    match:\n      regex: "
	  "\"(a++++++++++++++++++++++++++++++++|b)+[0-9]{2,5}$\"\n", 9, 14,
	  "is too complex: spelled out, its repetitions make more than "
	  "4096 parts" },
	{ HEAD RULE("A") "    match:\n      regex: "
	  "\"((a{1,100}){1,100}){1,100}\"\n", 9, 14, "is too complex" },
	{ HEAD RULE("A") "    match:\n      regex: \"x{5000}\"\n", 9, 14,
	  "is too complex" },
	/* a good regex in a bad file is freed with the rest */
	{ HEAD RULE("A") "    match: {regex: \"^ok$\", source: bogus}\n",
	  8, 36, "unknown source 'bogus'" },
	{ HEAD RULE("A") "    match:\n      regex: [a, b]\n", 9, 14,
	  "'regex' must be a string, not a list" },

	/* duplicates */
	{ HEAD RULE("A") "    match: {source: sync}\n" RULE("A"), 9, 11,
	  "duplicate code 'A' (first used at line 3)" },
	{ "version: 1\nprofiles:\n  - name: a\n    match: {domain: x.org}\n"
	  "  - name: a\n    match: {domain: y.org}\nrules: []\n", 5, 11,
	  "duplicate profile name 'a' (first defined at line 3)" },

	/* missing required fields */
	{ "rules: []\n", 1, 1,
	  "missing required key 'version' (add 'version: 1' at the top)" },
	{ "version: 1\n", 1, 1, "missing required key 'rules'" },
	{ HEAD "  - nature: transient\n    scope: mailbox\n    summary: s\n"
	  "    action: a\n", 3, 5, "missing required key 'code' in rule" },
	{ HEAD "  - code: A\n    scope: mailbox\n    summary: s\n"
	  "    action: a\n", 3, 5, "missing required key 'nature' in rule A" },
	{ HEAD "  - code: A\n    nature: permanent\n    summary: s\n"
	  "    action: a\n", 3, 5, "missing required key 'scope' in rule A" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    action: a\n", 3, 5, "missing required key 'summary' in rule A" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    summary: s\n", 3, 5, "missing required key 'action' in rule A" },
	{ "version: 1\nprofiles:\n  - owner: x\n    match: {domain: x}\n"
	  "rules: []\n", 3, 5, "missing required key 'name' in profile" },
	{ "version: 1\nprofiles:\n  - name: nfs\nrules: []\n", 3, 5,
	  "missing required key 'match' in profile 'nfs'" },
	{ HEAD "  - code: A\n    nature:\n    scope: mailbox\n"
	  "    summary: s\n    action: a\n", 4, 12, "'nature' has no value" },

	/* wrong types */
	{ "version: [1]\nrules: []\n", 1, 10,
	  "'version' must be a string, not a list" },
	{ "version: 1\nrules: {}\n", 2, 8, "'rules' must be a list, not a map" },
	{ "version: 1\nprofiles: x\nrules: []\n", 2, 11,
	  "'profiles' must be a list, not a string" },
	{ "version: 1\ngenerate: yes\nrules: []\n", 2, 11,
	  "generate must be a map, not a string" },
	{ HEAD "  - A\n", 3, 5, "rule must be a map, not a string" },
	{ HEAD RULE("A") "    match: [source]\n", 8, 12,
	  "match must be a map, not a list" },
	{ HEAD RULE("A") "    match:\n      source: {a: b}\n", 9, 15,
	  "'source' must be a string or a list of strings, not a map" },
	{ HEAD RULE("A") "    match:\n      errno: [[ENOSPC]]\n", 9, 15,
	  "items of 'errno' must be strings, not a list" },
	{ HEAD RULE("A") "    match: {text: []}\n", 8, 19,
	  "'text' is an empty list" },
	{ HEAD RULE("A") "    match: {text: \"\"}\n", 8, 19,
	  "'text' must not be empty" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    summary: [s]\n    action: a\n", 6, 14,
	  "'summary' must be a string, not a list" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    summary: \"a\\0b\"\n    action: a\n", 6, 14,
	  "'summary' contains a NUL character" },
	{ HEAD RULE("A") "    match: {}\n", 8, 12,
	  "empty match (leave match out to make a catch-all rule)" },

	/* transient-only settings on permanent rules */
	{ HEAD "  - code: A\n    nature: permanent\n    scope: mailbox\n"
	  "    summary: s\n    action: a\n    retry_limit: 3\n", 8, 5,
	  "retry_limit is only allowed on transient rules (rule A is "
	  "permanent)" },
	{ HEAD "  - code: A\n    nature: permanent\n    scope: mailbox\n"
	  "    summary: s\n    action: a\n    retry_window: 1h\n", 8, 5,
	  "retry_window is only allowed on transient rules" },

	/* catch-all placement */
	{ HEAD RULE("A") RULE("B") "    match: {source: sync}\n", 8, 5,
	  "rule B can never match: it comes after the catch-all rule A at "
	  "line 3" },
	{ HEAD "  - code: UNCLASSIFIED_FAILURE\n    nature: transient\n"
	  "    scope: mailbox\n    summary: s\n    action: a\n"
	  "    match: {source: sync}\n", 3, 5,
	  "code UNCLASSIFIED_FAILURE is reserved for the catch-all rule" },

	/* summaries */
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    summary: \"%{usr} failed\"\n    action: a\n", 6, 14,
	  "unknown variable '%{usr}' in summary (known: code, user, mailbox, "
	  "uid, guid, message_id, profile, service, source, mail_error, "
	  "errno, smtp, text)" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    summary: \"%{user failed\"\n    action: a\n", 6, 14,
	  "unterminated '%{' in summary" },
	{ HEAD "  - code: A\n    nature: transient\n    scope: mailbox\n"
	  "    summary: \"two\\nlines\"\n    action: a\n", 6, 14,
	  "summary must be one line" },

	/* durations and retry limits */
	{ HEAD RULE("A") "    retry_window: 5x\n", 8, 19,
	  "invalid retry_window '5x' (expected a duration" },
	{ HEAD RULE("A") "    retry_window: 0\n", 8, 19,
	  "invalid retry_window '0'" },
	{ HEAD RULE("A") "    retry_window: 366d\n", 8, 19,
	  "invalid retry_window '366d'" },
	{ HEAD RULE("A") "    retry_window: m\n", 8, 19,
	  "invalid retry_window 'm'" },
	{ HEAD RULE("A") "    retry_window: 99999999999999999999\n", 8, 19,
	  "invalid retry_window" },
	{ "version: 1\ndefaults:\n  retry_window: 1 h\nrules: []\n", 3, 17,
	  "invalid retry_window '1 h'" },
	{ HEAD RULE("A") "    retry_limit: 0\n", 8, 18,
	  "invalid retry_limit '0' (expected an integer from 1 to" },
	{ "version: 1\ndefaults: {retry_limit: -1}\nrules: []\n", 2, 25,
	  "invalid retry_limit '-1'" },

	/* SMTP conditions */
	{ HEAD RULE("A") "    match: {smtp_code: 250}\n", 8, 24,
	  "invalid smtp_code '250' (expected a reply code from 400 to 599, "
	  "4xx or 5xx)" },
	{ HEAD RULE("A") "    match: {smtp_code: 6xx}\n", 8, 24,
	  "invalid smtp_code '6xx'" },
	{ HEAD RULE("A") "    match: {smtp_code: [452, 4x]}\n", 8, 30,
	  "invalid smtp_code '4x'" },
	{ HEAD RULE("A") "    match: {smtp_status: \"4.2\"}\n", 8, 26,
	  "invalid smtp_status '4.2'" },
	{ HEAD RULE("A") "    match: {smtp_status: 3.2.2}\n", 8, 26,
	  "invalid smtp_status '3.2.2'" },
	{ HEAD RULE("A") "    match: {smtp_status: 4.2.2.}\n", 8, 26,
	  "invalid smtp_status '4.2.2.'" },
	{ HEAD RULE("A") "    match: {smtp_status: 4..}\n", 8, 26,
	  "invalid smtp_status '4..'" },

	/* version */
	{ "version: 2\nrules: []\n", 1, 10,
	  "unsupported version '2' (this alertwall reads version 1)" },
	{ "version: one\nrules: []\n", 1, 10, "unsupported version 'one'" },

	/* profiles */
	{ "version: 1\nprofiles:\n  - name: default\n"
	  "    match: {domain: x}\nrules: []\n", 4, 5,
	  "the 'default' profile must not have a match" },
	{ "version: 1\nprofiles:\n  - name: a\n    match: {userdb: foo}\n"
	  "rules: []\n", 4, 21,
	  "invalid userdb match 'foo' (expected FIELD=VALUE)" },
	{ "version: 1\nprofiles:\n  - name: a\n    match: {userdb: =x}\n"
	  "rules: []\n", 4, 21, "invalid userdb match '=x'" },
	{ "version: 1\nprofiles:\n  - name: a\n"
	  "    match: {domain: user@x.org}\nrules: []\n", 4, 21,
	  "invalid domain 'user@x.org' (give the part after '@')" },
	{ "version: 1\nprofiles:\n  - name: a\n    match: {}\nrules: []\n",
	  4, 12, "profile 'a' has an empty match" },
	{ "version: 1\nprofiles:\n  - name: a\n    match: {domain: x}\n"
	  "    notify_mailbox_owners: sometimes\nrules: []\n", 5, 28,
	  "'notify_mailbox_owners' must be yes or no, not 'sometimes'" },
	/* the profile alarm's share */
	{ "version: 1\nprofiles:\n  - name: a\n    match: {domain: x}\n"
	  "    mailboxes: 0\nrules: []\n", 5, 16,
	  "invalid mailboxes '0' (expected an integer from 1 to 100000000)" },
	{ "version: 1\nprofiles:\n  - name: default\n    mailboxes: many\n"
	  "rules: []\n", 4, 16, "invalid mailboxes 'many'" },
	{ "version: 1\nprofiles:\n  - name: default\n    mailboxes: 8\n"
	  "    alarm_percent: 100\nrules: []\n", 5, 20,
	  "invalid alarm_percent '100' (expected an integer from 1 to 99)" },
	{ "version: 1\nprofiles:\n  - name: default\n"
	  "    alarm_percent: 30\nrules: []\n", 4, 5,
	  "'alarm_percent' needs 'mailboxes'" },
};

START_TEST(test_rules_errors)
{
	struct alertwall_rules *rules;
	const char *error;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(error_cases); i++) {
		int ret = load_str(error_cases[i].yaml, &rules, &error);

		ck_assert_msg(ret == -1, "case %u: loaded", i);
		ck_assert_msg(rules == NULL, "case %u: rules set", i);
		ck_assert_msg(error_has(error, error_cases[i].line,
					error_cases[i].column,
					error_cases[i].error),
			      "case %u: expected %u:%u: %s, got:\n%s", i,
			      error_cases[i].line, error_cases[i].column,
			      error_cases[i].error, error);
	}
}
END_TEST

/* each error message is one line: a hostile value can't forge another */
START_TEST(test_rules_error_values_sanitized)
{
	static const char *const cases[] = {
		HEAD RULE("A") "    level: \"x\\ny.yaml:1:1: forged\"\n",
		HEAD RULE("A") "    match: {source: \"a\\rb\"}\n",
	};
	struct alertwall_rules *rules;
	const char *error, *const *lines;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		ck_assert_msg(load_str(cases[i], &rules, &error) < 0,
			      "case %u", i);
		ck_assert_msg(error_line_count(error) == 1,
			      "case %u: %s", i, error);
		for (lines = t_strsplit(error, "\n"); *lines != NULL; lines++)
			ck_assert_msg(strchr(*lines, '\r') == NULL, "case %u", i);
	}
}
END_TEST

START_TEST(test_rules_all_errors_sorted)
{
	static const char *yaml =
		"version: 2\n"
		"rulez: []\n"
		"rules:\n"
		"  - code: A\n"
		"    natur: transient\n"
		"    match: {source: bogus, errno: ENOSPACE, regex: \"(\"}\n"
		"    summary: \"%{usr}\"\n"
		"    nature: permanent\n"
		"    scope: mailbox\n"
		"    action: a\n"
		"    retry_limit: 3\n";
	static const struct {
		unsigned int line, column;
		const char *error;
	} expected[] = {
		{ 1, 10, "unsupported version '2'" },
		{ 2, 1, "unknown key 'rulez'" },
		{ 5, 5, "unknown key 'natur'" },
		{ 6, 21, "unknown source 'bogus'" },
		{ 6, 35, "unknown errno name 'ENOSPACE'" },
		{ 6, 52, "invalid regex '('" },
		{ 7, 14, "unknown variable '%{usr}'" },
		{ 11, 5, "retry_limit is only allowed on transient rules" },
	};
	struct alertwall_rules *rules;
	const char *error, *const *lines;
	unsigned int i;

	ck_assert_int_eq(load_str(yaml, &rules, &error), -1);
	lines = t_strsplit(error, "\n");
	ck_assert_msg(str_array_length(lines) == N_ELEMENTS(expected),
		      "got:\n%s", error);
	/* in file order, whatever order they were found in */
	for (i = 0; i < N_ELEMENTS(expected); i++) {
		const char *prefix = t_strdup_printf(NAME":%u:%u: ",
			expected[i].line, expected[i].column);

		ck_assert_msg(str_begins(lines[i], prefix) &&
			      strstr(lines[i], expected[i].error) != NULL,
			      "case %u: got %s", i, lines[i]);
	}
}
END_TEST

START_TEST(test_rules_limits)
{
	struct alertwall_rules *rules;
	const char *error;
	string_t *str;
	unsigned int i;

	/* a file over 1 MiB is refused before parsing */
	str = t_str_new(1024 * 1024 + 64);
	str_append(str, HEAD);
	while (str_len(str) <= 1024 * 1024)
		str_append(str, "# padding padding padding padding padding\n");
	ck_assert_int_eq(load_str(str_c(str), &rules, &error), -1);
	ck_assert_msg(error_has(error, 0, 0, "the rules file is too large") &&
		      error_line_count(error) == 1, "got: %s", error);

	/* more than 10000 rules */
	str_truncate(str, 0);
	str_append(str, "version: 1\nrules: [");
	for (i = 0; i < 10001; i++)
		str_append(str, "x, ");
	str_append(str, "]\n");
	ck_assert_int_eq(load_str(str_c(str), &rules, &error), -1);
	ck_assert_msg(error_has(error, 2, 8, "too many items in 'rules' "
				"(10001, the limit is 10000)"),
		      "got: %s", error);

	/* aliases that repeat a big list in every rule */
	str_truncate(str, 0);
	str_append(str, HEAD RULE("R") "    match: {errno: &e [EIO");
	for (i = 0; i < 999; i++)
		str_append(str, ", EIO");
	str_append(str, "]}\n");
	for (i = 0; i < 1100; i++) {
		str_printfa(str, "  - {code: R%u, nature: transient, "
			    "scope: mailbox, summary: s, action: a, "
			    "match: {errno: *e}}\n", i);
	}
	ck_assert_int_eq(load_str(str_c(str), &rules, &error), -1);
	ck_assert_msg(strstr(error, "the file expands to more than 1000000 "
			     "YAML nodes") != NULL, "got: %s", error);

	/* repetitions within the regex limit load */
	ck_assert_msg(load_str(HEAD RULE("R") "    match: {regex: "
		"\"^(ab|cd){1,100}[0-9]+[[:digit:]]{2}(x|y{3})+\\\\{z\"}\n",
		&rules, &error) == 0, "got: %s", error);
	alertwall_rules_free(&rules);

	/* a flood of errors is cut short, saying how many were left out */
	str_truncate(str, 0);
	str_append(str, HEAD);
	for (i = 0; i < 1500; i++) {
		str_printfa(str, "  - {code: R%u, nature: x, scope: mailbox, "
			    "summary: s, action: a, match: {source: sync}}\n",
			    i);
	}
	ck_assert_int_eq(load_str(str_c(str), &rules, &error), -1);
	ck_assert_int_eq(error_line_count(error), 1001);
	ck_assert_msg(strstr(error, NAME": 500 more errors not shown") != NULL,
		      "no count of the missing errors");
}
END_TEST

START_TEST(test_rules_defaults)
{
	static const char *yaml =
		"version: 1\n"
		"rules:\n"
		"  - code: T\n"
		"    match: {source: sync}\n"
		"    nature: transient\n"
		"    scope: mailbox\n"
		"    summary: s\n"
		"    action: a\n"
		"  - code: P\n"
		"    match: {source: open}\n"
		"    nature: permanent\n"
		"    scope: profile\n"
		"    summary: s\n"
		"    action: a\n";
	struct alertwall_rules *rules;
	const struct alertwall_rule *rule;
	struct alertwall_classification class;
	const struct alertwall_profile *profile;
	const char *error;
	unsigned int i;

	ck_assert_msg(load_str(yaml, &rules, &error) == 0, "%s", error);
	ck_assert_str_eq(alertwall_rules_get_source(rules), NAME);
	/* two rules and the implicit catch-all */
	ck_assert_uint_eq(alertwall_rules_count(rules), 3);
	for (i = 0; i < ALERTWALL_LEVEL_COUNT; i++)
		ck_assert(alertwall_rules_level_enabled(rules, i));

	/* level follows nature; retry defaults only for transient */
	rule = alertwall_rules_find_code(rules, "T");
	ck_assert_ptr_nonnull(rule);
	alertwall_rule_get_classification(rules, rule, &class);
	ck_assert_int_eq(class.level, ALERTWALL_LEVEL_WARNING);
	ck_assert_uint_eq(class.retry_limit, 10);
	ck_assert_uint_eq(class.retry_window_secs, 50 * 60);
	ck_assert_uint_eq(class.rule_index, 0);
	rule = alertwall_rules_find_code(rules, "P");
	ck_assert_ptr_nonnull(rule);
	alertwall_rule_get_classification(rules, rule, &class);
	ck_assert_int_eq(class.level, ALERTWALL_LEVEL_ERROR);
	ck_assert_int_eq(class.scope, ALERTWALL_SCOPE_PROFILE);
	ck_assert_uint_eq(class.retry_limit, 0);
	ck_assert_uint_eq(class.retry_window_secs, 0);
	ck_assert_uint_eq(class.rule_index, 1);

	/* the implicit catch-all */
	rule = alertwall_rules_find_code(rules, ALERTWALL_CODE_UNCLASSIFIED);
	ck_assert_ptr_nonnull(rule);
	alertwall_rule_get_classification(rules, rule, &class);
	ck_assert_uint_eq(class.rule_index, 2);
	ck_assert_int_eq(class.nature, ALERTWALL_NATURE_TRANSIENT);
	ck_assert_int_eq(class.scope, ALERTWALL_SCOPE_MAILBOX);
	ck_assert_int_eq(class.level, ALERTWALL_LEVEL_WARNING);
	ck_assert_uint_eq(class.retry_limit, 10);
	ck_assert_uint_eq(class.retry_window_secs, 50 * 60);
	ck_assert(class.generate);
	ck_assert(class.summary_template[0] != '\0');
	ck_assert(class.action[0] != '\0');

	/* the implicit default profile */
	profile = alertwall_rules_get_profile(rules, ALERTWALL_PROFILE_DEFAULT);
	ck_assert_ptr_nonnull(profile);
	ck_assert_str_eq(alertwall_profile_get_name(profile), "default");
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "");
	ck_assert(alertwall_profile_notify_mailbox_owners(profile));
	ck_assert_ptr_null(alertwall_rules_find_code(rules, "NOPE"));
	ck_assert_ptr_null(alertwall_rules_get_profile(rules, "nope"));
	alertwall_rules_free(&rules);
	ck_assert_ptr_null(rules);
	/* freeing NULL is fine */
	alertwall_rules_free(&rules);
}
END_TEST

START_TEST(test_rules_settings)
{
	static const char *yaml =
		"version: 1\n"
		"generate: {info: no, warning: off, error: yes}\n"
		"defaults: {retry_limit: 3, retry_window: 2h}\n"
		"rules:\n"
		"  - code: T1\n"
		"    match: {source: sync}\n"
		"    nature: transient\n"
		"    scope: email\n"
		"    level: info\n"
		"    retry_window: 90\n"
		"    summary: s\n"
		"    action: a\n"
		"  - code: T2\n"
		"    match: {source: save}\n"
		"    nature: TRANSIENT\n"
		"    scope: Mailbox\n"
		"    retry_limit: 7\n"
		"    retry_window: 2d\n"
		"    summary: s\n"
		"    action: a\n"
		"  - code: LAST\n"
		"    nature: permanent\n"
		"    scope: mailbox\n"
		"    level: warning\n"
		"    summary: s\n"
		"    action: a\n";
	static const struct {
		const char *code;
		enum alertwall_level level;
		enum alertwall_scope scope;
		unsigned int retry_limit, retry_window_secs;
		bool generate;
	} cases[] = {
		{ "T1", ALERTWALL_LEVEL_INFO, ALERTWALL_SCOPE_EMAIL, 3, 90, FALSE },
		{ "T2", ALERTWALL_LEVEL_WARNING, ALERTWALL_SCOPE_MAILBOX,
		  7, 2 * 86400, FALSE },
		{ "LAST", ALERTWALL_LEVEL_WARNING, ALERTWALL_SCOPE_MAILBOX,
		  0, 0, FALSE },
	};
	struct alertwall_rules *rules;
	struct alertwall_classification class;
	const struct alertwall_rule *rule;
	const char *error;
	unsigned int i;

	ck_assert_msg(load_str(yaml, &rules, &error) == 0, "%s", error);
	ck_assert(!alertwall_rules_level_enabled(rules, ALERTWALL_LEVEL_INFO));
	ck_assert(!alertwall_rules_level_enabled(rules, ALERTWALL_LEVEL_WARNING));
	ck_assert(alertwall_rules_level_enabled(rules, ALERTWALL_LEVEL_ERROR));
	/* the file's catch-all is kept: no implicit one */
	ck_assert_uint_eq(alertwall_rules_count(rules), 3);
	ck_assert_ptr_null(alertwall_rules_find_code(rules,
						     ALERTWALL_CODE_UNCLASSIFIED));
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		rule = alertwall_rules_find_code(rules, cases[i].code);
		ck_assert_msg(rule != NULL, "case %u", i);
		alertwall_rule_get_classification(rules, rule, &class);
		ck_assert_msg(strcmp(class.code, cases[i].code) == 0, "case %u", i);
		ck_assert_msg(class.level == cases[i].level, "case %u", i);
		ck_assert_msg(class.scope == cases[i].scope, "case %u", i);
		ck_assert_msg(class.retry_limit == cases[i].retry_limit,
			      "case %u: %u", i, class.retry_limit);
		ck_assert_msg(class.retry_window_secs ==
			      cases[i].retry_window_secs, "case %u: %u", i,
			      class.retry_window_secs);
		ck_assert_msg(class.generate == cases[i].generate, "case %u", i);
	}
	alertwall_rules_free(&rules);
}
END_TEST

START_TEST(test_rules_durations)
{
	static const struct {
		const char *value;
		unsigned int secs;
	} cases[] = {
		{ "1", 1 }, { "90", 90 }, { "30s", 30 }, { "5m", 300 },
		{ "1h", 3600 }, { "2d", 172800 }, { "365d", 365 * 86400 },
		{ "31536000", 31536000 },
	};
	struct alertwall_rules *rules;
	struct alertwall_classification class;
	const char *error;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		const char *yaml = t_strdup_printf(
			"version: 1\ndefaults: {retry_window: %s}\nrules: []\n",
			cases[i].value);

		ck_assert_msg(load_str(yaml, &rules, &error) == 0,
			      "case %u: %s", i, error);
		alertwall_rule_get_classification(rules,
			alertwall_rules_find_code(rules,
				ALERTWALL_CODE_UNCLASSIFIED), &class);
		ck_assert_msg(class.retry_window_secs == cases[i].secs,
			      "case %u: %u", i, class.retry_window_secs);
		alertwall_rules_free(&rules);
	}
}
END_TEST

START_TEST(test_rules_yaml_forms)
{
	/* flow style, quoting, comments, anchors and a null owner all
	   load */
	static const char *yaml =
		"# comment\n"
		"version: 1\n"
		"profiles:\n"
		"  - {name: p1, owner: ~, match: {domain: [a.org, b.org]}}\n"
		"rules:\n"
		"  - code: 'A'\n"
		"    match: &m {source: [sync, userdb], "
		"mail_error: [MAIL_ERROR_TEMP, perm]}\n"
		"    nature: \"transient\"\n"
		"    scope: mailbox\n"
		"    summary: |-\n"
		"      literal %{user}\n"
		"    action: >\n"
		"      folded\n"
		"      text\n"
		"  - code: B\n"
		"    match: *m\n"
		"    nature: permanent\n"
		"    scope: mailbox\n"
		"    summary: s\n"
		"    action: a\n";
	struct alertwall_rules *rules;
	struct alertwall_classification class;
	const struct alertwall_profile *profile;
	const char *error;

	ck_assert_msg(load_str(yaml, &rules, &error) == 0, "%s", error);
	ck_assert_uint_eq(alertwall_rules_count(rules), 3);
	alertwall_rule_get_classification(rules,
		alertwall_rules_find_code(rules, "A"), &class);
	ck_assert_str_eq(class.summary_template, "literal %{user}");
	ck_assert_str_eq(class.action, "folded text\n");
	profile = alertwall_rules_get_profile(rules, "p1");
	ck_assert_ptr_nonnull(profile);
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "");
	alertwall_rules_free(&rules);
}
END_TEST

/* the yaml blocks of doc/rules.md, put together, make a valid file */
START_TEST(test_rules_doc_examples)
{
	const char *path = test_srcdir_path("doc/rules.md");
	struct alertwall_rules *rules;
	struct alertwall_classification class;
	struct alertwall_failure failure;
	const struct alertwall_profile *profile;
	const char *error, *const *lines;
	string_t *yaml, *text;
	char buf[4096];
	unsigned int blocks = 0;
	bool in_block = FALSE;
	ssize_t ret;
	int fd;

	text = t_str_new(8192);
	fd = open(path, O_RDONLY);
	ck_assert_msg(fd != -1, "open(%s): %s", path, strerror(errno));
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(text, buf, ret);
	ck_assert_int_eq(ret, 0);
	i_close_fd(&fd);

	yaml = t_str_new(1024);
	str_append(yaml, "version: 1\n");
	for (lines = t_strsplit(str_c(text), "\n"); *lines != NULL; lines++) {
		if (!in_block && strcmp(*lines, "```yaml") == 0) {
			in_block = TRUE;
			blocks++;
		} else if (in_block && strcmp(*lines, "```") == 0) {
			in_block = FALSE;
		} else if (in_block) {
			str_append(yaml, *lines);
			str_append_c(yaml, '\n');
		}
	}
	ck_assert_uint_ge(blocks, 2);

	ck_assert_msg(load_str(str_c(yaml), &rules, &error) == 0,
		      "%s\n%s", error, str_c(yaml));
	/* the example rule and the implicit catch-all */
	ck_assert_uint_eq(alertwall_rules_count(rules), 2);

	alertwall_failure_init(&failure, ALERTWALL_SOURCE_DELIVERY);
	failure.mail_error = MAIL_ERROR_NOQUOTA;
	failure.errno_value = EDQUOT;
	failure.text = "Quota exceeded (mailbox for user is full)";
	failure.smtp_code = 552;
	failure.smtp_status = "5.2.2";
	failure.event_name = "mail_delivery_finished";
	failure.categories = (const char *const []){ "storage", NULL };
	alertwall_rules_classify(rules, &failure, &class);
	ck_assert_str_eq(class.code, "MAILBOX_QUOTA_EXCEEDED");
	ck_assert_uint_eq(class.retry_limit, 10);
	ck_assert_uint_eq(class.retry_window_secs, 3600);

	profile = alertwall_rules_get_profile(rules, "nfs-a");
	ck_assert_ptr_nonnull(profile);
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "storage-team");
	ck_assert(!alertwall_profile_notify_mailbox_owners(profile));
	profile = alertwall_rules_get_profile(rules, "default");
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "postmaster");
	alertwall_rules_free(&rules);
}
END_TEST

static const char *write_temp_file(const char *data, size_t size)
{
	const char *path = t_strdup_printf("/tmp/alertwall-test-rules.%ld",
					   (long)getpid());
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(fd != -1, "open(%s): %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, size), (ssize_t)size);
	i_close_fd(&fd);
	return path;
}

START_TEST(test_rules_load_file)
{
	struct alertwall_rules *rules;
	const char *path, *error;
	string_t *big;

	/* good file */
	path = write_temp_file(HEAD RULE("A"), strlen(HEAD RULE("A")));
	ck_assert_msg(alertwall_rules_load_file(path, &rules, &error) == 0,
		      "%s", error);
	ck_assert_str_eq(alertwall_rules_get_source(rules), path);
	ck_assert_uint_eq(alertwall_rules_count(rules), 1);
	alertwall_rules_free(&rules);

	/* errors are positioned in the file's own name */
	path = write_temp_file("version: 3\nrules: []\n", 21);
	ck_assert_int_eq(alertwall_rules_load_file(path, &rules, &error), -1);
	ck_assert_ptr_null(rules);
	ck_assert_str_eq(error, t_strdup_printf("%s:1:10: unsupported "
		"version '3' (this alertwall reads version 1)", path));

	/* too large */
	big = t_str_new(1024 * 1024 + 64);
	str_append(big, HEAD);
	while (str_len(big) <= 1024 * 1024)
		str_append(big, "#########################################\n");
	path = write_temp_file(str_c(big), str_len(big));
	ck_assert_int_eq(alertwall_rules_load_file(path, &rules, &error), -1);
	ck_assert_msg(strstr(error, "the rules file is too large") != NULL,
		      "%s", error);
	i_unlink(path);

	/* missing, and a directory */
	ck_assert_int_eq(alertwall_rules_load_file(path, &rules, &error), -1);
	ck_assert_msg(strstr(error, "open() failed") != NULL, "%s", error);
	ck_assert_int_eq(alertwall_rules_load_file("/tmp", &rules, &error), -1);
	ck_assert_msg(strstr(error, "is a directory") != NULL, "%s", error);
}
END_TEST

START_TEST(test_rules_builtin)
{
	struct alertwall_rules *rules, *again;
	const struct alertwall_rule *rule;
	struct alertwall_classification class;
	struct alertwall_failure failure;
	unsigned int count;

	ck_assert(alertwall_rules_builtin_text()[0] != '\0');
	rules = alertwall_rules_get_builtin();
	ck_assert_ptr_nonnull(rules);
	again = alertwall_rules_get_builtin();
	ck_assert_ptr_eq(rules, again);
	ck_assert_str_eq(alertwall_rules_get_source(rules), "builtin");
	count = alertwall_rules_count(rules);
	ck_assert_uint_ge(count, 1);

	/* something that no rule can know still classifies */
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
	failure.text = "\x01 nothing matches this \x02";
	alertwall_rules_classify(rules, &failure, &class);
	ck_assert_ptr_nonnull(class.code);
	rule = class.rule;
	ck_assert(rule->catch_all);
	ck_assert_uint_eq(class.rule_index, count - 1);

	/* freed at deinit, loaded again on demand */
	alertwall_rules_builtin_deinit();
	rules = alertwall_rules_get_builtin();
	ck_assert_ptr_nonnull(rules);
	ck_assert_uint_eq(alertwall_rules_count(rules), count);
	alertwall_rules_builtin_deinit();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rules_errors);
	tcase_add_test(tc, test_rules_error_values_sanitized);
	tcase_add_test(tc, test_rules_all_errors_sorted);
	tcase_add_test(tc, test_rules_limits);
	tcase_add_test(tc, test_rules_defaults);
	tcase_add_test(tc, test_rules_settings);
	tcase_add_test(tc, test_rules_durations);
	tcase_add_test(tc, test_rules_yaml_forms);
	tcase_add_test(tc, test_rules_doc_examples);
	tcase_add_test(tc, test_rules_load_file);
	tcase_add_test(tc, test_rules_builtin);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
