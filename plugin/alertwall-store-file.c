/* Copyright (c) 2026 alertwall authors */

/* alertwall-store-file: the embedded default state backend. Each key is one
   small file, DIR/ab/abcdef... (the SHA-1 of the key), holding the key on
   its first line and the value after it. An update holds an fcntl lock on
   the file for its read-modify-write, so concurrent processes serialize
   per object and never lose a count; the cost of an update does not grow
   with the number of objects. Survives process exits and restarts. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "sha1.h"
#include "strescape.h"
#include "file-lock.h"
#include "mkdir-parents.h"
#include "read-full.h"
#include "write-full.h"
#include "alertwall-store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* how long an update waits for another process's lock before giving up:
   alert state must never hold a delivery for long */
#define ALERTWALL_STORE_LOCK_TIMEOUT_SECS 2
/* state files are shared by the mail uids (see README: permissions) */
#define ALERTWALL_STORE_FILE_MODE 0660
#define ALERTWALL_STORE_DIR_MODE 0770
/* values are small; a larger file is damage, not state */
#define ALERTWALL_STORE_MAX_FILE_SIZE (64 * 1024)

struct alertwall_store_file {
	struct alertwall_store store;
	char *dir;
	/* root (doveadm) creates files as the store directory's owner, so
	   the mail processes can still update them */
	bool as_owner;
	uid_t owner_uid;
	gid_t owner_gid;
};

static const char *
alertwall_store_file_path(struct alertwall_store_file *fstore, const char *key,
			  const char **subdir_r, const char **name_r)
{
	return alertwall_store_file_key_path(fstore->dir, key, subdir_r,
					     name_r);
}

/* Open a subdirectory of the store; the files in it are then opened
   relative to it. Every mail uid may write the store, and doveadm runs as
   root: a subdirectory replaced with a symlink would have root create,
   read and delete files wherever it points, so none is followed.
   Returns the fd, or -1 with errno set (ELOOP or ENOTDIR for a symlink). */
