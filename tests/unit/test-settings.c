/* Copyright (c) 2026 alertwall authors */

/* plugin {} settings to engine settings: the names the mail plugin and the
   doveadm module share, their defaults, the empty alertwall_state that
   means "no state", booleans and bad times or numbers. */

#include "lib.h"
#include "test-alertwall.h"
#include "alertwall-settings.h"

#define DEF UINT_MAX

/* a plugin {} block: name/value pairs, NULL-terminated */
struct env_case {
	const char *name;
	const char *env[16];
	/* expected fields; NULL and DEF mean the engine default */
	const char *rules_path;
	const char *log_path;
	const char *state_uri;
	const char *spool_dir;
	const char *admin;
	const char *from;
	const char *notify_socket;
	bool mute;
	bool suspend;
	unsigned int resolve_hold_secs;
	unsigned int repeat_log_interval_secs;
	unsigned int correlate_mailboxes;
	unsigned int correlate_window_secs;
};

static const struct env_case env_cases[] = {
	{ "nothing set: the defaults",
	  { NULL },
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  FALSE, TRUE, DEF, DEF, DEF, DEF },
	{ "every string setting",
	  { ALERTWALL_SETTING_RULES, "/r.yaml",
	    ALERTWALL_SETTING_LOG, "/l.jsonl",
	    ALERTWALL_SETTING_STATE, "redis:host=127.0.0.1",
	    ALERTWALL_SETTING_SPOOL, "/spool",
	    ALERTWALL_SETTING_ADMIN, "boss",
	    ALERTWALL_SETTING_FROM, "aw@example.test", NULL },
	  "/r.yaml", "/l.jsonl", "redis:host=127.0.0.1", "/spool", "boss",
	  "aw@example.test", NULL,
	  FALSE, TRUE, DEF, DEF, DEF, DEF },
	{ "empty strings keep the defaults, an empty state keeps no state",
	  { ALERTWALL_SETTING_RULES, "", ALERTWALL_SETTING_LOG, "",
	    ALERTWALL_SETTING_STATE, "", ALERTWALL_SETTING_ADMIN, "",
	    ALERTWALL_SETTING_NOTIFY_SOCKET, "", NULL },
	  NULL, NULL, "", NULL, NULL, NULL, NULL,
	  FALSE, TRUE, DEF, DEF, DEF, DEF },
	{ "booleans, times and numbers",
	  { ALERTWALL_SETTING_MUTE, "YES", ALERTWALL_SETTING_SUSPEND, "no",
	    ALERTWALL_SETTING_RESOLVE_HOLD, "2 mins",
	    ALERTWALL_SETTING_REPEAT_LOG_INTERVAL, "5s",
	    ALERTWALL_SETTING_CORRELATE_MAILBOXES, "3",
	    ALERTWALL_SETTING_CORRELATE_WINDOW, "10m",
	    ALERTWALL_SETTING_NOTIFY_SOCKET, "/run/aw", NULL },
	  NULL, NULL, NULL, NULL, NULL, NULL, "/run/aw",
	  TRUE, FALSE, 120, 5, 3, 600 },
	{ "bad times and numbers keep the defaults",
	  { ALERTWALL_SETTING_RESOLVE_HOLD, "soon",
	    ALERTWALL_SETTING_REPEAT_LOG_INTERVAL, "5 fortnights",
	    ALERTWALL_SETTING_CORRELATE_MAILBOXES, "ten",
	    ALERTWALL_SETTING_MUTE, "1", ALERTWALL_SETTING_SUSPEND, "TRUE",
	    NULL },
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  TRUE, TRUE, DEF, DEF, DEF, DEF },
};

static const char *test_getenv(const char *name, void *context)
{
	const char *const *env = context;

	for (; *env != NULL; env += 2) {
		if (strcmp(env[0], name) == 0)
			return env[1];
	}
	return NULL;
}

static unsigned int expect_uint(unsigned int value, unsigned int default_value)
{
	return value != DEF ? value : default_value;
}

static const char *expect_str(const char *value, const char *default_value)
{
	return value != NULL ? value : default_value;
}

