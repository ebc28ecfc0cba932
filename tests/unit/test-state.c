/* Copyright (c) 2026 alertwall authors */

/* The alert life cycle with a controllable clock: windows, limits, repeat
   logging, reminders, resolve hold-down, dismiss, suspension, clock jumps,
   and the state's serialization. */

#include "lib.h"
#include "str.h"
#include "test-alertwall.h"
#include "alertwall-state.h"

#define R ALERTWALL_ACTION_RAISE
#define LR ALERTWALL_ACTION_LOG_REPEAT
#define E ALERTWALL_ACTION_ESCALATE
#define RM ALERTWALL_ACTION_REMIND
#define RS ALERTWALL_ACTION_RESOLVE
#define S ALERTWALL_ACTION_SUSPEND

#define HOUR 3600

enum step_kind { FAIL, OK, DISMISS };

struct step {
	enum step_kind kind;
	time_t now;
	unsigned int expected;
};

struct scenario {
	const char *name;
	enum alertwall_nature nature;
	enum alertwall_scope scope;
	unsigned int retry_limit;
	unsigned int retry_window;
	bool suspend;
	struct step steps[12];
	unsigned int step_count;
	enum alertwall_status final_status;
	bool final_suspended;
};

static const struct scenario scenarios[] = {
	{ "escalates exactly at the limit, once",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 3, 600, TRUE,
	  { { FAIL, 0, R }, { FAIL, 10, 0 }, { FAIL, 20, E | S },
	    { FAIL, 30, 0 }, { FAIL, 100, LR }, { FAIL, 110, 0 } }, 6,
	  ALERTWALL_STATUS_PERMANENT, TRUE },
	{ "repeats are logged at most once a minute",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_EMAIL, 100, 0, TRUE,
	  { { FAIL, 0, R }, { FAIL, 59, 0 }, { FAIL, 60, LR },
	    { FAIL, 61, 0 }, { FAIL, 120, LR } }, 5,
	  ALERTWALL_STATUS_OPEN, FALSE },
	{ "attempts outside the window start a new count",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 3, 100, TRUE,
	  { { FAIL, 0, R }, { FAIL, 50, 0 }, { FAIL, 200, LR },
	    { FAIL, 210, 0 }, { FAIL, 220, E | S } }, 5,
	  ALERTWALL_STATUS_PERMANENT, TRUE },
	{ "a permanent code is raised so, suspends, and is never escalated",
	  ALERTWALL_NATURE_PERMANENT, ALERTWALL_SCOPE_MAILBOX, 0, 0, TRUE,
	  { { FAIL, 0, R | S }, { FAIL, 10, 0 }, { OK, 20, 0 },
	    { OK, 4000, 0 } }, 4,
	  ALERTWALL_STATUS_PERMANENT, TRUE },
	{ "no suspension when the policy is off",
	  ALERTWALL_NATURE_PERMANENT, ALERTWALL_SCOPE_MAILBOX, 0, 0, FALSE,
	  { { FAIL, 0, R } }, 1, ALERTWALL_STATUS_PERMANENT, FALSE },
	{ "email- and profile-level codes never suspend a mailbox",
	  ALERTWALL_NATURE_PERMANENT, ALERTWALL_SCOPE_EMAIL, 0, 0, TRUE,
	  { { FAIL, 0, R } }, 1, ALERTWALL_STATUS_PERMANENT, FALSE },
	{ "reminders after 4 h, 8 h, 24 h, then daily",
	  ALERTWALL_NATURE_PERMANENT, ALERTWALL_SCOPE_PROFILE, 0, 0, TRUE,
	  { { FAIL, 0, R }, { FAIL, 4 * HOUR - 1, LR },
	    { FAIL, 4 * HOUR, RM }, { FAIL, 4 * HOUR + 30, 0 },
	    { FAIL, 12 * HOUR, LR | RM }, { FAIL, 36 * HOUR, LR | RM },
	    { FAIL, 59 * HOUR, LR }, { FAIL, 60 * HOUR, LR | RM },
	    { FAIL, 84 * HOUR, LR | RM } }, 9,
	  ALERTWALL_STATUS_PERMANENT, FALSE },
	{ "success resolves only after the hold-down, a failure restarts it",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 10, 3600, TRUE,
	  { { FAIL, 0, R }, { OK, 10, 0 }, { OK, 200, 0 },
	    { FAIL, 250, LR }, { OK, 300, 0 }, { OK, 599, 0 },
	    { OK, 600, RS }, { OK, 700, 0 }, { FAIL, 800, R } }, 9,
	  ALERTWALL_STATUS_OPEN, FALSE },
	{ "a limit of one escalates the first attempt",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 1, 60, TRUE,
	  { { FAIL, 0, R | E | S } }, 1, ALERTWALL_STATUS_PERMANENT, TRUE },
	{ "dismiss closes, lifts the suspension; the failure comes back new",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 2, 600, TRUE,
	  { { FAIL, 0, R }, { FAIL, 5, E | S }, { DISMISS, 10, 0 },
	    { FAIL, 20, R }, { FAIL, 30, E | S } }, 5,
	  ALERTWALL_STATUS_PERMANENT, TRUE },
	{ "a clock jumping back neither raises again nor counts negative",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 3, 100, TRUE,
	  { { FAIL, 1000, R }, { FAIL, 10, 0 }, { FAIL, 20, E | S } }, 3,
	  ALERTWALL_STATUS_PERMANENT, TRUE },
	{ "a clock jumping forward starts a new window",
	  ALERTWALL_NATURE_TRANSIENT, ALERTWALL_SCOPE_MAILBOX, 3, 100, TRUE,
	  { { FAIL, 0, R }, { FAIL, 10, 0 }, { FAIL, 1000000, LR | RM },
	    { FAIL, 1000001, 0 } }, 4,
	  ALERTWALL_STATUS_OPEN, FALSE },
};

