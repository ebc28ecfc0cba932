/* Copyright (c) 2026 alertwall authors */

/* alertwall-sidecar: append alert records to the JSON-lines sidecar log.
   Called by the plugin (alertwall-plugin.c) for every alert; see
   alertwall-sidecar.h for the guarantees. */

#include "lib.h"
#include "str.h"
#include "fd-util.h"
#include "alertwall-sidecar.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

struct sidecar_record {
	char *data;
	size_t len;
};

struct alertwall_sidecar {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;

	/* ring buffer of records waiting to be written, oldest first */
	struct sidecar_record queue[ALERTWALL_SIDECAR_QUEUE_MAX];
	unsigned int queue_head, queue_count;
	unsigned int dropped, dropped_logged;

	/* a short write left a partial line in the file: the next record
	   starts with a newline so that it stays a line of its own */
	bool partial_line;
};

/* per process, so that many writers do not multiply the log noise */
static time_t sidecar_last_error;
static unsigned int sidecar_suppressed_errors;

static void ATTR_FORMAT(2, 3)
sidecar_error(struct alertwall_sidecar *sidecar, const char *fmt, ...)
{
	int old_errno = errno;
	time_t now = time(NULL);
	va_list args;

	if (sidecar_last_error != 0 &&
	    now >= sidecar_last_error &&
	    now - sidecar_last_error < ALERTWALL_SIDECAR_ERROR_INTERVAL_SECS) {
		sidecar_suppressed_errors++;
		return;
	}
	sidecar_last_error = now;

	va_start(args, fmt);
	T_BEGIN {
		string_t *str = t_str_new(256);

		str_printfa(str, "alertwall: sidecar log %s: ", sidecar->path);
		/* for %m */
		errno = old_errno;
		str_vprintfa(str, fmt, args);
		if (sidecar->queue_count > 0) {
			str_printfa(str, " (%u records queued)",
				    sidecar->queue_count);
		}
		if (sidecar->dropped > sidecar->dropped_logged) {
			str_printfa(str, " (%u records dropped)",
				    sidecar->dropped - sidecar->dropped_logged);
			sidecar->dropped_logged = sidecar->dropped;
		}
		if (sidecar_suppressed_errors > 0) {
			str_printfa(str, " (%u similar errors not logged)",
				    sidecar_suppressed_errors);
			sidecar_suppressed_errors = 0;
		}
		i_error("%s", str_c(str));
	} T_END;
	va_end(args);
}

static void sidecar_close_fd(struct alertwall_sidecar *sidecar)
{
	if (sidecar->fd != -1)
		i_close_fd_path(&sidecar->fd, sidecar->path);
	/* a new file starts on a line boundary */
	sidecar->partial_line = FALSE;
}

