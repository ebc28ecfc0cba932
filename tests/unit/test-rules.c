/* Copyright (c) 2026 alertwall authors */

#include "lib.h"
#include "test-alertwall.h"

START_TEST(test_rules_placeholder)
{
	ck_assert_int_eq(1 + 1, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_rules_placeholder);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