START_TEST(test_state_scenarios)
{
	const struct scenario *sc = &scenarios[_i];
	struct alertwall_classification class;
	struct alertwall_policy policy = alertwall_policy_default;
	struct alertwall_object_state state;
	unsigned int i, actions = 0;

	i_zero(&class);
	class.code = "TEST_CODE";
	class.nature = sc->nature;
	class.scope = sc->scope;
	class.retry_limit = sc->retry_limit;
	class.retry_window_secs = sc->retry_window;
	policy.suspend = sc->suspend;
	i_zero(&state);

	for (i = 0; i < sc->step_count; i++) {
		const struct step *step = &sc->steps[i];

		switch (step->kind) {
		case FAIL:
			actions = alertwall_state_failure(&state, &class,
							  step->now, &policy);
			break;
		case OK:
			actions = alertwall_state_success(&state, step->now,
							  &policy);
			break;
		case DISMISS:
			alertwall_state_dismiss(&state, step->now);
			actions = 0;
			break;
		}
		ck_assert_msg(actions == step->expected,
			      "%s: step %u (t=%lld): actions 0x%x, wanted 0x%x",
			      sc->name, i, (long long)step->now, actions,
			      step->expected);
	}
	ck_assert_msg(state.status == sc->final_status, "%s: status %s",
		      sc->name, alertwall_status_name(state.status));
	ck_assert_msg(state.suspended == sc->final_suspended,
		      "%s: suspended %d", sc->name, state.suspended);
	ck_assert_msg(state.total >= state.attempts, "%s: counters", sc->name);
}
END_TEST

START_TEST(test_state_counters)
{
	struct alertwall_classification class;
	struct alertwall_object_state state;
	unsigned int i;

	i_zero(&class);
	class.code = "C";
	class.retry_limit = 1000;
	class.retry_window_secs = 3600;
	i_zero(&state);
	for (i = 0; i < 10; i++)
		(void)alertwall_state_failure(&state, &class, 100 + i,
					      &alertwall_policy_default);
	ck_assert_uint_eq(state.attempts, 10);
	ck_assert_uint_eq(state.consecutive, 10);
	ck_assert_uint_eq(state.total, 10);
	ck_assert_int_eq(state.first_seen, 100);
	ck_assert_int_eq(state.last_seen, 109);
	(void)alertwall_state_success(&state, 200, &alertwall_policy_default);
	ck_assert_uint_eq(state.consecutive, 0);
	ck_assert_int_eq(state.last_success, 200);
	ck_assert_uint_eq(state.total, 10);
}
END_TEST

