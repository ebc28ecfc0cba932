/* Copyright (c) 2026 alertwall authors */

/* tests for alertwall-profile.c: mapping a mailbox to its profile by
   userdb field, domain and path prefix, file order, the fallback to the
   default profile, and the profile getters */

#include "lib.h"
#include "alertwall-rules.h"
#include "test-alertwall.h"

static const char *profiles_yaml =
	"version: 1\n"
	"profiles:\n"
	"  - name: by-userdb\n"
	"    owner: team-u\n"
	"    notify_mailbox_owners: no\n"
	"    match:\n"
	"      userdb: [alertwall_profile=u, \"pool=a=b\"]\n"
	"  - name: by-domain\n"
	"    owner: team-d@example.org\n"
	"    mailboxes: 4\n"
	"    match: {domain: [Example.ORG, example.net]}\n"
	"  - name: by-path\n"
	"    mailboxes: 1000\n"
	"    alarm_percent: 10\n"
	"    match: {path_prefix: [/srv/nfs-a/, /mnt/b]}\n"
	"  - name: any-of\n"
	"    mailboxes: 1\n"
	"    match:\n"
	"      domain: any.org\n"
	"      path_prefix: /srv/any/\n"
	"      userdb: tier=gold\n"
	"rules: []\n";

static const char *const fields_u[] = {
	"uid=1000", "alertwall_profile=u", NULL
};
static const char *const fields_uu[] = { "alertwall_profile=uu", NULL };
static const char *const fields_bare[] = { "alertwall_profile", NULL };
static const char *const fields_eq[] = { "pool=a=b", NULL };
static const char *const fields_gold[] = { "tier=gold", NULL };
static const char *const fields_case[] = { "ALERTWALL_PROFILE=u", NULL };
static const char *const fields_empty[] = { NULL };

static const struct {
	const char *user;
	const char *mail_path;
	const char *const *fields;
	const char *profile;
} profile_cases[] = {
	/* userdb: the whole FIELD=VALUE, exactly */
	{ "a@x.org", NULL, fields_u, "by-userdb" },
	{ "a@x.org", NULL, fields_uu, "default" },
	{ "a@x.org", NULL, fields_bare, "default" },
	{ "a@x.org", NULL, fields_eq, "by-userdb" },
	{ "a@x.org", NULL, fields_case, "default" },
	{ "a@x.org", NULL, fields_empty, "default" },
	{ "a@x.org", NULL, NULL, "default" },

	/* domain: after the last '@', case-insensitive */
	{ "bob@EXAMPLE.org", NULL, NULL, "by-domain" },
	{ "bob@example.net", NULL, NULL, "by-domain" },
	{ "a@b@example.net", NULL, NULL, "by-domain" },
	{ "bob@sub.example.org", NULL, NULL, "default" },
	{ "bob@example.org.evil", NULL, NULL, "default" },
	{ "example.org", NULL, NULL, "default" },
	{ "bob@", NULL, NULL, "default" },
	{ NULL, NULL, NULL, "default" },

	/* path prefix: a plain prefix of the mail location or home */
	{ "u", "/srv/nfs-a/u/Maildir", NULL, "by-path" },
	{ "u", "/srv/nfs-a/", NULL, "by-path" },
	{ "u", "/srv/nfs-ab/u", NULL, "default" },
	{ "u", "/srv/nfs-a", NULL, "default" },
	{ "u", "/mnt/bx/u", NULL, "by-path" },
	{ "u", "", NULL, "default" },

	/* any one condition selects the profile */
	{ "x@any.org", NULL, NULL, "any-of" },
	{ "x", "/srv/any/x", NULL, "any-of" },
	{ "x", NULL, fields_gold, "any-of" },

	/* file order decides between profiles that both match */
	{ "bob@example.org", "/srv/nfs-a/bob", fields_u, "by-userdb" },
	{ "bob@example.org", "/srv/nfs-a/bob", NULL, "by-domain" },
	{ "bob@any.org", "/srv/nfs-a/bob", NULL, "by-path" },
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

START_TEST(test_profile_mapping)
{
	struct alertwall_rules *rules = load_rules(profiles_yaml);
	struct alertwall_profile_subject subject;
	const struct alertwall_profile *profile;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(profile_cases); i++) {
		i_zero(&subject);
		subject.user = profile_cases[i].user;
		subject.mail_path = profile_cases[i].mail_path;
		subject.userdb_fields = profile_cases[i].fields;
		profile = alertwall_rules_find_profile(rules, &subject);
		ck_assert_msg(profile != NULL, "case %u", i);
		ck_assert_msg(strcmp(alertwall_profile_get_name(profile),
				     profile_cases[i].profile) == 0,
			      "case %u: got %s, expected %s", i,
			      alertwall_profile_get_name(profile),
			      profile_cases[i].profile);
		ck_assert_msg(profile == alertwall_rules_get_profile(rules,
					profile_cases[i].profile),
			      "case %u", i);
	}
	alertwall_rules_free(&rules);
}
END_TEST

