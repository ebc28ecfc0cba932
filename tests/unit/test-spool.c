/* Copyright (c) 2026 alertwall authors */

/* The spool's writer: a mail lands whole in new/, also when another
   process has made tmp/ but not yet new/ (the first alerts of parallel
   mail processes lost their mails that way). */

#include "lib.h"
#include "test-alertwall.h"
#include "alertwall-spool.h"

#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>

static char *test_dir;

static void spool_setup(void)
{
	test_dir = test_tmpdir_create("spool");
}

static void spool_teardown(void)
{
	test_tmpdir_remove(&test_dir);
}

static void spool_settings(struct alertwall_spool_settings *set_r)
{
	i_zero(set_r);
	set_r->spool_dir = t_strconcat(test_dir, "/spool", NULL);
	set_r->admin = "postmaster";
	set_r->folder_prefix = "";
	set_r->folder_sep = '/';
	/* nobody listens: the nudge is best effort */
	set_r->notify_socket = t_strconcat(test_dir, "/no-socket", NULL);
}

static unsigned int dir_count(const char *path)
{
	struct dirent *d;
	unsigned int count = 0;
	DIR *dir = opendir(path);

	if (dir == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] != '.')
			count++;
	}
	(void)closedir(dir);
	return count;
}

START_TEST(test_spool_mail_makes_its_dirs)
{
	struct alertwall_spool_settings set;
	struct stat st;

	spool_settings(&set);
	ck_assert_int_eq(alertwall_spool_mail(&set, "id1.1", "admin",
		"Alerts/Digest", "Subject: digest\n\nbody\n"), 0);
	ck_assert_int_eq(stat(t_strconcat(set.spool_dir, "/new/id1.1", NULL),
			      &st), 0);
	ck_assert_uint_eq(dir_count(t_strconcat(set.spool_dir, "/tmp", NULL)),
			  0);
}
END_TEST

START_TEST(test_spool_mail_with_tmp_but_no_new)
{
	struct alertwall_spool_settings set;
	struct stat st;

	spool_settings(&set);
	/* another process got as far as tmp/ */
	ck_assert_int_eq(mkdir(set.spool_dir, 0700), 0);
	ck_assert_int_eq(mkdir(t_strconcat(set.spool_dir, "/tmp", NULL), 0700),
			 0);
	ck_assert_int_eq(alertwall_spool_mail(&set, "id2.1", "admin",
		"Alerts/Digest", "Subject: digest\n\nbody\n"), 0);
	ck_assert_int_eq(stat(t_strconcat(set.spool_dir, "/new/id2.1", NULL),
			      &st), 0);
	ck_assert_uint_eq(dir_count(t_strconcat(set.spool_dir, "/tmp", NULL)),
			  0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, spool_setup, spool_teardown);
	tcase_add_test(tc, test_spool_mail_makes_its_dirs);
	tcase_add_test(tc, test_spool_mail_with_tmp_but_no_new);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