static int sidecar_open_fd(struct alertwall_sidecar *sidecar)
{
	/* O_NONBLOCK: a FIFO without a reader must not hang the process;
	   it is refused below anyway */
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
		O_NONBLOCK;
	struct stat st;
	bool created = TRUE;
	int fd;

	i_assert(sidecar->fd == -1);

	fd = open(sidecar->path, flags | O_CREAT | O_EXCL,
		  ALERTWALL_SIDECAR_FILE_MODE);
	if (fd == -1 && errno == EEXIST) {
		created = FALSE;
		fd = open(sidecar->path, flags);
	}
	if (fd == -1) {
		if (errno == ELOOP) {
			sidecar_error(sidecar, "open() refused: "
				      "the path is a symlink");
		} else {
			sidecar_error(sidecar, "open() failed: %m");
		}
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		sidecar_error(sidecar, "fstat() failed: %m");
		i_close_fd_path(&fd, sidecar->path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		sidecar_error(sidecar, "not a regular file");
		i_close_fd_path(&fd, sidecar->path);
		return -1;
	}
	if (created &&
	    fchmod(fd, ALERTWALL_SIDECAR_FILE_MODE) < 0) {
		/* the file is still usable by this process */
		sidecar_error(sidecar, "fchmod(%o) failed: %m",
			      ALERTWALL_SIDECAR_FILE_MODE);
	}
	sidecar->fd = fd;
	sidecar->dev = st.st_dev;
	sidecar->ino = st.st_ino;
	return 0;
}

/* Make sure fd is the file now at path: rotation renames the old file
   away and creates a new one (or leaves none). */
static int sidecar_reopen_if_needed(struct alertwall_sidecar *sidecar)
{
	struct stat st;

	if (sidecar->fd != -1) {
		if (lstat(sidecar->path, &st) == 0 &&
		    st.st_dev == sidecar->dev && st.st_ino == sidecar->ino)
			return 0;
		sidecar_close_fd(sidecar);
	}
	return sidecar_open_fd(sidecar);
}

static int
sidecar_write_fd(struct alertwall_sidecar *sidecar,
		 const void *data, size_t len)
{
	ssize_t ret;

	do {
		ret = write(sidecar->fd, data, len);
	} while (ret < 0 && errno == EINTR);

	if (ret == (ssize_t)len)
		return 0;
	if (ret < 0) {
		sidecar_error(sidecar, "write() failed: %m");
		/* nothing reached the file */
		return -1;
	}
	if (ret > 0)
		sidecar->partial_line = TRUE;
	sidecar_error(sidecar, "write() wrote only %zd of %zu bytes",
		      ret, len);
	return -1;
}

/* Write one record in a single write(). */
static int
sidecar_write_record(struct alertwall_sidecar *sidecar,
		     const char *data, size_t len)
{
	bool add_lf = len == 0 || data[len - 1] != '\n';
	int ret;

	if (!add_lf && !sidecar->partial_line)
		return sidecar_write_fd(sidecar, data, len);

	T_BEGIN {
		string_t *str = t_str_new(len + 2);
		bool had_partial = sidecar->partial_line;

		if (had_partial)
			str_append_c(str, '\n');
		str_append_data(str, data, len);
		if (add_lf)
			str_append_c(str, '\n');
		sidecar->partial_line = FALSE;
		ret = sidecar_write_fd(sidecar, str_data(str), str_len(str));
		if (ret < 0 && had_partial)
			sidecar->partial_line = TRUE;
	} T_END;
	return ret;
}

static void
sidecar_queue_push(struct alertwall_sidecar *sidecar,
		   const char *line, size_t len)
{
	struct sidecar_record *rec;
	unsigned int idx;

	if (sidecar->queue_count == ALERTWALL_SIDECAR_QUEUE_MAX) {
		/* full: the oldest record makes room */
		rec = &sidecar->queue[sidecar->queue_head];
		i_free(rec->data);
		sidecar->queue_head = (sidecar->queue_head + 1) %
			ALERTWALL_SIDECAR_QUEUE_MAX;
		sidecar->queue_count--;
		sidecar->dropped++;
	}
	idx = (sidecar->queue_head + sidecar->queue_count) %
		ALERTWALL_SIDECAR_QUEUE_MAX;
	rec = &sidecar->queue[idx];
	rec->data = i_malloc(len);
	memcpy(rec->data, line, len);
	rec->len = len;
	sidecar->queue_count++;
}

static void sidecar_queue_pop(struct alertwall_sidecar *sidecar)
{
	struct sidecar_record *rec = &sidecar->queue[sidecar->queue_head];

	i_assert(sidecar->queue_count > 0);
	i_free(rec->data);
	rec->len = 0;
	sidecar->queue_head = (sidecar->queue_head + 1) %
		ALERTWALL_SIDECAR_QUEUE_MAX;
	sidecar->queue_count--;
}

static int sidecar_queue_write(struct alertwall_sidecar *sidecar)
{
	while (sidecar->queue_count > 0) {
		const struct sidecar_record *rec =
			&sidecar->queue[sidecar->queue_head];

		if (sidecar_write_record(sidecar, rec->data, rec->len) < 0)
			return -1;
		sidecar_queue_pop(sidecar);
	}
	return 0;
}

struct alertwall_sidecar *alertwall_sidecar_open(const char *path)
{
	struct alertwall_sidecar *sidecar;

	sidecar = i_new(struct alertwall_sidecar, 1);
	sidecar->path = i_strdup(path);
	sidecar->fd = -1;
	(void)sidecar_open_fd(sidecar);
	return sidecar;
}

void alertwall_sidecar_close(struct alertwall_sidecar **_sidecar)
{
	struct alertwall_sidecar *sidecar = *_sidecar;

	if (sidecar == NULL)
		return;
	*_sidecar = NULL;

	if (sidecar->queue_count > 0 &&
	    alertwall_sidecar_flush(sidecar) < 0) {
		/* closing is the last chance: say so whatever the limit */
		i_error("alertwall: sidecar log %s: %u records lost at close",
			sidecar->path, sidecar->queue_count);
	}
	while (sidecar->queue_count > 0)
		sidecar_queue_pop(sidecar);
	sidecar_close_fd(sidecar);
	i_free(sidecar->path);
	i_free(sidecar);
}

int alertwall_sidecar_flush(struct alertwall_sidecar *sidecar)
{
	if (sidecar->queue_count == 0)
		return 0;
	if (sidecar_reopen_if_needed(sidecar) < 0)
		return -1;
	return sidecar_queue_write(sidecar);
}

int alertwall_sidecar_write(struct alertwall_sidecar *sidecar,
			    const char *line, size_t len)
{
	if (sidecar_reopen_if_needed(sidecar) < 0 ||
	    sidecar_queue_write(sidecar) < 0 ||
	    sidecar_write_record(sidecar, line, len) < 0) {
		sidecar_queue_push(sidecar, line, len);
		return -1;
	}
	return 0;
}

unsigned int alertwall_sidecar_queued_count(const struct alertwall_sidecar *sidecar)
{
	return sidecar->queue_count;
}

unsigned int alertwall_sidecar_dropped_count(const struct alertwall_sidecar *sidecar)
{
	return sidecar->dropped;
}
