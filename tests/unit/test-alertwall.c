/* Copyright (c) 2026 alertwall authors */

#include "lib.h"
#include "unlink-directory.h"
#include "test-alertwall.h"

#include <stdlib.h>

const char *test_srcdir_path(const char *relpath)
{
	return t_strconcat(TOP_SRCDIR"/", relpath, NULL);
}

char *test_tmpdir_create(const char *name)
{
	char *dir = i_strdup_printf("/tmp/alertwall-test-%s.XXXXXX", name);

	if (mkdtemp(dir) == NULL)
		i_fatal("mkdtemp(%s) failed: %m", dir);
	return dir;
}

void test_tmpdir_remove(char **dir)
{
	const char *error;

	if (*dir != NULL &&
	    unlink_directory(*dir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	i_free_and_null(*dir);
}

int test_alertwall_run(Suite *suite)
{
	SRunner *runner;
	int failed;

	lib_init();
	runner = srunner_create(suite);
	/* no fork: lib state and valgrind/ASan reports stay in one process */
	srunner_set_fork_status(runner, CK_NOFORK);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	lib_deinit();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
