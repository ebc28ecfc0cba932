#ifndef DOVEADM_ALERTWALL_H
#define DOVEADM_ALERTWALL_H

#include "alertwall-engine.h"

#include <sysexits.h>
#include <sys/types.h>
#include <time.h>

/* doveadm-alertwall: what the doveadm module's command files share. Each
   file registers its own commands; doveadm-alertwall.c is the entry
   point. */

struct mail_user;

/* exit code for an alert id, user or profile that does not exist */
#define DOVEADM_ALERTWALL_EX_UNKNOWN EX_NOUSER

/* command registration, one per command file */
void doveadm_alertwall_rules_register(void);
void doveadm_alertwall_enable_register(void);
void doveadm_alertwall_alerts_register(void);
void doveadm_alertwall_status_register(void);
void doveadm_alertwall_summary_register(void);
void doveadm_alertwall_silence_register(void);
void doveadm_alertwall_digest_register(void);

/* Engine settings from doveadm's own plugin {} settings (the non-mail
   commands: list, show, dismiss, rules). */
void doveadm_alertwall_settings(struct alertwall_engine_settings *set_r);
/* Engine settings as the user's mail processes see them: the user's
   plugin {} (userdb overrides and %-expansion included), base_dir and the
   inbox namespace's prefix and separator for the walls. */
void doveadm_alertwall_user_settings(struct mail_user *user,
				     struct alertwall_engine_settings *set_r);
/* The walls' prefix (copied into pool) and separator from the user's
   inbox namespace, as the mail plugin takes them; unchanged when the
   user has none. */
void doveadm_alertwall_walls_ns(struct mail_user *user, pool_t pool,
				struct alertwall_spool_settings *spool);

/* Set up doveadm's formatter with default_type unless -f chose one:
   doveadm only sets it up itself for -f. */
void doveadm_alertwall_print_init(const char *default_type);

struct doveadm_cmd_context;

/* The command's "id" parameter, an alert or silence id (what names it in
   errors). Returns FALSE when it is missing or not of an id's form, after
   logging why and setting the exit code to EX_USAGE. */
bool doveadm_alertwall_id_param(struct doveadm_cmd_context *cctx,
				const char *what, const char **id_r);

/* The time as RFC 3339 UTC ("2026-11-26T19:04:05Z"), "" for 0. */
const char *doveadm_alertwall_time(time_t t);

/* Returns TRUE for the statuses of an open alert (open, permanent). */
bool doveadm_alertwall_status_is_open(enum alertwall_status status);

/* Find the alert object whose current id is id. Returns 1 and a copy in
   alert_r (strings from pool), 0 when there is none, -1 with error_r on a
   store error. */
int doveadm_alertwall_find(const struct alertwall_engine_settings *set,
			   const char *id, pool_t pool,
			   struct alertwall_open_alert *alert_r,
			   const char **error_r);
/* Copy alert with its strings into pool (the store's iteration frees
   them after each callback). */
void doveadm_alertwall_alert_copy(pool_t pool,
				  const struct alertwall_open_alert *alert,
				  struct alertwall_open_alert *copy_r);

/* Parse a SINCE argument: a duration back from now ("1h", "2d",
   "30 mins") or an RFC 3339 time ("2026-11-26T19:04:05Z", an offset or
   fractions allowed). Returns 0, or -1 with *error_r (also for a time in
   the future). */
int doveadm_alertwall_parse_since(const char *value, time_t now,
				  time_t *since_r, const char **error_r);

/* The fields of one sidecar record that summary and digest read; NULL
   when the record has none. */
struct doveadm_alertwall_record {
	const char *time;
	const char *id;
	const char *event;
	const char *code;
	const char *level;
	const char *scope;
	const char *user;
	const char *mailbox;
	const char *profile;
	const char *summary;
};
/* Called for each record; its strings live during the call only. */
typedef void doveadm_alertwall_record_func(const struct doveadm_alertwall_record *rec,
					   void *context);
/* the sidecar's longest record is 4000 bytes */
#define DOVEADM_ALERTWALL_LOG_MAX_LINE (64 * 1024)
/* the length of a record's time: "2026-11-26T19:04:05.123Z" */
#define DOVEADM_ALERTWALL_RECORD_TIME_LEN 24

/* Parse one sidecar line into rec (its strings on the data stack).
   Returns 0, or -1 when it is not a record. */
int doveadm_alertwall_record_parse(const char *line,
				   struct doveadm_alertwall_record *rec);
typedef void doveadm_alertwall_line_func(const char *line, void *context);
/* Call func for each line of the sidecar log at path: those of the files
   rotated from it first (oldest first, compressed ones too; not those
   last written before since_secs), then those of the current file. A
   missing log has no lines. Returns 0, or -1 when a file cannot be read
   (logged; the others are still read). */
int doveadm_alertwall_read_log_lines(const char *path, time_t since_secs,
				     doveadm_alertwall_line_func *func,
				     void *context);
/* Read the sidecar log at path, the files rotated from it first, and call
   func for each record whose time is at or after since_usecs
   (microseconds since the epoch; records have milliseconds). Returns as
   doveadm_alertwall_read_log_lines(). */
int doveadm_alertwall_read_log(const char *path, long long since_usecs,
			       doveadm_alertwall_record_func *func,
			       void *context);

/* The directory of path ("." without one) and the name in it. */
void doveadm_alertwall_split_path(const char *path, const char **dir_r,
				  const char **name_r);

/* While doveadm runs as root, write as the owner of the sidecar log's
   directory, so that a file doveadm creates stays writable for the mail
   processes. end restores root. Nothing happens when not root or when
   the directory is root's. */
struct doveadm_alertwall_creds {
	uid_t uid;
	gid_t gid;
	bool switched;
};
void doveadm_alertwall_as_owner_begin(const struct alertwall_engine_settings *set,
				      struct doveadm_alertwall_creds *saved_r);
void doveadm_alertwall_as_owner_end(struct doveadm_alertwall_creds *saved);

#endif
