#ifndef TEST_ALERTWALL_H
#define TEST_ALERTWALL_H

/* shared scaffolding for alertwall's check suites: every suite runs with
   Dovecot's lib initialized, inside a data stack frame */

#include "lib.h"
#include <check.h>

/* path of a file in the source tree, e.g. "conf.d/alertwall.yaml" */
const char *test_srcdir_path(const char *relpath);

/* A new directory /tmp/alertwall-test-NAME.XXXXXX (i_malloc()ed), and
   its removal with everything in it (dir set NULL; nothing if NULL). */
char *test_tmpdir_create(const char *name);
void test_tmpdir_remove(char **dir);

/* Run the suite with lib_init() done; returns the process exit code. */
int test_alertwall_run(Suite *suite);

#endif
