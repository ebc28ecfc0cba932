/* Copyright (c) 2026 alertwall authors */

/* alertwall-spool: decides who an alert tells (the seed's scopes), renders
   one report mail per recipient, and leaves each in the spool for the
   alertwall-deliver service. Called by the engine for every raised alert,
   and by "doveadm alertwall digest" for the digest mails. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "net.h"
#include "ioloop.h"
#include "hostpid.h"
#include "strescape.h"
#include "write-full.h"
#include "mkdir-parents.h"
#include "alertwall-report.h"
#include "alertwall-spool.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* spool mails are private to the writer and the deliver service (root) */
#define ALERTWALL_SPOOL_FILE_MODE 0600
/* the spool is shared by mail processes of many uids */
#define ALERTWALL_SPOOL_DIR_MODE 01733
#define ALERTWALL_SPOOL_ERROR_INTERVAL_SECS 60

struct alertwall_spool_recipient {
	const char *user;
	enum alertwall_report_role role;
};

static time_t last_error_time;

static void ATTR_FORMAT(1, 2) alertwall_spool_error(const char *fmt, ...)
{
	va_list args;

	/* one line a minute is enough to tell the admin */
	/* a clock that went back must not silence errors for the jump */
	if (ioloop_time >= last_error_time &&
	    ioloop_time - last_error_time < ALERTWALL_SPOOL_ERROR_INTERVAL_SECS)
		return;
	last_error_time = ioloop_time;
	va_start(args, fmt);
	i_error("alertwall: %s", t_strdup_vprintf(fmt, args));
	va_end(args);
}

const char *alertwall_spool_folder(const struct alertwall_spool_settings *set,
				   const char *name)
{
	return t_strdup_printf("%sAlerts%c%s", set->folder_prefix == NULL ?
			       "" : set->folder_prefix, set->folder_sep, name);
}

static const char *alertwall_level_folder(enum alertwall_level level)
{
	switch (level) {
	case ALERTWALL_LEVEL_INFO:
		return "Info";
	case ALERTWALL_LEVEL_WARNING:
		return "Warnings";
	case ALERTWALL_LEVEL_ERROR:
	case ALERTWALL_LEVEL_COUNT:
		break;
	}
	return "Errors";
}

ARRAY_DEFINE_TYPE(alertwall_spool_recipient_t, struct alertwall_spool_recipient);

static void
alertwall_recipient_add(ARRAY_TYPE(alertwall_spool_recipient_t) *rcpts,
			const char *user, enum alertwall_report_role role)
{
	const struct alertwall_spool_recipient *rcpt;
	struct alertwall_spool_recipient *new_rcpt;

	if (user == NULL || *user == '\0')
		return;
	/* one mail per person even when they hold several roles */
	array_foreach(rcpts, rcpt) {
		if (strcmp(rcpt->user, user) == 0)
			return;
	}
	new_rcpt = array_append_space(rcpts);
	new_rcpt->user = user;
	new_rcpt->role = role;
}

/* The seed's "who is told": email-level alerts go to the admin,
   mailbox-level ones to the admin and the mailbox owner, profile-level ones
   to the profile owner and the admin, and for information to the impacted
   owner when the profile says so. Nothing about the admin's own mailbox is
   mailed into it. */
static void
alertwall_spool_recipients(const struct alertwall_spool_settings *set,
			   const struct alertwall_alert *alert,
			   ARRAY_TYPE(alertwall_spool_recipient_t) *rcpts)
{
	const char *owner = alert->failure.user;

	if (owner != NULL && strcmp(owner, set->admin) == 0)
		return;

	switch (alert->scope) {
	case ALERTWALL_SCOPE_EMAIL:
		alertwall_recipient_add(rcpts, set->admin,
					ALERTWALL_REPORT_ROLE_ADMIN);
		break;
	case ALERTWALL_SCOPE_MAILBOX:
		alertwall_recipient_add(rcpts, set->admin,
					ALERTWALL_REPORT_ROLE_ADMIN);
		alertwall_recipient_add(rcpts, owner,
					ALERTWALL_REPORT_ROLE_OWNER);
		break;
	case ALERTWALL_SCOPE_PROFILE:
	case ALERTWALL_SCOPE_COUNT:
		alertwall_recipient_add(rcpts, alert->profile_owner,
					ALERTWALL_REPORT_ROLE_PROFILE_OWNER);
		alertwall_recipient_add(rcpts, set->admin,
					ALERTWALL_REPORT_ROLE_ADMIN);
		if (alert->notify_mailbox_owners) {
			alertwall_recipient_add(rcpts, owner,
						ALERTWALL_REPORT_ROLE_INFO);
		}
		break;
	}
}

/* new/ before tmp/: another process that finds tmp/ made may write in
   it at once, and its rename into new/ must not find new/ missing (the
   first alerts of parallel processes lost their mails that way) */
static int alertwall_spool_mkdirs(const char *spool_dir)
{
	static const char *const subdirs[] = { "new", "tmp" };
	const char *path;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(subdirs); i++) {
		path = t_strconcat(spool_dir, "/", subdirs[i], NULL);
		if (mkdir_parents(path, ALERTWALL_SPOOL_DIR_MODE) < 0 &&
		    errno != EEXIST) {
			alertwall_spool_error("mkdir(%s) failed: %m "
				"(alert mails are not spooled)", path);
			return -1;
		}
	}
	return 0;
}

