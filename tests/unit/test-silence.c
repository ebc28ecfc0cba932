/* Copyright (c) 2026 alertwall authors */

/* Silences: the command line selector, the stored form, matching with
   expiry, and the store operations with the engine's cache (a file store
   in a temp dir). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "test-alertwall.h"
#include "alertwall-store.h"
#include "alertwall-silence.h"

#include <stdlib.h>

#define NOW 1800000000

static const struct {
	const char *arg;
	int ret;
	enum alertwall_silence_kind kind;
	const char *match;
} selector_cases[] = {
	{ "MAILBOX_QUOTA_EXCEEDED", 0, ALERTWALL_SILENCE_CODE,
	  "MAILBOX_QUOTA_EXCEEDED" },
	{ "code=PERMISSION_DENIED", 0, ALERTWALL_SILENCE_CODE,
	  "PERMISSION_DENIED" },
	{ "user=alice@example.org", 0, ALERTWALL_SILENCE_USER,
	  "alice@example.org" },
	{ "profile=nfs-a", 0, ALERTWALL_SILENCE_PROFILE, "nfs-a" },
	/* a user name may hold '=' */
	{ "user=a=b", 0, ALERTWALL_SILENCE_USER, "a=b" },
	{ "", -1, 0, NULL },
	{ "user=", -1, 0, NULL },
	{ "mailbox=INBOX", -1, 0, NULL },
	{ "NOT A CODE", -1, 0, NULL },
	{ "code=bad-code", -1, 0, NULL },
	{ "user=a\tb", -1, 0, NULL },
	{ "user=a\nb", -1, 0, NULL },
};

START_TEST(test_silence_selector)
{
	enum alertwall_silence_kind kind;
	struct alertwall_silence silence;
	const char *match, *error;
	unsigned int i;
	int ret;

	for (i = 0; i < N_ELEMENTS(selector_cases); i++) {
		error = NULL;
		match = NULL;
		ret = alertwall_silence_parse_selector(selector_cases[i].arg,
						       &kind, &match, &error);
		ck_assert_msg(ret == selector_cases[i].ret, "case %u: %d", i,
			      ret);
		if (ret < 0) {
			ck_assert_msg(error != NULL && *error != '\0',
				      "case %u: no error", i);
			continue;
		}
		ck_assert_msg(kind == selector_cases[i].kind, "case %u", i);
		ck_assert_msg(strcmp(match, selector_cases[i].match) == 0,
			      "case %u: %s", i, match);
		/* the printed selector parses back to the same */
		i_zero(&silence);
		silence.kind = kind;
		silence.match = match;
		ck_assert_int_eq(alertwall_silence_parse_selector(
			alertwall_silence_selector(&silence), &kind, &match,
			&error), 0);
		ck_assert_msg(kind == selector_cases[i].kind &&
			      strcmp(match, selector_cases[i].match) == 0,
			      "case %u: round trip", i);
	}
}
END_TEST

static const struct alertwall_silence stored[] = {
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaa", ALERTWALL_SILENCE_CODE,
	  "MAILBOX_QUOTA_EXCEEDED", NOW - 60, NOW + 60, "planned\tmove" },
	{ "bbbbbbbbbbbbbbbbbbbbbbbbbb", ALERTWALL_SILENCE_USER,
	  "bob", NOW - 60, NOW, "expires exactly now" },
	{ "cccccccccccccccccccccccccc", ALERTWALL_SILENCE_PROFILE,
	  "nfs-a", NOW, NOW + 3600, "" },
};

