/* Copyright (c) 2026 alertwall authors */

/* tests for alertwall-json: escaping of untrusted bytes and length caps */

#include "lib.h"
#include "str.h"
#include "unichar.h"
#include "alertwall-json.h"
#include "test-alertwall.h"

#define MARKER ALERTWALL_JSON_TRUNCATED_MARKER
#define FFFD "\xEF\xBF\xBD"

struct escape_case {
	const char *input;
	/* input length, for inputs with NULs; 0 means strlen() */
	size_t input_len;
	const char *output;
};

static const struct escape_case escape_cases[] = {
	{ "", 0, "\"\"" },
	{ "plain text", 0, "\"plain text\"" },
	/* quotes and backslashes */
	{ "say \"hi\"", 0, "\"say \\\"hi\\\"\"" },
	{ "C:\\dir\\", 0, "\"C:\\\\dir\\\\\"" },
	{ "a/b", 0, "\"a/b\"" },
	/* control bytes, NUL included, always as \u00XX */
	{ "a\nb\rc\td", 0, "\"a\\u000ab\\u000dc\\u0009d\"" },
	{ "x\0y", 3, "\"x\\u0000y\"" },
	{ "\x01\x1f", 0, "\"\\u0001\\u001f\"" },
	{ "\x1b[31mred", 0, "\"\\u001b[31mred\"" },
	{ "del\x7f", 0, "\"del\\u007f\"" },
	/* C1 controls (U+0085 NEL, U+009B CSI) */
	{ "\xC2\x85\xC2\x9B", 0, "\"\\u0085\\u009b\"" },
	/* JavaScript line ends */
	{ "a\xE2\x80\xA8" "b\xE2\x80\xA9", 0, "\"a\\u2028b\\u2029\"" },
	/* valid UTF-8 passes through */
	{ "K\xC3\xA4se \xE2\x82\xAC \xF0\x9F\x93\xAC", 0,
	  "\"K\xC3\xA4se \xE2\x82\xAC \xF0\x9F\x93\xAC\"" },
	{ "\xC2\xA0\xEF\xBF\xBD\xF4\x8F\xBF\xBF", 0,
	  "\"\xC2\xA0\xEF\xBF\xBD\xF4\x8F\xBF\xBF\"" },
	/* overlong forms */
	{ "\xC0\xAF", 0, "\"" FFFD "\"" },
	{ "\xC1\xBF" "a", 0, "\"" FFFD "a\"" },
	{ "\xE0\x80\xAF", 0, "\"" FFFD "\"" },
	{ "\xF0\x80\x80\xAF", 0, "\"" FFFD "\"" },
	/* UTF-16 surrogates */
	{ "\xED\xA0\x80", 0, "\"" FFFD "\"" },
	{ "\xED\xBF\xBF" "z", 0, "\"" FFFD "z\"" },
	/* above U+10FFFF, 5 and 6 byte forms, bytes never valid */
	{ "\xF4\x90\x80\x80", 0, "\"" FFFD "\"" },
	{ "\xF8\x88\x80\x80\x80", 0, "\"" FFFD "\"" },
	{ "\xFC\x84\x80\x80\x80\x80", 0, "\"" FFFD "\"" },
	{ "a\xFE" "b\xFF" "c", 0, "\"a" FFFD "b" FFFD "c\"" },
	/* truncated sequences, at the end and in the middle */
	{ "ab\xE2\x82", 0, "\"ab" FFFD "\"" },
	{ "\xE2\x82" "c", 0, "\"" FFFD "c\"" },
	{ "\xF0\x9F\x93", 0, "\"" FFFD "\"" },
	{ "\xC3", 0, "\"" FFFD "\"" },
	{ "\xC3\0", 2, "\"" FFFD "\\u0000\"" },
	/* stray continuation bytes: one replacement per run */
	{ "\x80\x80\x80" "x\x80", 0, "\"" FFFD "x" FFFD "\"" },
	/* an invalid byte followed by a quote keeps the quote escaped */
	{ "\xC3\"", 0, "\"" FFFD "\\\"\"" },
};

START_TEST(test_json_escape)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(escape_cases); i++) T_BEGIN {
		const struct escape_case *c = &escape_cases[i];
		size_t len = c->input_len != 0 ? c->input_len :
			strlen(c->input);
		string_t *str = t_str_new(64);

		str_append(str, "x=");
		alertwall_json_append_data(str, c->input, len);
		ck_assert_msg(strcmp(str_c(str) + 2, c->output) == 0,
			      "case %u: got %s", i, str_c(str));
		ck_assert_msg(alertwall_json_string_len(c->input, len) ==
			      strlen(c->output), "case %u: length", i);
		ck_assert_msg(uni_utf8_data_is_valid(str_data(str),
						     str_len(str)),
			      "case %u: invalid UTF-8 output", i);
		if (c->input_len == 0) {
			str_truncate(str, 0);
			alertwall_json_append_string(str, c->input);
			ck_assert_msg(strcmp(str_c(str), c->output) == 0,
				      "case %u: string variant", i);
		}
	} T_END;
}
END_TEST

START_TEST(test_json_null)
{
	string_t *str = t_str_new(16);

	alertwall_json_append_string_or_null(str, NULL);
	str_append_c(str, ',');
	alertwall_json_append_string_or_null(str, "a\"");
	ck_assert_str_eq(str_c(str), "null,\"a\\\"\"");
}
END_TEST

struct cap_case {
	const char *input;
	size_t max_len;
	const char *output;
	bool truncated;
};