static int
alertwall_spool_write(const char *spool_dir, const char *name,
		      const string_t *mail)
{
	const char *tmp_path, *new_path;
	int fd, ret;

	tmp_path = t_strdup_printf("%s/tmp/%s", spool_dir, name);
	new_path = t_strdup_printf("%s/new/%s", spool_dir, name);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		  O_CLOEXEC, ALERTWALL_SPOOL_FILE_MODE);
	if (fd == -1 && errno == ENOENT) {
		if (alertwall_spool_mkdirs(spool_dir) < 0)
			return -1;
		fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_CLOEXEC, ALERTWALL_SPOOL_FILE_MODE);
	}
	if (fd == -1) {
		alertwall_spool_error("open(%s) failed: %m", tmp_path);
		return -1;
	}
	if (write_full(fd, str_data(mail), str_len(mail)) < 0) {
		alertwall_spool_error("write(%s) failed: %m", tmp_path);
		i_close_fd(&fd);
		i_unlink_if_exists(tmp_path);
		return -1;
	}
	if (close(fd) < 0) {
		alertwall_spool_error("close(%s) failed: %m", tmp_path);
		i_unlink_if_exists(tmp_path);
		return -1;
	}
	/* the rename makes the mail visible to the deliver service whole */
	ret = rename(tmp_path, new_path);
	if (ret < 0 && errno == ENOENT) {
		/* new/ gone (an admin cleaning up) while tmp/ is there */
		if (alertwall_spool_mkdirs(spool_dir) < 0)
			errno = ENOENT;
		else
			ret = rename(tmp_path, new_path);
	}
	if (ret < 0) {
		alertwall_spool_error("rename(%s, %s) failed: %m",
				      tmp_path, new_path);
		i_unlink_if_exists(tmp_path);
		return -1;
	}
	return 0;
}

void alertwall_spool_notify(const struct alertwall_spool_settings *set)
{
	const char *path = set->notify_socket;
	string_t *str;
	int fd;

	if (*path == '\0')
		return;
	if (*path != '/' && set->base_dir != NULL)
		path = t_strconcat(set->base_dir, "/", path, NULL);
	fd = net_connect_unix(path);
	if (fd == -1) {
		if (errno != ENOENT && errno != EAGAIN)
			alertwall_spool_error("net_connect_unix(%s) failed: %m", path);
		return;
	}
	str = t_str_new(64);
	str_append(str, "VERSION\tscript\t4\t0\nnoreply\n");
	/* the service takes no arguments from us: its own configuration
	   says which spool it drains */
	str_append(str, "\n");
	if (write(fd, str_data(str), str_len(str)) != (ssize_t)str_len(str) &&
	    errno != EAGAIN)
		alertwall_spool_error("write(%s) failed: %m", path);
	i_close_fd(&fd);
}

int alertwall_spool_alert(const struct alertwall_spool_settings *set,
			  const struct alertwall_alert *alert,
			  const char *record_json, const char *orig_headers)
{
	ARRAY_TYPE(alertwall_spool_recipient_t) rcpts;
	const struct alertwall_spool_recipient *rcpt;
	struct alertwall_report_settings report_set;
	const char *folder, *unique;
	string_t *mail;
	unsigned int n = 0;
	int ret = 0;

	if (set->spool_dir == NULL || *set->spool_dir == '\0')
		return 0;
	t_array_init(&rcpts, 4);
	alertwall_spool_recipients(set, alert, &rcpts);
	if (array_count(&rcpts) == 0)
		return 0;

	i_zero(&report_set);
	report_set.from = set->from;
	report_set.hostname = alert->failure.host;
	folder = alertwall_spool_folder(set,
					alertwall_level_folder(alert->level));

	mail = t_str_new(4096);
	/* one alert id is mailed more than once (raised, reminded,
	   resolved): a name of its own per mail, or a later one would
	   replace one still waiting in the spool. ID.N stays the form the
	   deliver service reads the id from. */
	unique = t_strdup_printf("%lld-%s", alert->time_usecs, my_pid);
	array_foreach(&rcpts, rcpt) {
		str_truncate(mail, 0);
		/* the deliver service reads its envelope from these */
		str_append(mail, "X-Alertwall-Recipient: ");
		str_append_tabescaped(mail, rcpt->user);
		str_append(mail, "\r\nX-Alertwall-Folder: ");
		str_append(mail, folder);
		str_append(mail, "\r\n");
		alertwall_report_render(alert, rcpt->user, rcpt->role, 1,
					record_json, orig_headers,
					&report_set, mail);
		if (alertwall_spool_write(set->spool_dir,
				t_strdup_printf("%s.%s-%u", alert->id, unique, n),
				mail) < 0) {
			ret = -1;
			break;
		}
		n++;
	}
	if (n > 0)
		alertwall_spool_notify(set);
	return ret < 0 ? -1 : (int)n;
}

int alertwall_spool_mail(const struct alertwall_spool_settings *set,
			 const char *name, const char *recipient,
			 const char *folder, const char *mail)
{
	string_t *str;

	if (set->spool_dir == NULL || *set->spool_dir == '\0') {
		alertwall_spool_error("alertwall_spool is empty: the mail for "
				      "%s is not spooled", recipient);
		return -1;
	}
	str = t_str_new(strlen(mail) + 256);
	/* the same envelope headers as the alert mails */
	str_append(str, "X-Alertwall-Recipient: ");
	str_append_tabescaped(str, recipient);
	str_append(str, "\r\nX-Alertwall-Folder: ");
	str_append(str, folder);
	str_append(str, "\r\n");
	str_append(str, mail);
	if (alertwall_spool_write(set->spool_dir, name, str) < 0)
		return -1;
	alertwall_spool_notify(set);
	return 0;
}
