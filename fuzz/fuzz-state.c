/* Copyright (c) 2026 alertwall authors */

/* fuzz-state: libFuzzer harness for the object state line that the state
   stores keep (alertwall_state_parse/serialize in alertwall-state.c). The
   input, up to its first NUL, is one stored line. A line that parses
   must serialize to one line without control bytes but TAB, which parses
   back to the same state and serializes to the same text again (round
   trip); a line that does not parse must say why. After the NUL, each 7
   bytes are one event for the parsed state (a stored state may be old,
   or written by another version): kind (failure, success, dismiss) and
   the rule's nature and scope (1 byte), time (4 bytes), retry limit (1)
   and retry window in minutes (1). Each event must leave a state whose
   actions agree with it and which still round-trips. Built by
   fuzz/run. */

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

static void fuzz_state_round_trip(const struct alertwall_object_state *state)
{
	struct alertwall_object_state state2;
	const char *error = NULL;
	const unsigned char *p;
	string_t *str, *str2;

	FUZZ_CHECK((unsigned int)state->status < ALERTWALL_STATUS_COUNT,
		   "status %u out of range", state->status);
	FUZZ_CHECK((unsigned int)state->nature < ALERTWALL_NATURE_COUNT,
		   "nature %u out of range", state->nature);

	str = t_str_new(256);
	alertwall_state_serialize(state, str);
	for (p = str_data(str); p < str_data(str) + str_len(str); p++) {
		FUZZ_CHECK(*p == '\t' || (*p >= 0x20 && *p < 0x7f),
			   "serialized state has byte 0x%02x", *p);
	}
	FUZZ_CHECK(alertwall_state_parse(str_c(str), &state2, &error) == 0,
		   "serialized state does not parse: %s ('%s')", error,
		   str_c(str));
	fuzz_state_compare(state, &state2);

	str2 = t_str_new(256);
	alertwall_state_serialize(&state2, str2);
	FUZZ_CHECK(str_equals(str, str2), "serialized twice differs:\n%s\n%s",
		   str_c(str), str_c(str2));
}

static void
fuzz_state_event(struct alertwall_object_state *state,
		 struct fuzz_input *input)
{
	struct alertwall_classification class;
	enum alertwall_status status = state->status;
	unsigned int kind, actions;
	time_t now, last_seen = state->last_seen;

	kind = fuzz_input_u8(input);
	now = (time_t)fuzz_input_u32(input);
	i_zero(&class);
	class.code = "FUZZ";
	class.nature = (kind >> 2) % ALERTWALL_NATURE_COUNT;
	class.scope = (kind >> 3) % ALERTWALL_SCOPE_COUNT;
	if (class.nature == ALERTWALL_NATURE_TRANSIENT) {
		class.retry_limit = fuzz_input_u8(input) + 1;
		class.retry_window_secs = fuzz_input_u8(input) * 60;
	} else {
		(void)fuzz_input_u16(input);
	}

	switch (kind % 4) {
	case 0:
	case 3:
		actions = alertwall_state_failure(state, &class, now,
						  &alertwall_policy_default);
		FUZZ_CHECK(state->status == ALERTWALL_STATUS_OPEN ||
			   state->status == ALERTWALL_STATUS_PERMANENT,
			   "a failure left status %u", state->status);
		FUZZ_CHECK(state->last_seen >= last_seen,
			   "last_seen went back");
		FUZZ_CHECK((actions & ALERTWALL_ACTION_ESCALATE) == 0 ||
			   state->status == ALERTWALL_STATUS_PERMANENT,
			   "escalated but not permanent");
		FUZZ_CHECK((actions & ALERTWALL_ACTION_SUSPEND) == 0 ||
			   (state->suspended &&
			    class.scope == ALERTWALL_SCOPE_MAILBOX),
			   "suspend action without suspension");
		FUZZ_CHECK((actions & ALERTWALL_ACTION_RESOLVE) == 0,
			   "a failure resolved");
		break;
	case 1:
		actions = alertwall_state_success(state, now,
						  &alertwall_policy_default);
		FUZZ_CHECK((actions & ~ALERTWALL_ACTION_RESOLVE) == 0,
			   "a success did more than resolve: %x", actions);
		/* only an open transient alert resolves, and only then
		   the status changes */
		FUZZ_CHECK((actions != 0) ==
			   (status == ALERTWALL_STATUS_OPEN &&
			    state->status == ALERTWALL_STATUS_RESOLVED),
			   "resolve action and status disagree");
		FUZZ_CHECK(actions != 0 || state->status == status,
			   "a success changed status %u to %u", status,
			   state->status);
		FUZZ_CHECK(state->consecutive == 0,
			   "a success left consecutive failures");
		break;
	default:
		alertwall_state_dismiss(state, now);
		FUZZ_CHECK(state->status == ALERTWALL_STATUS_DISMISSED &&
			   !state->suspended, "dismiss left an open state");
		break;
	}
	fuzz_state_round_trip(state);
}

static void fuzz_state(struct fuzz_input *input)
{
	struct alertwall_object_state state;
	const char *line, *error = NULL;
	unsigned int i;

	line = fuzz_input_string(input);
	if (alertwall_state_parse(line == NULL ? "" : line, &state,
				  &error) < 0) {
		FUZZ_CHECK(error != NULL && *error != '\0',
			   "parse failed without an error");
		return;
	}
	fuzz_state_round_trip(&state);
	for (i = 0; i < 64 && input->pos < input->size; i++)
		fuzz_state_event(&state, input);
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
	fuzz_run(data, size, fuzz_state);
	return 0;
}