static const struct cap_case cap_cases[] = {
	/* fits exactly: no marker */
	{ "abcdef", 8, "\"abcdef\"", FALSE },
	{ "abcdef", 100, "\"abcdef\"", FALSE },
	/* one byte short: cut so that the 3 byte marker fits */
	{ "abcdef", 7, "\"ab" MARKER "\"", TRUE },
	{ "abcdefghij", 10, "\"abcde" MARKER "\"", TRUE },
	/* only the marker fits */
	{ "abcdef", ALERTWALL_JSON_MIN_CAP, "\"" MARKER "\"", TRUE },
	{ "", ALERTWALL_JSON_MIN_CAP, "\"\"", FALSE },
	/* never inside a UTF-8 sequence: a 4 byte char does not fit in 3 */
	{ "\xF0\x9F\x93\xAC\xF0\x9F\x93\xAC", 9, "\"\xF0\x9F\x93\xAC" MARKER "\"",
	  TRUE },
	{ "\xF0\x9F\x93\xAC\xF0\x9F\x93\xAC", 8, "\"" MARKER "\"", TRUE },
	/* never inside an escape */
	{ "ab\n\ncd", 13, "\"ab\\u000a" MARKER "\"", TRUE },
	{ "ab\n\ncd", 12, "\"ab" MARKER "\"", TRUE },
	{ "ab\"\"\"", 10, "\"ab\\\"\\\"\\\"\"", FALSE },
	{ "ab\"\"\"", 9, "\"ab\\\"" MARKER "\"", TRUE },
	{ "ab\"\"\"", 8, "\"ab" MARKER "\"", TRUE },
	/* the replacement character counts with its 3 bytes */
	{ "\xFF\xFF" "a\xFF", 9, "\"" FFFD "a" FFFD "\"", FALSE },
	{ "\xFF\xFF" "a\xFF", 8, "\"" FFFD MARKER "\"", TRUE },
};

START_TEST(test_json_cap)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cap_cases); i++) T_BEGIN {
		const struct cap_case *c = &cap_cases[i];
		string_t *str = t_str_new(64);
		bool truncated;

		str_append(str, "[");
		truncated = alertwall_json_append_string_max(str, c->input,
							     c->max_len);
		ck_assert_msg(strcmp(str_c(str) + 1, c->output) == 0,
			      "case %u: got %s", i, str_c(str));
		ck_assert_msg(truncated == c->truncated, "case %u: truncated", i);
		ck_assert_msg(str_len(str) - 1 <= c->max_len,
			      "case %u: over the cap", i);
	} T_END;
}
END_TEST

/* every cap over a long hostile input stays within the cap, is valid
   UTF-8 and ends in a complete literal */
START_TEST(test_json_cap_sweep)
{
	static const char unit[] = "a\xC3\xA4\n\"\\\xE2\x80\xA8\xFF\xF0\x9F\x93\xAC";
	string_t *input = t_str_new(1024);
	size_t max_len, full_len;
	unsigned int i;

	for (i = 0; i < 40; i++)
		str_append(input, unit);
	full_len = alertwall_json_string_len(str_data(input), str_len(input));

	for (max_len = ALERTWALL_JSON_MIN_CAP; max_len <= full_len + 2;
	     max_len++) T_BEGIN {
		string_t *str = t_str_new(1024);
		const unsigned char *p;
		size_t len;
		bool truncated;

		truncated = alertwall_json_append_data_max(
			str, str_data(input), str_len(input), max_len);
		p = str_data(str);
		len = str_len(str);
		ck_assert_msg(len <= max_len, "cap %zu: %zu bytes", max_len, len);
		ck_assert_msg(truncated == (max_len < full_len),
			      "cap %zu: truncated", max_len);
		ck_assert_msg(uni_utf8_data_is_valid(p, len), "cap %zu", max_len);
		ck_assert_msg(p[0] == '"' && p[len - 1] == '"' &&
			      p[len - 2] != '\\', "cap %zu: %s", max_len,
			      str_c(str));
		if (truncated) {
			/* the cut leaves at most one unit of slack */
			ck_assert_msg(len + 6 > max_len,
				      "cap %zu: cut too early (%zu)",
				      max_len, len);
		}
	} T_END;
}
END_TEST

struct utf8_case {
	const char *input;
	unsigned int len;
	uint32_t chr;
};

static const struct utf8_case utf8_cases[] = {
	{ "A", 1, 'A' },
	{ "\xC2\x80", 2, 0x80 },
	{ "\xDF\xBF", 2, 0x7ff },
	{ "\xE0\xA0\x80", 3, 0x800 },
	{ "\xED\x9F\xBF", 3, 0xd7ff },
	{ "\xEE\x80\x80", 3, 0xe000 },
	{ "\xF0\x90\x80\x80", 4, 0x10000 },
	{ "\xF4\x8F\xBF\xBF", 4, 0x10ffff },
	{ "\xC0\x80", 0, 0 },
	{ "\xE0\x9F\xBF", 0, 0 },
	{ "\xED\xA0\x80", 0, 0 },
	{ "\xF0\x8F\xBF\xBF", 0, 0 },
	{ "\xF4\x90\x80\x80", 0, 0 },
	{ "\xF5\x80\x80\x80", 0, 0 },
	{ "\xC2" "A", 0, 0 },
	{ "\x80", 0, 0 },
};

START_TEST(test_utf8_decode)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(utf8_cases); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		uint32_t chr = 0xdeadbeef;
		unsigned int len;

		len = alertwall_utf8_decode((const unsigned char *)c->input,
					    strlen(c->input), &chr);
		ck_assert_msg(len == c->len, "case %u: len %u", i, len);
		if (len > 0)
			ck_assert_msg(chr == c->chr, "case %u: chr %x", i, chr);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_json_null);
	tcase_add_test(tc, test_json_cap);
	tcase_add_test(tc, test_json_cap_sweep);
	tcase_add_test(tc, test_utf8_decode);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
