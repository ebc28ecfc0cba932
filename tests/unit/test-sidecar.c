/* Copyright (c) 2026 alertwall authors */

/* tests for the sidecar log writer (plugin/alertwall-sidecar.c, compiled
   into this binary): one write per record, rotation, symlink refusal,
   queueing while the log cannot be written, short writes, concurrent
   writers and the error rate limit */

#include "lib.h"
#include "str.h"
#include "alertwall-sidecar.h"
#include "test-alertwall.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define CONCURRENT_PROCS 8
#define CONCURRENT_RECORDS 500

static char *test_dir;

static void setup(void)
{
	test_dir = test_tmpdir_create("sidecar");
}

static void teardown(void)
{
	test_tmpdir_remove(&test_dir);
}

static const char *test_path(const char *name)
{
	return t_strconcat(test_dir, "/", name, NULL);
}

/* the file's content, or NULL when it does not exist */
static const char *read_file(const char *path)
{
	string_t *str = t_str_new(4096);
	char buf[8192];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1) {
		if (errno == ENOENT)
			return NULL;
		i_fatal("open(%s) failed: %m", path);
	}
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(str, buf, ret);
	if (ret < 0)
		i_fatal("read(%s) failed: %m", path);
	i_close_fd(&fd);
	return str_c(str);
}

static int write_str(struct alertwall_sidecar *sidecar, const char *line)
{
	return alertwall_sidecar_write(sidecar, line, strlen(line));
}

START_TEST(test_sidecar_lines)
{
	static const struct {
		const char *input;
		const char *file;
	} cases[] = {
		{ "{\"a\":1}\n", "{\"a\":1}\n" },
		{ "{\"b\":2}\n", "{\"a\":1}\n{\"b\":2}\n" },
		/* a record without its newline gets one */
		{ "{\"c\":3}", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n" },
	};
	struct alertwall_sidecar *sidecar;
	const char *path = test_path("alerts.jsonl");
	struct stat st;
	unsigned int i;
	mode_t old_umask;

	/* the file gets its mode whatever the umask */
	old_umask = umask(077);
	sidecar = alertwall_sidecar_open(path);
	umask(old_umask);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, ALERTWALL_SIDECAR_FILE_MODE);

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		ck_assert_msg(write_str(sidecar, cases[i].input) == 0,
			      "case %u", i);
		ck_assert_msg(strcmp(read_file(path), cases[i].file) == 0,
			      "case %u: %s", i, read_file(path));
	}
	ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar), 0);
	alertwall_sidecar_close(&sidecar);
	ck_assert_ptr_null(sidecar);
}
END_TEST

START_TEST(test_sidecar_rotation)
{
	struct alertwall_sidecar *sidecar;
	const char *path = test_path("alerts.jsonl");
	const char *rotated = test_path("alerts.jsonl.1");

	sidecar = alertwall_sidecar_open(path);
	ck_assert_int_eq(write_str(sidecar, "one\n"), 0);

	/* rename + create, as logrotate does */
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(close(open(path, O_WRONLY | O_CREAT, 0600)), 0);
	ck_assert_int_eq(write_str(sidecar, "two\n"), 0);
	ck_assert_str_eq(read_file(rotated), "one\n");
	ck_assert_str_eq(read_file(path), "two\n");

	/* rename without create: the writer creates the file */
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(write_str(sidecar, "three\n"), 0);
	ck_assert_str_eq(read_file(rotated), "two\n");
	ck_assert_str_eq(read_file(path), "three\n");

	/* removed */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(write_str(sidecar, "four\n"), 0);
	ck_assert_str_eq(read_file(path), "four\n");
	alertwall_sidecar_close(&sidecar);
}
END_TEST

START_TEST(test_sidecar_symlink)
{
	struct alertwall_sidecar *sidecar;
	const char *path = test_path("alerts.jsonl");
	const char *target = test_path("target");
	const char *rotated = test_path("alerts.jsonl.1");

	ck_assert_int_eq(close(open(target, O_WRONLY | O_CREAT, 0600)), 0);
	ck_assert_int_eq(symlink(target, path), 0);

	sidecar = alertwall_sidecar_open(path);
	ck_assert_int_eq(write_str(sidecar, "one\n"), -1);
	ck_assert_str_eq(read_file(target), "");
	ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar), 1);

	/* a symlink swapped in after the open is refused too */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(write_str(sidecar, "two\n"), 0);
	ck_assert_str_eq(read_file(path), "one\ntwo\n");
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(write_str(sidecar, "three\n"), -1);
	ck_assert_str_eq(read_file(target), "");
	ck_assert_str_eq(read_file(rotated), "one\ntwo\n");
	alertwall_sidecar_close(&sidecar);
	ck_assert_str_eq(read_file(target), "");
}
END_TEST