START_TEST(test_silence_serialize)
{
	ARRAY_TYPE(alertwall_silence) in, out;
	const struct alertwall_silence *s;
	string_t *value = t_str_new(256);
	pool_t pool = pool_datastack_create();
	unsigned int i;

	t_array_init(&in, 4);
	t_array_init(&out, 4);
	for (i = 0; i < N_ELEMENTS(stored); i++)
		array_push_back(&in, &stored[i]);
	alertwall_silences_serialize(&in, NOW, value);
	/* damage is skipped, the rest is kept */
	str_append(value, "garbage line\nid=x\texpires=notanumber\tcode=X\n"
		   "id=y\tcode=Y\n\n");
	alertwall_silences_parse(str_c(value), pool, &out);

	/* the expired one is not written */
	ck_assert_uint_eq(array_count(&out), 2);
	s = array_idx(&out, 0);
	ck_assert_str_eq(s->id, stored[0].id);
	ck_assert_int_eq(s->kind, ALERTWALL_SILENCE_CODE);
	ck_assert_str_eq(s->match, stored[0].match);
	ck_assert_int_eq(s->created, stored[0].created);
	ck_assert_int_eq(s->expires, stored[0].expires);
	ck_assert_str_eq(s->reason, "planned\tmove");
	s = array_idx(&out, 1);
	ck_assert_str_eq(s->id, stored[2].id);
	ck_assert_int_eq(s->kind, ALERTWALL_SILENCE_PROFILE);
	ck_assert_str_eq(s->reason, "");

	array_clear(&out);
	alertwall_silences_parse(NULL, pool, &out);
	ck_assert_uint_eq(array_count(&out), 0);
}
END_TEST

static const struct {
	unsigned int silence;
	const char *code, *user, *profile;
	time_t now;
	bool matches;
} match_cases[] = {
	{ 0, "MAILBOX_QUOTA_EXCEEDED", "alice", "default", NOW, TRUE },
	{ 0, "MAILBOX_QUOTA_EXCEEDED", NULL, NULL, NOW + 59, TRUE },
	/* it ends at expires */
	{ 0, "MAILBOX_QUOTA_EXCEEDED", "alice", "default", NOW + 60, FALSE },
	{ 0, "PERMISSION_DENIED", "alice", "default", NOW, FALSE },
	/* codes are exact, not prefixes */
	{ 0, "MAILBOX_QUOTA", "alice", "default", NOW, FALSE },
	{ 1, "PERMISSION_DENIED", "bob", "default", NOW - 1, TRUE },
	{ 1, "PERMISSION_DENIED", "bob", "default", NOW, FALSE },
	{ 1, "PERMISSION_DENIED", "bobby", "default", NOW - 1, FALSE },
	{ 1, "PERMISSION_DENIED", NULL, "default", NOW - 1, FALSE },
	{ 2, "STORAGE_DISK_FULL", NULL, "nfs-a", NOW, TRUE },
	{ 2, "STORAGE_DISK_FULL", "carol", "nfs-b", NOW, FALSE },
	{ 2, "STORAGE_DISK_FULL", "carol", NULL, NOW, FALSE },
};

START_TEST(test_silence_match)
{
	ARRAY_TYPE(alertwall_silence) silences;
	const struct alertwall_silence *found;
	unsigned int i;

	t_array_init(&silences, 4);
	for (i = 0; i < N_ELEMENTS(stored); i++)
		array_push_back(&silences, &stored[i]);
	for (i = 0; i < N_ELEMENTS(match_cases); i++) {
		bool matches = alertwall_silence_matches(
			&stored[match_cases[i].silence], match_cases[i].code,
			match_cases[i].user, match_cases[i].profile,
			match_cases[i].now);
		ck_assert_msg(matches == match_cases[i].matches, "case %u", i);
		found = alertwall_silences_find(&silences, match_cases[i].code,
						match_cases[i].user,
						match_cases[i].profile,
						match_cases[i].now);
		if (matches) {
			ck_assert_msg(found != NULL, "case %u: not found", i);
		}
	}
	/* nothing at all selects an alert nobody silenced */
	ck_assert_ptr_null(alertwall_silences_find(&silences, "OTHER", "erin",
						   "default", NOW));
}
END_TEST

/* ---- the store and the cache ---- */

static char *test_dir;

static void silence_setup(void)
{
	test_dir = test_tmpdir_create("silence");
}

static void silence_teardown(void)
{
	alertwall_silence_cache_clear();
	test_tmpdir_remove(&test_dir);
}

