/* Copyright (c) 2026 alertwall authors */

/* The file state store: get/update/delete/iterate, hostile keys, and many
   processes updating one key at once without losing a count. */

#include "lib.h"
#include "str.h"
#include "test-alertwall.h"
#include "alertwall-store.h"

#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *test_dir;

static void store_setup(void)
{
	test_dir = test_tmpdir_create("store");
}

static void store_teardown(void)
{
	test_tmpdir_remove(&test_dir);
}

static struct alertwall_store *store_open(void)
{
	struct alertwall_store *store;
	const char *error;

	ck_assert_int_eq(alertwall_store_init(t_strconcat("file:", test_dir, NULL),
					      &store, &error), 0);
	return store;
}

static bool set_value(const char *old_value ATTR_UNUSED, string_t *new_value,
		      void *context)
{
	str_append(new_value, context);
	return TRUE;
}

static bool keep_value(const char *old_value ATTR_UNUSED,
		       string_t *new_value ATTR_UNUSED,
		       void *context ATTR_UNUSED)
{
	return FALSE;
}

static bool increment(const char *old_value, string_t *new_value,
		      void *context ATTR_UNUSED)
{
	unsigned int n = old_value == NULL ? 0 : (unsigned int)atoi(old_value);

	str_printfa(new_value, "%u", n + 1);
	return TRUE;
}

START_TEST(test_store_basic)
{
	struct alertwall_store *store = store_open();
	const char *value, *error;

	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	ck_assert_int_eq(alertwall_store_update(store, "k1", keep_value, NULL,
						&error), 0);
	/* an update that writes nothing leaves no key behind */
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value,
						"one\ntwo", &error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 1);
	ck_assert_str_eq(value, "one\ntwo");
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "x",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 1);
	ck_assert_str_eq(value, "x");
	/* an empty value deletes */
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	alertwall_store_deinit(&store);
	ck_assert_ptr_null(store);
}
END_TEST

struct iter_ctx {
	unsigned int count;
	bool saw_hostile;
};

static bool iter_cb(const char *key, const char *value, void *context)
{
	struct iter_ctx *ctx = context;

	ctx->count++;
	if (strcmp(key, "CODE\tmailbox\tev\nil/../x") == 0 &&
	    strcmp(value, "v") == 0)
		ctx->saw_hostile = TRUE;
	return TRUE;
}

START_TEST(test_store_hostile_keys_and_iterate)
{
	struct alertwall_store *store = store_open();
	struct iter_ctx ctx;
	const char *value, *error;
	unsigned int i;

	ck_assert_int_eq(alertwall_store_update(store,
		"CODE\tmailbox\tev\nil/../x", set_value, "v", &error), 0);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(alertwall_store_update(store,
			t_strdup_printf("key%u", i), set_value, "v", &error), 0);
	}
	ck_assert_int_eq(alertwall_store_get(store, "CODE\tmailbox\tev\nil/../x",
					     &value, &error), 1);
	i_zero(&ctx);
	ck_assert_int_eq(alertwall_store_iterate(store, iter_cb, &ctx, &error), 0);
	ck_assert_uint_eq(ctx.count, 21);
	ck_assert(ctx.saw_hostile);
	alertwall_store_deinit(&store);
}
END_TEST

static bool count_cb(const char *key ATTR_UNUSED,
		     const char *value ATTR_UNUSED, void *context)
{
	unsigned int *count = context;

	(*count)++;
	return TRUE;
}

/* every mail uid may write the store and doveadm uses it as root: a
   subdirectory replaced with a symlink is refused, never followed */
START_TEST(test_store_symlinked_subdir_refused)
{
	struct alertwall_store *store = store_open();
	const char *outside, *value, *error;
	unsigned int i, count = 0;

	outside = t_strconcat(test_dir, "/outside", NULL);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	for (i = 0; i < 256; i++) {
		ck_assert_int_eq(symlink(outside, t_strdup_printf("%s/%02x",
					 test_dir, i)), 0);
	}
	error = NULL;
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "v",
						&error), -1);
	ck_assert_ptr_nonnull(strstr(error, "refused"));
	error = NULL;
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "refused"));
	error = NULL;
	ck_assert_int_eq(alertwall_store_iterate(store, count_cb, &count,
						 &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "refused"));
	ck_assert_uint_eq(count, 0);
	/* nothing was created where the links point */
	ck_assert_int_eq(rmdir(outside), 0);
	alertwall_store_deinit(&store);
}
END_TEST

#define PROCS 8
#define INCREMENTS 200

START_TEST(test_store_concurrent_increments)
{
	struct alertwall_store *store;
	const char *value, *error;
	pid_t pids[PROCS];
	unsigned int i, j;
	int status;

	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			store = store_open();
			for (j = 0; j < INCREMENTS; j++) {
				if (alertwall_store_update(store, "counter",
						increment, NULL, &error) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child %u failed", i);
	}
	store = store_open();
	ck_assert_int_eq(alertwall_store_get(store, "counter", &value, &error), 1);
	ck_assert_str_eq(value, dec2str(PROCS * INCREMENTS));
	alertwall_store_deinit(&store);
}
END_TEST

/* The mail plugin's check for a user's alert index (without the engine)
   must look where the file store writes: a wrong path would tell every
   user "no alert" and let a suspended mailbox take mail again. */
START_TEST(test_store_user_maybe_indexed)
{
	struct alertwall_store *store = store_open();
	const char *uri = t_strconcat("file:", test_dir, NULL);
	const char *key = t_strconcat(ALERTWALL_STORE_KEY_USER, "bob", NULL);
	const char *error, *subdir, *name, *path;
	struct stat st;

	/* no state kept; a backend the check cannot look into */
	ck_assert(!alertwall_store_user_maybe_indexed("", "bob"));
	ck_assert(alertwall_store_user_maybe_indexed(
		"redis:host=127.0.0.1:port=1", "bob"));

	ck_assert(!alertwall_store_user_maybe_indexed(uri, "bob"));
	ck_assert(!alertwall_store_user_maybe_indexed(test_dir, "bob"));
	ck_assert_int_eq(alertwall_store_update(store, key, set_value,
						"index", &error), 0);
	ck_assert(alertwall_store_user_maybe_indexed(uri, "bob"));
	ck_assert(alertwall_store_user_maybe_indexed(test_dir, "bob"));
	ck_assert(!alertwall_store_user_maybe_indexed(uri, "alice"));

	path = alertwall_store_file_key_path(test_dir, key, &subdir, &name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_str_eq(t_strconcat(subdir, "/", name, NULL), path);

	/* the index deleted: no alert again */
	ck_assert_int_eq(alertwall_store_update(store, key, set_value, "",
						&error), 0);
	ck_assert(!alertwall_store_user_maybe_indexed(uri, "bob"));
	alertwall_store_deinit(&store);
}
END_TEST

START_TEST(test_store_bad_uri)
{
	struct alertwall_store *store;
	const char *error;

	ck_assert_int_eq(alertwall_store_init("relative/dir", &store, &error), -1);
	ck_assert_int_eq(alertwall_store_init("file:relative", &store, &error), -1);
	ck_assert_int_eq(alertwall_store_init("mysql:x", &store, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "mysql:x"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_add_test(tc, test_store_basic);
	tcase_add_test(tc, test_store_hostile_keys_and_iterate);
	tcase_add_test(tc, test_store_concurrent_increments);
	tcase_add_test(tc, test_store_bad_uri);
	tcase_add_test(tc, test_store_user_maybe_indexed);
	tcase_add_test(tc, test_store_symlinked_subdir_refused);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
