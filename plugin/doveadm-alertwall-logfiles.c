/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-logfiles: reads the sidecar log for summary, digest
   and show: first the files rotated from it (NAME.1, NAME.2.gz,
   NAME-20261126, ...), oldest first, then the current file. A rotated
   file is read through Dovecot's decompression stream, so logrotate's
   compress works; one last written before the period began is not
   opened. Every file is opened as a regular file only: doveadm runs as
   root, and the log's directory may be writable by the mail uids. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "fd-util.h"
#include "istream.h"
#include "compression.h"
#include "alertwall-record.h"
#include "doveadm-alertwall.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

struct doveadm_alertwall_logfile {
	const char *name;
	time_t mtime;
};
ARRAY_DEFINE_TYPE(doveadm_alertwall_logfile, struct doveadm_alertwall_logfile);

static int
doveadm_alertwall_logfile_cmp(const struct doveadm_alertwall_logfile *a,
			      const struct doveadm_alertwall_logfile *b)
{
	if (a->mtime != b->mtime)
		return a->mtime < b->mtime ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Whether name is a file rotated from the log named base: base, then a
   '.' or '-' and something (logrotate's numbers, dates, .gz). */
static bool doveadm_alertwall_is_rotated(const char *name, const char *base)
{
	size_t len = strlen(base);

	return strncmp(name, base, len) == 0 &&
		(name[len] == '.' || name[len] == '-') && name[len + 1] != '\0';
}

/* The rotated files of the log in dir, as regular files only: doveadm runs
   as root, and the log's directory may be writable by the mail uids.
   Those last written before since_secs hold only older records. */
static int
doveadm_alertwall_rotated(const char *dir, const char *base, time_t since_secs,
			  ARRAY_TYPE(doveadm_alertwall_logfile) *files)
{
	struct doveadm_alertwall_logfile *file;
	struct dirent *d;
	struct stat st;
	DIR *dirp;

	dirp = opendir(dir);
	if (dirp == NULL) {
		if (errno == ENOENT)
			return 0;
		i_error("Reading the sidecar log's directory failed: "
			"opendir(%s) failed: %m", dir);
		return -1;
	}
	while ((d = readdir(dirp)) != NULL) {
		if (!doveadm_alertwall_is_rotated(d->d_name, base))
			continue;
		if (fstatat(dirfd(dirp), d->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_mtime < since_secs)
			continue;
		file = array_append_space(files);
		file->name = t_strdup(d->d_name);
		file->mtime = st.st_mtime;
	}
	(void)closedir(dirp);
	array_sort(files, doveadm_alertwall_logfile_cmp);
	return 0;
}

static int
doveadm_alertwall_read_stream(struct istream *input,
			      doveadm_alertwall_line_func *func, void *context)
{
	const char *line;

	while ((line = i_stream_read_next_line(input)) != NULL)
		func(line, context);
	if (input->stream_errno != 0 && input->stream_errno != ENOENT) {
		i_error("Reading the sidecar log failed: %s",
			i_stream_get_error(input));
		return -1;
	}
	return 0;
}

/* Opens a log file as root may: a regular file, not through a link, and
   never blocking on a FIFO that a mail uid put in its place (the log's
   directory may be theirs) between the listing and the open. Returns the
   fd, 0 when the file is gone (rotated away), or -1 (logged). */
static int doveadm_alertwall_open_log(const char *path, int *fd_r)
{
	struct stat st;
	int fd;

	*fd_r = -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		i_error("Reading the sidecar log failed: open(%s) failed: %m",
			path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		i_error("Reading the sidecar log failed: fstat(%s) failed: %m",
			path);
		i_close_fd(&fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		i_error("Reading the sidecar log failed: "
			"%s is not a regular file", path);
		i_close_fd(&fd);
		return -1;
	}
	fd_set_nonblock(fd, FALSE);
	*fd_r = fd;
	return 1;
}

static int
doveadm_alertwall_read_file(const char *path, bool rotated,
			    doveadm_alertwall_line_func *func, void *context)
{
	struct istream *file_input, *input;
	int fd, ret;

	if ((ret = doveadm_alertwall_open_log(path, &fd)) <= 0)
		return ret;
	file_input = i_stream_create_fd_autoclose(&fd,
		DOVEADM_ALERTWALL_LOG_MAX_LINE);
	i_stream_set_name(file_input, path);
	if (!rotated)
		input = file_input;
	else {
		input = i_stream_create_decompress(file_input,
			ISTREAM_DECOMPRESS_FLAG_TRY);
		i_stream_unref(&file_input);
	}
	i_stream_set_max_buffer_size(input, DOVEADM_ALERTWALL_LOG_MAX_LINE);
	ret = doveadm_alertwall_read_stream(input, func, context);
	i_stream_unref(&input);
	return ret;
}

int doveadm_alertwall_read_log_lines(const char *path, time_t since_secs,
				     doveadm_alertwall_line_func *func,
				     void *context)
{
	ARRAY_TYPE(doveadm_alertwall_logfile) files;
	const struct doveadm_alertwall_logfile *file;
	const char *dir, *base;
	int ret = 0;

	doveadm_alertwall_split_path(path, &dir, &base);
	t_array_init(&files, 8);
	if (doveadm_alertwall_rotated(dir, base, since_secs, &files) < 0)
		ret = -1;
	array_foreach(&files, file) {
		if (doveadm_alertwall_read_file(
			t_strconcat(dir, "/", file->name, NULL), TRUE,
			func, context) < 0)
			ret = -1;
	}
	if (doveadm_alertwall_read_file(path, FALSE, func, context) < 0)
		ret = -1;
	return ret;
}

struct doveadm_alertwall_read_log_context {
	const char *since_str;
	doveadm_alertwall_record_func *func;
	void *context;
};

static void doveadm_alertwall_read_log_line(const char *line, void *context)
{
	struct doveadm_alertwall_read_log_context *ctx = context;
	struct doveadm_alertwall_record rec;

	/* records start with their time, in one fixed format that sorts as
	   text: most lines are skipped without parsing */
	if (str_begins(line, "{\"time\":\"") &&
	    strncmp(line + 9, ctx->since_str,
		    DOVEADM_ALERTWALL_RECORD_TIME_LEN) < 0)
		return;
	T_BEGIN {
		if (doveadm_alertwall_record_parse(line, &rec) == 0 &&
		    rec.time != NULL && strcmp(rec.time, ctx->since_str) >= 0)
			ctx->func(&rec, ctx->context);
	} T_END;
}

int doveadm_alertwall_read_log(const char *path, long long since_usecs,
			       doveadm_alertwall_record_func *func,
			       void *context)
{
	struct doveadm_alertwall_read_log_context ctx;
	string_t *str;

	str = t_str_new(32);
	alertwall_record_append_time(since_usecs, str);
	i_zero(&ctx);
	ctx.since_str = str_c(str);
	ctx.func = func;
	ctx.context = context;
	i_assert(strlen(ctx.since_str) == DOVEADM_ALERTWALL_RECORD_TIME_LEN);
	return doveadm_alertwall_read_log_lines(path,
		(time_t)(since_usecs / 1000000),
		doveadm_alertwall_read_log_line, &ctx);
}