START_TEST(test_state_serialize_roundtrip)
{
	struct alertwall_object_state state, parsed;
	string_t *str = t_str_new(256);
	const char *error;

	i_zero(&state);
	state.status = ALERTWALL_STATUS_PERMANENT;
	state.nature = ALERTWALL_NATURE_PERMANENT;
	state.first_seen = 1700000000;
	state.last_seen = 1700000500;
	state.window_start = 1700000100;
	state.attempts = 7;
	state.consecutive = 9;
	state.total = 4000000000U;
	state.last_mailed = 1700000200;
	state.reminders = 3;
	state.last_repeat_logged = 1700000300;
	state.success_since = 0;
	state.last_success = 1690000000;
	state.suspended = TRUE;
	alertwall_state_serialize(&state, str);
	ck_assert_ptr_null(strchr(str_c(str), '\n'));
	ck_assert_int_eq(alertwall_state_parse(str_c(str), &parsed, &error), 0);
	ck_assert_int_eq(memcmp(&state, &parsed, sizeof(state)), 0);
}
END_TEST

static const struct {
	const char *line;
	int ret;
} parse_cases[] = {
	{ "status=open\tattempts=3", 0 },
	{ "status=open\tfuture_field=whatever", 0 },
	{ "", 0 },
	{ "status=bogus", -1 },
	{ "nature=sometimes", -1 },
	{ "attempts=-1", -1 },
	{ "attempts=99999999999", -1 },
	{ "attempts=12x", -1 },
	{ "first=", -1 },
	{ "noequals", -1 },
};

START_TEST(test_state_parse_errors)
{
	struct alertwall_object_state state;
	const char *error = NULL;
	int ret;

	ret = alertwall_state_parse(parse_cases[_i].line, &state, &error);
	ck_assert_msg(ret == parse_cases[_i].ret, "case %d '%s': ret %d",
		      _i, parse_cases[_i].line, ret);
	if (ret < 0)
		ck_assert_msg(error != NULL && *error != '\0', "case %d", _i);
}
END_TEST

START_TEST(test_state_keys)
{
	struct alertwall_classification class;
	struct alertwall_failure failure;
	string_t *a = t_str_new(64), *b = t_str_new(64);

	i_zero(&class);
	class.code = "CODE";
	alertwall_failure_init(&failure, ALERTWALL_SOURCE_DELIVERY);
	failure.user = "alice";
	failure.mailbox = "INBOX";
	failure.message_id = "<m1@x>";

	class.scope = ALERTWALL_SCOPE_PROFILE;
	alertwall_state_key(&class, &failure, "nfs", a);
	ck_assert_str_eq(str_c(a), "CODE\tprofile\tnfs");

	str_truncate(a, 0);
	class.scope = ALERTWALL_SCOPE_MAILBOX;
	alertwall_state_key(&class, &failure, "nfs", a);
	ck_assert_str_eq(str_c(a), "CODE\tmailbox\talice");

	str_truncate(a, 0);
	class.scope = ALERTWALL_SCOPE_EMAIL;
	alertwall_state_key(&class, &failure, "nfs", a);
	ck_assert_str_eq(str_c(a), "CODE\temail\talice\tINBOX\t<m1@x>");

	/* a tab inside a value cannot forge another object's key */
	str_truncate(a, 0);
	str_truncate(b, 0);
	failure.user = "al\tice";
	class.scope = ALERTWALL_SCOPE_MAILBOX;
	alertwall_state_key(&class, &failure, NULL, a);
	failure.user = "al";
	failure.mailbox = "ice";
	class.scope = ALERTWALL_SCOPE_EMAIL;
	failure.message_id = NULL;
	alertwall_state_key(&class, &failure, NULL, b);
	ck_assert_str_ne(str_c(a), str_c(b));
	ck_assert_ptr_null(strchr(str_c(a), '\n'));
}
END_TEST

START_TEST(test_status_names)
{
	enum alertwall_status status;
	unsigned int i;

	for (i = 0; i < ALERTWALL_STATUS_COUNT; i++) {
		ck_assert_int_eq(alertwall_status_parse(
			alertwall_status_name(i), &status), 0);
		ck_assert_int_eq(status, i);
	}
	ck_assert_ptr_null(alertwall_status_name(ALERTWALL_STATUS_COUNT));
	ck_assert_int_eq(alertwall_status_parse("nope", &status), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_loop_test(tc, test_state_scenarios, 0, N_ELEMENTS(scenarios));
	tcase_add_test(tc, test_state_counters);
	tcase_add_test(tc, test_state_serialize_roundtrip);
	tcase_add_loop_test(tc, test_state_parse_errors, 0,
			    N_ELEMENTS(parse_cases));
	tcase_add_test(tc, test_state_keys);
	tcase_add_test(tc, test_status_names);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