static int alertwall_store_file_open_subdir(const char *subdir)
{
	return open(subdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static const char *alertwall_store_file_subdir_error(const char *subdir)
{
	if (errno == ELOOP || errno == ENOTDIR) {
		return t_strdup_printf("%s is not a directory (a symlink?): "
				       "refused", subdir);
	}
	return t_strdup_printf("open(%s) failed: %m", subdir);
}

/* Read the whole file at fd. The callers hold a lock that keeps writers
   out, so a short read is the end of the file: no lseek() and no read()
   that returns 0, two syscalls of the few that a state update costs.
   Returns 0 with the content, -1 on error. */
static int
alertwall_store_file_read(int fd, const char *path, string_t *content,
			  const char **error_r)
{
	unsigned char buf[4096];
	off_t offset = 0;
	ssize_t ret;

	while ((ret = pread(fd, buf, sizeof(buf), offset)) > 0) {
		str_append_data(content, buf, ret);
		offset += ret;
		if (str_len(content) > ALERTWALL_STORE_MAX_FILE_SIZE) {
			*error_r = t_strdup_printf("%s: larger than %u bytes",
				path, ALERTWALL_STORE_MAX_FILE_SIZE);
			return -1;
		}
		if ((size_t)ret < sizeof(buf))
			return 0;
	}
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	return 0;
}

/* Lock fd, waiting at most ALERTWALL_STORE_LOCK_TIMEOUT_SECS. An
   uncontended lock is taken without the wait's two alarm() calls.
   Returns 1 when locked, 0 on timeout, -1 on error. */
static int
alertwall_store_file_lock_fd(int fd, const char *path, int lock_type,
			     struct file_lock **lock_r, const char **error_r)
{
	struct file_lock_settings lock_set = {
		.lock_method = FILE_LOCK_METHOD_FCNTL,
	};
	int ret;

	ret = file_try_lock(fd, path, lock_type, &lock_set, lock_r, error_r);
	if (ret != 0)
		return ret;
	return file_wait_lock(fd, path, lock_type, &lock_set,
			      ALERTWALL_STORE_LOCK_TIMEOUT_SECS, lock_r, error_r);
}

/* Split a file's content into its key line and value. Returns 1 when the
   file holds key, 0 when it is empty, -1 when it holds another key (a
   SHA-1 collision, or damage). */
static int
alertwall_store_file_parse(const char *content, const char *key,
			   const char **value_r)
{
	const char *p;

	if (*content == '\0')
		return 0;
	p = strchr(content, '\n');
	if (p == NULL)
		return -1;
	if (strcmp(t_str_tabunescape(t_strdup_until(content, p)), key) != 0)
		return -1;
	*value_r = p + 1;
	return 1;
}

static int
alertwall_store_file_get(struct alertwall_store *store, const char *key,
			 const char **value_r, const char **error_r)
{
	struct alertwall_store_file *fstore =
		container_of(store, struct alertwall_store_file, store);
	struct file_lock *lock;
	const char *subdir, *name, *path, *lock_error;
	string_t *content;
	int dfd, fd, ret;

	path = alertwall_store_file_path(fstore, key, &subdir, &name);
	dfd = alertwall_store_file_open_subdir(subdir);
	if (dfd == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r = alertwall_store_file_subdir_error(subdir);
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	i_close_fd(&dfd);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	/* a shared lock so that a half-written value is never read */
	ret = alertwall_store_file_lock_fd(fd, path, F_RDLCK, &lock,
					   &lock_error);
	if (ret <= 0) {
		*error_r = ret < 0 ? lock_error :
			t_strdup_printf("Timeout locking %s", path);
		i_close_fd(&fd);
		return -1;
	}
	content = t_str_new(256);
	ret = alertwall_store_file_read(fd, path, content, error_r);
	file_lock_free(&lock);
	i_close_fd(&fd);
	if (ret < 0)
		return -1;
	ret = alertwall_store_file_parse(str_c(content), key, value_r);
	if (ret < 0) {
		*error_r = t_strdup_printf("%s holds another key", path);
		return -1;
	}
	return ret;
}

/* Open and lock the key's file, creating it. The lock is taken on the file
   that is still linked at path: a file deleted by another process while
   we waited for its lock is not used. */
static void alertwall_store_file_owner_init(struct alertwall_store_file *fstore)
{
	struct stat st;

	if (geteuid() != 0 || stat(fstore->dir, &st) < 0 || st.st_uid == 0)
		return;
	fstore->as_owner = TRUE;
	fstore->owner_uid = st.st_uid;
	fstore->owner_gid = st.st_gid;
}

static int
alertwall_store_file_lock(struct alertwall_store_file *fstore,
			  const char *path, const char *subdir,
			  const char *name, int *dfd_r, int *fd_r,
			  struct file_lock **lock_r, const char **error_r)
{
	struct stat st_fd, st_path;
	const char *lock_error;
	unsigned int tries;
	int dfd = -1, fd, ret;

	for (tries = 0; tries < 10; tries++) {
		if (dfd == -1)
			dfd = alertwall_store_file_open_subdir(subdir);
		fd = dfd == -1 ? -1 :
			openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC |
			       O_NOFOLLOW, ALERTWALL_STORE_FILE_MODE);
		if (fd == -1 && dfd == -1 && errno == ENOENT) {
			if ((fstore->as_owner ?
			     mkdir_parents_chown(subdir, ALERTWALL_STORE_DIR_MODE,
						 fstore->owner_uid,
						 fstore->owner_gid) :
			     mkdir_parents(subdir, ALERTWALL_STORE_DIR_MODE)) < 0 &&
			    errno != EEXIST) {
				*error_r = t_strdup_printf(
					"mkdir(%s) failed: %m", subdir);
				return -1;
			}
			continue;
		}
		if (fd == -1 && dfd == -1) {
			*error_r = alertwall_store_file_subdir_error(subdir);
			return -1;
		}
		if (fd == -1) {
			*error_r = t_strdup_printf("open(%s) failed: %m", path);
			i_close_fd(&dfd);
			return -1;
		}
		ret = alertwall_store_file_lock_fd(fd, path, F_WRLCK, lock_r,
						   &lock_error);
		if (ret <= 0) {
			*error_r = ret < 0 ? lock_error :
				t_strdup_printf("Timeout locking %s", path);
			i_close_fd(&fd);
			i_close_fd(&dfd);
			return -1;
		}
		if (fstat(fd, &st_fd) == 0 &&
		    fstatat(dfd, name, &st_path, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st_fd.st_ino == st_path.st_ino &&
		    st_fd.st_dev == st_path.st_dev) {
			/* the umask must not hide the file from other uids.
			   Only when needed: each call dirties the inode, and
			   most updates are of files that are already right */
			if ((st_fd.st_mode & 07777) != ALERTWALL_STORE_FILE_MODE)
				(void)fchmod(fd, ALERTWALL_STORE_FILE_MODE);
			if (fstore->as_owner &&
			    (st_fd.st_uid != fstore->owner_uid ||
			     st_fd.st_gid != fstore->owner_gid) &&
			    fchown(fd, fstore->owner_uid, fstore->owner_gid) < 0) {
				*error_r = t_strdup_printf(
					"fchown(%s) failed: %m", path);
				file_lock_free(lock_r);
				i_close_fd(&fd);
				i_close_fd(&dfd);
				return -1;
			}
			*dfd_r = dfd;
			*fd_r = fd;
			return 0;
		}
		file_lock_free(lock_r);
		i_close_fd(&fd);
	}
	if (dfd != -1)
		i_close_fd(&dfd);
	*error_r = t_strdup_printf("%s keeps being replaced", path);
	return -1;
}

static int
alertwall_store_file_update(struct alertwall_store *store, const char *key,
			    alertwall_store_update_func *func, void *context,
			    const char **error_r)
{
	struct alertwall_store_file *fstore =
		container_of(store, struct alertwall_store_file, store);
	struct file_lock *lock;
	const char *subdir, *name, *path, *old_value = NULL;
	string_t *content, *new_value;
	size_t old_size;
	int dfd, fd, ret = 0;

	path = alertwall_store_file_path(fstore, key, &subdir, &name);
	if (alertwall_store_file_lock(fstore, path, subdir, name, &dfd, &fd,
				      &lock, error_r) < 0)
		return -1;

	content = t_str_new(256);
	if (alertwall_store_file_read(fd, path, content, error_r) < 0)
		ret = -1;
	else if (alertwall_store_file_parse(str_c(content), key,
					    &old_value) < 0) {
		*error_r = t_strdup_printf("%s holds another key", path);
		ret = -1;
	}
	new_value = t_str_new(256);
	if (ret == 0 && func(old_value, new_value, context)) {
		if (str_len(new_value) == 0) {
			/* delete while still holding the lock: waiters see
			   the unlinked file and reopen */
			if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
				*error_r = t_strdup_printf("unlink(%s) failed: %m",
							   path);
				ret = -1;
			}
		} else {
			old_size = str_len(content);
			str_truncate(content, 0);
			str_append_tabescaped(content, key);
			str_append_c(content, '\n');
			str_append_str(content, new_value);
			/* a value of the same length, the common case of
			   a counter update, needs no truncate */
			if (pwrite_full(fd, str_data(content), str_len(content), 0) < 0 ||
			    (str_len(content) < old_size &&
			     ftruncate(fd, str_len(content)) < 0)) {
				*error_r = t_strdup_printf("write(%s) failed: %m",
							   path);
				ret = -1;
			}
		}
	} else if (ret == 0 && old_value == NULL) {
		/* nothing was written to the file this update created */
		(void)unlinkat(dfd, name, 0);
	}
	file_lock_free(&lock);
	i_close_fd(&fd);
	i_close_fd(&dfd);
	return ret;
}

static int
alertwall_store_file_iterate_dir(struct alertwall_store_file *fstore,
				 const char *subdir,
				 alertwall_store_iter_func *func, void *context,
				 bool *stop_r, const char **error_r)
{
	struct dirent *d;
	const char *path, *key, *value, *p;
	string_t *content;
	DIR *dir;
	int dfd, fd, ret = 0;

	dfd = alertwall_store_file_open_subdir(subdir);
	if (dfd == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r = alertwall_store_file_subdir_error(subdir);
		return -1;
	}
	dir = fdopendir(dfd);
	if (dir == NULL) {
		*error_r = t_strdup_printf("fdopendir(%s) failed: %m", subdir);
		i_close_fd(&dfd);
		return -1;
	}
	while (!*stop_r && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		T_BEGIN {
			path = t_strdup_printf("%s/%s", subdir, d->d_name);
			content = t_str_new(256);
			fd = openat(dfd, d->d_name,
				    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd != -1 &&
			    alertwall_store_file_read(fd, path, content,
						      error_r) == 0 &&
			    (p = strchr(str_c(content), '\n')) != NULL) {
				key = t_str_tabunescape(
					t_strdup_until(str_c(content), p));
				value = p + 1;
				if (!func(key, value, context))
					*stop_r = TRUE;
			}
			if (fd != -1)
				i_close_fd(&fd);
		} T_END;
	}
	(void)fstore;
	if (closedir(dir) < 0) {
		*error_r = t_strdup_printf("closedir(%s) failed: %m", subdir);
		ret = -1;
	}
	return ret;
}

static int
alertwall_store_file_iterate(struct alertwall_store *store,
			     alertwall_store_iter_func *func, void *context,
			     const char **error_r)
{
	struct alertwall_store_file *fstore =
		container_of(store, struct alertwall_store_file, store);
	unsigned int i;
	bool stop = FALSE;

	for (i = 0; i < 256 && !stop; i++) {
		const char *subdir = t_strdup_printf("%s/%02x", fstore->dir, i);

		if (alertwall_store_file_iterate_dir(fstore, subdir, func,
						     context, &stop,
						     error_r) < 0)
			return -1;
	}
	return 0;
}

static void alertwall_store_file_deinit(struct alertwall_store *store)
{
	struct alertwall_store_file *fstore =
		container_of(store, struct alertwall_store_file, store);

	i_free(fstore->dir);
	i_free(fstore->store.uri);
	i_free(fstore);
}

static const struct alertwall_store_vfuncs alertwall_store_file_vfuncs = {
	.deinit = alertwall_store_file_deinit,
	.get = alertwall_store_file_get,
	.update = alertwall_store_file_update,
	.iterate = alertwall_store_file_iterate,
};

int alertwall_store_file_init(const char *dir, struct alertwall_store **store_r,
			      const char **error_r)
{
	struct alertwall_store_file *fstore;

	if (*dir != '/') {
		*error_r = t_strdup_printf(
			"file state store needs an absolute path, not '%s'", dir);
		return -1;
	}
	fstore = i_new(struct alertwall_store_file, 1);
	fstore->store.v = &alertwall_store_file_vfuncs;
	fstore->store.uri = i_strconcat("file:", dir, NULL);
	fstore->dir = i_strdup(dir);
	alertwall_store_file_owner_init(fstore);
	*store_r = &fstore->store;
	return 0;
}