START_TEST(test_sidecar_queue)
{
	struct alertwall_sidecar *sidecar;
	const char *dir = test_path("later");
	const char *path = t_strconcat(dir, "/alerts.jsonl", NULL);
	string_t *expected = t_str_new(256);
	unsigned int i;

	/* the directory does not exist yet: records wait in order */
	sidecar = alertwall_sidecar_open(path);
	for (i = 1; i <= 5; i++) {
		const char *line = t_strdup_printf("{\"n\":%u}\n", i);

		ck_assert_msg(write_str(sidecar, line) == -1, "record %u", i);
		ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar), i);
		str_append(expected, line);
	}
	ck_assert_int_eq(alertwall_sidecar_flush(sidecar), -1);
	ck_assert_ptr_null(read_file(path));

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(write_str(sidecar, "{\"n\":6}\n"), 0);
	str_append(expected, "{\"n\":6}\n");
	ck_assert_str_eq(read_file(path), str_c(expected));
	ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar), 0);
	ck_assert_uint_eq(alertwall_sidecar_dropped_count(sidecar), 0);

	/* flush alone writes the queue too */
	ck_assert_int_eq(rename(path, test_path("old")), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(write_str(sidecar, "{\"n\":7}\n"), -1);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(alertwall_sidecar_flush(sidecar), 0);
	ck_assert_str_eq(read_file(path), "{\"n\":7}\n");
	alertwall_sidecar_close(&sidecar);
}
END_TEST

START_TEST(test_sidecar_queue_overflow)
{
	const unsigned int total = ALERTWALL_SIDECAR_QUEUE_MAX + 44;
	struct alertwall_sidecar *sidecar;
	const char *dir = test_path("later");
	const char *path = t_strconcat(dir, "/alerts.jsonl", NULL);
	string_t *expected = t_str_new(8192);
	unsigned int i;

	sidecar = alertwall_sidecar_open(path);
	for (i = 1; i <= total; i++) T_BEGIN {
		ck_assert_int_eq(write_str(sidecar, t_strdup_printf(
			"{\"n\":%u}\n", i)), -1);
	} T_END;
	ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar),
			  ALERTWALL_SIDECAR_QUEUE_MAX);
	ck_assert_uint_eq(alertwall_sidecar_dropped_count(sidecar), 44);

	/* the oldest records were dropped, the rest keep their order */
	for (i = 45; i <= total; i++)
		str_printfa(expected, "{\"n\":%u}\n", i);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(alertwall_sidecar_flush(sidecar), 0);
	ck_assert_str_eq(read_file(path), str_c(expected));

	/* records still queued at close are lost, and that is logged */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(write_str(sidecar, "{\"n\":0}\n"), -1);
	alertwall_sidecar_close(&sidecar);
}
END_TEST

/* RLIMIT_FSIZE makes the kernel write only part of a record: the writer
   must report it, keep the record and write it whole later on a line of
   its own */
START_TEST(test_sidecar_short_write)
{
	struct alertwall_sidecar *sidecar;
	const char *path = test_path("alerts.jsonl");
	struct rlimit old_limit, limit;
	string_t *big = t_str_new(512);
	void (*old_handler)(int);
	const char *content;
	int ret;

	str_append(big, "{\"big\":\"");
	while (str_len(big) < 300)
		str_append_c(big, 'x');
	str_append(big, "\"}\n");

	sidecar = alertwall_sidecar_open(path);
	ck_assert_int_eq(write_str(sidecar, "{\"n\":1}\n"), 0);

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
	old_handler = signal(SIGXFSZ, SIG_IGN);
	limit = old_limit;
	limit.rlim_cur = 108;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	ret = write_str(sidecar, str_c(big));
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
	signal(SIGXFSZ, old_handler);

	ck_assert_int_eq(ret, -1);
	ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar), 1);
	content = read_file(path);
	ck_assert_uint_eq(strlen(content), 108);

	ck_assert_int_eq(write_str(sidecar, "{\"n\":2}\n"), 0);
	ck_assert_uint_eq(alertwall_sidecar_queued_count(sidecar), 0);
	ck_assert_str_eq(read_file(path), t_strconcat(
		content, "\n", str_c(big), "{\"n\":2}\n", NULL));
	alertwall_sidecar_close(&sidecar);
}
END_TEST

/* the line a concurrent writer emits: its pad length and pad byte say
   which process and record it is, so a torn line cannot pass */
