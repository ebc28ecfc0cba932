/* Copyright (c) 2026 alertwall authors */

#include "lib.h"
#include "test-alertwall.h"

#include <stdlib.h>

const char *test_srcdir_path(const char *relpath)
{
	return t_strconcat(TOP_SRCDIR"/", relpath, NULL);
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
