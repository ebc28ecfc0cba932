/* Copyright (c) 2026 alertwall authors */

/* bench-raise: what raising an alert costs the failing operation, in
   process. Runs the engine exactly as a mail process does after a caught
   failure (classify, state update in the file store, sidecar record, log
   line, spooled report mails) and reports the median and p99 per call:
   for new alerts (every call raises and spools mail) and for repeats of an
   open alert (state update, mostly no record). The baseline is one plain
   O_APPEND write of a record of the same size, measured in the same run,
   since the target is "near the cost of the log write itself". */

#include "lib.h"
#include "str.h"
#include "unlink-directory.h"
#include "alertwall-engine.h"
#include "bench-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#define CALLS 2000

static void report(const char *name, double *samples, unsigned int count,
		   double *median_r)
{
	qsort(samples, count, sizeof(*samples), bench_cmp_double);
	*median_r = samples[count / 2];
	printf("%-28s median %8.1f us  p99 %8.1f us  max %8.1f us  (%u calls)\n",
	       name, samples[count / 2], samples[count * 99 / 100],
	       samples[count - 1], count);
}

int main(int argc, char *argv[])
{
	struct alertwall_engine_settings set;
	struct alertwall_profile_subject subject;
	struct alertwall_failure failure;
	const char *root = getenv("AW_ROOT_DIR");
	char *template;
	const char *dir, *error, *user;
	double *samples, start, base_median, new_median, repeat_median;
	string_t *record;
	unsigned int i;
	int fd;

	lib_init();
	/* the log lines go where a mail process's would not: nowhere */
	i_set_failure_file("/dev/null", "bench-raise: ");
	/* AW_ROOT_DIR: file creation costs differ a lot between directories
	   of this machine (bench/RESULTS.md) */
	template = i_strconcat(root != NULL && *root != '\0' ? root : "/tmp",
			       "/alertwall-bench-raise.XXXXXX", NULL);
	if (mkdtemp(template) == NULL)
		i_fatal("mkdtemp() failed: %m");
	dir = template;

	alertwall_engine_settings_init(&set);
	set.rules_path = argc > 1 ? argv[1] : TOP_SRCDIR"/conf.d/alertwall.yaml";
	set.log_path = t_strconcat(dir, "/alertwall.jsonl", NULL);
	set.state_uri = t_strconcat("file:", dir, "/state", NULL);
	set.spool.spool_dir = t_strconcat(dir, "/spool", NULL);
	set.spool.admin = "admin";
	set.spool.notify_socket = t_strconcat(dir, "/no-such-socket", NULL);
	set.correlate_mailboxes = 0;
	samples = i_new(double, CALLS);

	/* baseline: one record-sized O_APPEND write */
	record = t_str_new(1024);
	for (i = 0; i < 900; i++)
		str_append_c(record, 'x');
	str_append_c(record, '\n');
	fd = open(t_strconcat(dir, "/baseline.log", NULL),
		  O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd == -1)
		i_fatal("open() failed: %m");
	for (i = 0; i < CALLS; i++) {
		start = bench_now_usecs();
		if (write(fd, str_data(record), str_len(record)) < 0)
			i_fatal("write() failed: %m");
		samples[i] = bench_now_usecs() - start;
	}
	i_close_fd(&fd);
	report("baseline: one log write", samples, CALLS, &base_median);

	/* a new alert each call: distinct users */
	for (i = 0; i < CALLS; i++) T_BEGIN {
		user = t_strdup_printf("user%u", i);
		bench_failure_init(&failure, user);
		i_zero(&subject);
		subject.user = user;
		start = bench_now_usecs();
		alertwall_engine_failure(&set, &failure, &subject, NULL);
		samples[i] = bench_now_usecs() - start;
	} T_END;
	report("new alert (raise + mail)", samples, CALLS, &new_median);

	/* repeats of one open alert */
	for (i = 0; i < CALLS; i++) T_BEGIN {
		bench_failure_init(&failure, "repeater");
		i_zero(&subject);
		subject.user = "repeater";
		start = bench_now_usecs();
		alertwall_engine_failure(&set, &failure, &subject, NULL);
		samples[i] = bench_now_usecs() - start;
	} T_END;
	report("repeat of an open alert", samples, CALLS, &repeat_median);

	printf("bench-raise: new alert %.0f us (%.1fx a log write), repeat %.0f us "
	       "(%.1fx); target <= 1000 us: %s\n",
	       new_median, new_median / base_median, repeat_median,
	       repeat_median / base_median,
	       new_median <= 1000 && repeat_median <= 1000 ? "met" : "MISSED");

	alertwall_engine_deinit();
	i_free(samples);
	if (unlink_directory(dir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	i_free(template);
	lib_deinit();
	return 0;
}