START_TEST(test_profile_settings)
{
	static const struct {
		const char *name;
		const char *owner;
		bool notify;
		/* more than alarm_percent (default 50) of mailboxes */
		unsigned int alarm;
	} cases[] = {
		{ "by-userdb", "team-u", FALSE, 0 },
		{ "by-domain", "team-d@example.org", TRUE, 3 },
		{ "by-path", "", TRUE, 101 },
		{ "any-of", "", TRUE, 1 },
		/* implicit */
		{ "default", "", TRUE, 0 },
	};
	struct alertwall_rules *rules = load_rules(profiles_yaml);
	const struct alertwall_profile *profile;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		profile = alertwall_rules_get_profile(rules, cases[i].name);
		ck_assert_msg(profile != NULL, "case %u", i);
		ck_assert_msg(strcmp(alertwall_profile_get_name(profile),
				     cases[i].name) == 0, "case %u", i);
		ck_assert_msg(strcmp(alertwall_profile_get_owner(profile),
				     cases[i].owner) == 0, "case %u: %s", i,
			      alertwall_profile_get_owner(profile));
		ck_assert_msg(alertwall_profile_notify_mailbox_owners(profile) ==
			      cases[i].notify, "case %u", i);
		ck_assert_msg(alertwall_profile_alarm_mailboxes(profile) ==
			      cases[i].alarm, "case %u: %u", i,
			      alertwall_profile_alarm_mailboxes(profile));
	}
	/* names are exact */
	ck_assert_ptr_null(alertwall_rules_get_profile(rules, "By-Path"));
	ck_assert_ptr_null(alertwall_rules_get_profile(rules, ""));
	alertwall_rules_free(&rules);
}
END_TEST

/* a configured default profile is the fallback wherever it stands */
START_TEST(test_profile_explicit_default)
{
	static const char *yaml =
		"version: 1\n"
		"profiles:\n"
		"  - name: default\n"
		"    owner: postmaster\n"
		"    notify_mailbox_owners: no\n"
		"  - name: nfs\n"
		"    match: {path_prefix: /srv/nfs/}\n"
		"rules: []\n";
	struct alertwall_rules *rules = load_rules(yaml);
	struct alertwall_profile_subject subject;
	const struct alertwall_profile *profile;

	i_zero(&subject);
	subject.user = "u@example.org";
	subject.mail_path = "/home/u";
	profile = alertwall_rules_find_profile(rules, &subject);
	ck_assert_str_eq(alertwall_profile_get_name(profile), "default");
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "postmaster");
	ck_assert(!alertwall_profile_notify_mailbox_owners(profile));

	subject.mail_path = "/srv/nfs/u";
	profile = alertwall_rules_find_profile(rules, &subject);
	ck_assert_str_eq(alertwall_profile_get_name(profile), "nfs");
	alertwall_rules_free(&rules);
}
END_TEST

/* without profiles every mailbox is in the implicit default */
START_TEST(test_profile_none)
{
	static const char *yaml = "version: 1\nrules: []\n";
	struct alertwall_rules *rules = load_rules(yaml);
	struct alertwall_profile_subject subject;
	const struct alertwall_profile *profile;

	i_zero(&subject);
	subject.user = "u@example.org";
	subject.mail_path = "/srv/nfs/u";
	subject.userdb_fields = fields_u;
	profile = alertwall_rules_find_profile(rules, &subject);
	ck_assert_str_eq(alertwall_profile_get_name(profile),
			 ALERTWALL_PROFILE_DEFAULT);
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "");
	ck_assert(alertwall_profile_notify_mailbox_owners(profile));
	alertwall_rules_free(&rules);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profile");

	tcase_add_test(tc, test_profile_mapping);
	tcase_add_test(tc, test_profile_settings);
	tcase_add_test(tc, test_profile_explicit_default);
	tcase_add_test(tc, test_profile_none);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
