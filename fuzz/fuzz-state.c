/* Copyright (c) 2026 alertwall authors */

/* fuzz-state: libFuzzer harness for the object state line that the state
   stores keep (alertwall_state_parse/serialize in alertwall-state.c). The
   input, up to its first NUL, is one stored line. A line that parses
   must serialize to one line without control bytes but TAB, which parses
   back to the same state and serializes to the same text again (round
   trip); a line that does not parse must say why. Built by fuzz/run. */

#include "lib.h"
#include "str.h"
#include "alertwall-state.h"
#include "fuzz-common.h"

static void
fuzz_state_compare(const struct alertwall_object_state *s1,
		   const struct alertwall_object_state *s2)
{
#define FUZZ_SAME(field) \
	FUZZ_CHECK(s1->field == s2->field, "%s: %lld != %lld", #field, \
		   (long long)s1->field, (long long)s2->field)
	FUZZ_SAME(status);
	FUZZ_SAME(nature);
	FUZZ_SAME(first_seen);
	FUZZ_SAME(last_seen);
	FUZZ_SAME(window_start);
	FUZZ_SAME(attempts);
	FUZZ_SAME(consecutive);
	FUZZ_SAME(total);
	FUZZ_SAME(last_mailed);
	FUZZ_SAME(reminders);
	FUZZ_SAME(last_repeat_logged);
	FUZZ_SAME(success_since);
	FUZZ_SAME(last_success);
	FUZZ_SAME(suspended);
#undef FUZZ_SAME
}

static void fuzz_state(const char *line)
{
	struct alertwall_object_state state, state2;
	const char *error = NULL;
	const unsigned char *p;
	string_t *str, *str2;

	if (alertwall_state_parse(line, &state, &error) < 0) {
		FUZZ_CHECK(error != NULL && *error != '\0',
			   "parse failed without an error");
		return;
	}
	FUZZ_CHECK((unsigned int)state.status < ALERTWALL_STATUS_COUNT,
		   "status %u out of range", state.status);
	FUZZ_CHECK((unsigned int)state.nature < ALERTWALL_NATURE_COUNT,
		   "nature %u out of range", state.nature);

	str = t_str_new(256);
	alertwall_state_serialize(&state, str);
	for (p = str_data(str); p < str_data(str) + str_len(str); p++) {
		FUZZ_CHECK(*p == '\t' || (*p >= 0x20 && *p < 0x7f),
			   "serialized state has byte 0x%02x", *p);
	}
	error = NULL;
	FUZZ_CHECK(alertwall_state_parse(str_c(str), &state2, &error) == 0,
		   "serialized state does not parse: %s ('%s')", error,
		   str_c(str));
	fuzz_state_compare(&state, &state2);

	str2 = t_str_new(256);
	alertwall_state_serialize(&state2, str2);
	FUZZ_CHECK(str_equals(str, str2), "serialized twice differs:\n%s\n%s",
		   str_c(str), str_c(str2));
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
		const char *line = fuzz_input_string(&input);

		fuzz_state(line == NULL ? "" : line);
	} T_END;
	return 0;
}