static const char *concurrent_line(unsigned int proc, unsigned int n)
{
	unsigned int pad_len = 1000 + (proc * 7919 + n * 104729) % 2000;
	string_t *str = t_str_new(pad_len + 64);

	str_printfa(str, "{\"p\":%u,\"n\":%u,\"len\":%u,\"pad\":\"",
		    proc, n, pad_len);
	for (unsigned int i = 0; i < pad_len; i++)
		str_append_c(str, 'a' + proc);
	str_append(str, "\"}\n");
	return str_c(str);
}

static void concurrent_child(const char *path, unsigned int proc)
{
	struct alertwall_sidecar *sidecar;
	unsigned int n;
	int failures = 0;

	sidecar = alertwall_sidecar_open(path);
	for (n = 0; n < CONCURRENT_RECORDS; n++) T_BEGIN {
		if (write_str(sidecar, concurrent_line(proc, n)) < 0)
			failures++;
	} T_END;
	alertwall_sidecar_close(&sidecar);
	_exit(failures == 0 ? 0 : 1);
}

START_TEST(test_sidecar_concurrent)
{
	const char *path = test_path("alerts.jsonl");
	unsigned int next_n[CONCURRENT_PROCS];
	const char *content, *line, *end;
	unsigned int proc, lines = 0;
	pid_t pids[CONCURRENT_PROCS];
	int status;

	for (proc = 0; proc < CONCURRENT_PROCS; proc++) {
		pids[proc] = fork();
		ck_assert_int_ne(pids[proc], -1);
		if (pids[proc] == 0)
			concurrent_child(path, proc);
		next_n[proc] = 0;
	}
	for (proc = 0; proc < CONCURRENT_PROCS; proc++) {
		ck_assert_int_eq(waitpid(pids[proc], &status, 0), pids[proc]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "process %u failed: status %d", proc, status);
	}

	content = read_file(path);
	for (line = content; *line != '\0'; line = end + 1) T_BEGIN {
		unsigned int p, n, len;
		const char *expected;

		end = strchr(line, '\n');
		ck_assert_msg(end != NULL, "line %u: no newline", lines);
		ck_assert_msg(line[0] == '{' && end[-1] == '}',
			      "line %u: torn record", lines);
		ck_assert_msg(sscanf(line, "{\"p\":%u,\"n\":%u,\"len\":%u,",
				     &p, &n, &len) == 3 &&
			      p < CONCURRENT_PROCS, "line %u: bad head", lines);
		/* each process's records arrive in its own order */
		ck_assert_msg(n == next_n[p], "line %u: process %u record %u, "
			      "expected %u", lines, p, n, next_n[p]);
		next_n[p]++;
		expected = concurrent_line(p, n);
		ck_assert_msg(strncmp(line, expected, end - line + 1) == 0 &&
			      strlen(expected) == (size_t)(end - line + 1),
			      "line %u: content differs", lines);
		lines++;
	} T_END;
	ck_assert_uint_eq(lines, CONCURRENT_PROCS * CONCURRENT_RECORDS);
	for (proc = 0; proc < CONCURRENT_PROCS; proc++)
		ck_assert_uint_eq(next_n[proc], CONCURRENT_RECORDS);
}
END_TEST

static unsigned int rate_limit_errors;

static void ATTR_FORMAT(2, 0)
rate_limit_error_handler(const struct failure_context *ctx ATTR_UNUSED,
			 const char *format ATTR_UNUSED,
			 va_list args ATTR_UNUSED)
{
	rate_limit_errors++;
}

/* runs first: the forked child inherits the parent's rate limit state,
   which no error has touched yet */
START_TEST(test_sidecar_error_rate_limit)
{
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct alertwall_sidecar *sidecar;
		const char *path = test_path("missing/alerts.jsonl");
		unsigned int i;
		int ret;

		i_set_error_handler(rate_limit_error_handler);
		/* the failed open() is the first error, the writes are
		   within the same minute */
		sidecar = alertwall_sidecar_open(path);
		for (i = 0; i < 10; i++)
			(void)write_str(sidecar, "{}\n");
		ret = rate_limit_errors == 1 &&
			alertwall_sidecar_queued_count(sidecar) == 10 ? 0 : 1;
		alertwall_sidecar_close(&sidecar);
		_exit(ret);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %d", status);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sidecar");
	TCase *tc = tcase_create("sidecar");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sidecar_error_rate_limit);
	tcase_add_test(tc, test_sidecar_lines);
	tcase_add_test(tc, test_sidecar_rotation);
	tcase_add_test(tc, test_sidecar_symlink);
	tcase_add_test(tc, test_sidecar_queue);
	tcase_add_test(tc, test_sidecar_queue_overflow);
	tcase_add_test(tc, test_sidecar_short_write);
	tcase_add_test(tc, test_sidecar_concurrent);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