START_TEST(test_settings_fill)
{
	const struct env_case *c = &env_cases[_i];
	struct alertwall_engine_settings def, set;
	unsigned int i = _i;

	alertwall_engine_settings_init(&def);
	alertwall_settings_fill(&set, test_getenv, (void *)c->env, "/base");

	ck_assert_msg(strcmp(set.rules_path,
			     expect_str(c->rules_path, def.rules_path)) == 0,
		      "case %u (%s): rules %s", i, c->name, set.rules_path);
	ck_assert_msg(strcmp(set.log_path,
			     expect_str(c->log_path, def.log_path)) == 0,
		      "case %u (%s): log %s", i, c->name, set.log_path);
	ck_assert_msg(strcmp(set.state_uri,
			     expect_str(c->state_uri, def.state_uri)) == 0,
		      "case %u (%s): state %s", i, c->name, set.state_uri);
	ck_assert_msg(strcmp(set.spool.spool_dir,
			     expect_str(c->spool_dir, def.spool.spool_dir)) == 0,
		      "case %u (%s): spool", i, c->name);
	ck_assert_msg(strcmp(set.spool.admin,
			     expect_str(c->admin, def.spool.admin)) == 0,
		      "case %u (%s): admin", i, c->name);
	ck_assert_msg(null_strcmp(set.spool.from, c->from) == 0,
		      "case %u (%s): from", i, c->name);
	ck_assert_msg(strcmp(set.spool.notify_socket,
			     expect_str(c->notify_socket,
					def.spool.notify_socket)) == 0,
		      "case %u (%s): notify socket", i, c->name);
	ck_assert_msg(strcmp(set.spool.base_dir, "/base") == 0,
		      "case %u (%s): base_dir", i, c->name);
	ck_assert_msg(set.mute == c->mute, "case %u (%s): mute", i, c->name);
	ck_assert_msg(set.policy.suspend == c->suspend,
		      "case %u (%s): suspend", i, c->name);
	ck_assert_msg(set.policy.resolve_hold_secs ==
		      expect_uint(c->resolve_hold_secs,
				  def.policy.resolve_hold_secs),
		      "case %u (%s): resolve hold %u", i, c->name,
		      set.policy.resolve_hold_secs);
	ck_assert_msg(set.policy.repeat_log_interval_secs ==
		      expect_uint(c->repeat_log_interval_secs,
				  def.policy.repeat_log_interval_secs),
		      "case %u (%s): repeat interval %u", i, c->name,
		      set.policy.repeat_log_interval_secs);
	ck_assert_msg(set.correlate_mailboxes ==
		      expect_uint(c->correlate_mailboxes, def.correlate_mailboxes),
		      "case %u (%s): correlate mailboxes %u", i, c->name,
		      set.correlate_mailboxes);
	ck_assert_msg(set.correlate_window_secs ==
		      expect_uint(c->correlate_window_secs,
				  def.correlate_window_secs),
		      "case %u (%s): correlate window %u", i, c->name,
		      set.correlate_window_secs);
	/* the policy parts that are not settings stay the defaults */
	ck_assert_msg(set.policy.reminder_count == def.policy.reminder_count,
		      "case %u (%s): reminders", i, c->name);
}
END_TEST

START_TEST(test_settings_bool)
{
	static const struct {
		const char *value;
		bool default_value, expected;
	} cases[] = {
		{ NULL, TRUE, TRUE }, { NULL, FALSE, FALSE },
		{ "", TRUE, TRUE }, { "yes", FALSE, TRUE },
		{ "Yes", FALSE, TRUE }, { "1", FALSE, TRUE },
		{ "true", FALSE, TRUE }, { "no", TRUE, FALSE },
		{ "0", TRUE, FALSE }, { "on", TRUE, FALSE },
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		const char *env[] = { "alertwall", cases[i].value, NULL };

		ck_assert_msg(alertwall_settings_get_bool(test_getenv,
				cases[i].value == NULL ? (void *)&env[2] :
				(void *)env, ALERTWALL_SETTING_ENABLE,
				cases[i].default_value) == cases[i].expected,
			      "case %u", i);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("settings");

	tcase_add_loop_test(tc, test_settings_fill, 0, N_ELEMENTS(env_cases));
	tcase_add_test(tc, test_settings_bool);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