static void test_alert(struct alertwall_alert *alert, const char *code,
		       const char *user, const char *profile)
{
	i_zero(alert);
	alert->id = "zzzzzzzzzzzzzzzzzzzzzzzzzz";
	alert->code = code;
	alert->profile = profile;
	alertwall_failure_init(&alert->failure, ALERTWALL_SOURCE_DELIVERY);
	alert->failure.user = user;
}

START_TEST(test_silence_store)
{
	struct alertwall_store *store;
	ARRAY_TYPE(alertwall_silence) list;
	struct alertwall_silence add;
	const struct alertwall_silence *first;
	struct alertwall_alert alert;
	pool_t pool = pool_datastack_create();
	const char *value, *error, *id;

	ck_assert_int_eq(alertwall_store_init(t_strconcat("file:", test_dir,
							  NULL),
					      &store, &error), 0);
	add = stored[0];
	ck_assert_int_eq(alertwall_silence_add(store, &add, NOW, &error), 0);
	add = stored[2];
	ck_assert_int_eq(alertwall_silence_add(store, &add, NOW, &error), 0);

	t_array_init(&list, 4);
	ck_assert_int_eq(alertwall_silence_list(store, NOW, pool, &list,
						&error), 0);
	ck_assert_uint_eq(array_count(&list), 2);
	first = array_idx(&list, 0);
	ck_assert_str_eq(first->id, stored[0].id);
	first = array_idx(&list, 1);
	ck_assert_str_eq(first->id, stored[2].id);

	/* the engine's check */
	test_alert(&alert, "MAILBOX_QUOTA_EXCEEDED", "alice", "default");
	ck_assert_int_eq(alertwall_silence_check(store, &alert, NOW, &id,
						 &error), 1);
	ck_assert_str_eq(id, stored[0].id);
	test_alert(&alert, "PERMISSION_DENIED", "alice", "default");
	ck_assert_int_eq(alertwall_silence_check(store, &alert, NOW, &id,
						 &error), 0);
	ck_assert_ptr_null(id);

	/* removing: unknown ids are told apart */
	ck_assert_int_eq(alertwall_silence_remove(store, "nosuchid", NOW,
						  &error), 0);
	ck_assert_int_eq(alertwall_silence_remove(store, stored[0].id, NOW,
						  &error), 1);
	ck_assert_int_eq(alertwall_silence_remove(store, stored[0].id, NOW,
						  &error), 0);
	/* the cache answers from what it read until its interval passed */
	test_alert(&alert, "MAILBOX_QUOTA_EXCEEDED", "alice", "default");
	ck_assert_int_eq(alertwall_silence_check(store, &alert,
		NOW + ALERTWALL_SILENCE_CACHE_SECS - 1, &id, &error), 1);
	ck_assert_int_eq(alertwall_silence_check(store, &alert,
		NOW + ALERTWALL_SILENCE_CACHE_SECS, &id, &error), 0);

	/* expiry: an expired silence no longer selects, and listing after
	   it drops it from the store */
	test_alert(&alert, "STORAGE_DISK_FULL", NULL, "nfs-a");
	ck_assert_int_eq(alertwall_silence_check(store, &alert,
		NOW + 3600 + ALERTWALL_SILENCE_CACHE_SECS, &id, &error), 0);
	array_clear(&list);
	ck_assert_int_eq(alertwall_silence_list(store, NOW + 3600, pool,
						&list, &error), 0);
	ck_assert_uint_eq(array_count(&list), 0);
	ck_assert_int_eq(alertwall_store_get(store, ALERTWALL_SILENCE_KEY,
					     &value, &error), 0);

	alertwall_silence_cache_clear();
	alertwall_store_deinit(&store);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("silence");
	TCase *tc = tcase_create("silence");

	tcase_add_test(tc, test_silence_selector);
	tcase_add_test(tc, test_silence_serialize);
	tcase_add_test(tc, test_silence_match);
	suite_add_tcase(s, tc);

	tc = tcase_create("silence-store");
	tcase_add_checked_fixture(tc, silence_setup, silence_teardown);
	tcase_add_test(tc, test_silence_store);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
