#ifndef TEST_ALERTWALL_H
#define TEST_ALERTWALL_H

/* shared scaffolding for alertwall's check suites: every suite runs with
   Dovecot's lib initialized, inside a data stack frame */

#include "lib.h"
#include <check.h>

/* path of a file in the source tree, e.g. "conf.d/alertwall.yaml" */
const char *test_srcdir_path(const char *relpath);

/* Run the suite with lib_init() done; returns the process exit code. */
int test_alertwall_run(Suite *suite);

#endif
