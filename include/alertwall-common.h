#ifndef ALERTWALL_COMMON_H
#define ALERTWALL_COMMON_H

/* alertwall-common: the vocabulary every part of alertwall shares (nature,
   scope, level, failure source) and the name tables that turn those enums,
   enum mail_error values and errno values into the stable strings used in
   the rules file, the sidecar log and alert mails. Pure: no storage. */

enum alertwall_nature {
	ALERTWALL_NATURE_TRANSIENT = 0,
	ALERTWALL_NATURE_PERMANENT,

	ALERTWALL_NATURE_COUNT
};

enum alertwall_scope {
	ALERTWALL_SCOPE_EMAIL = 0,
	ALERTWALL_SCOPE_MAILBOX,
	ALERTWALL_SCOPE_PROFILE,

	ALERTWALL_SCOPE_COUNT
};

enum alertwall_level {
	ALERTWALL_LEVEL_INFO = 0,
	ALERTWALL_LEVEL_WARNING,
	ALERTWALL_LEVEL_ERROR,

	ALERTWALL_LEVEL_COUNT
};

/* where in Dovecot a failure was caught */
enum alertwall_source {
	ALERTWALL_SOURCE_DELIVERY = 0,
	ALERTWALL_SOURCE_SYNC,
	ALERTWALL_SOURCE_OPEN,
	ALERTWALL_SOURCE_SAVE,
	ALERTWALL_SOURCE_COPY,
	ALERTWALL_SOURCE_INDEX,
	ALERTWALL_SOURCE_CACHE,
	ALERTWALL_SOURCE_AUTH,
	ALERTWALL_SOURCE_OTHER,

	ALERTWALL_SOURCE_COUNT
};

/* number of enum mail_error values (MAIL_ERROR_NONE .. LOOKUP_ABORTED) */
#define ALERTWALL_MAIL_ERROR_COUNT 15

const char *alertwall_nature_name(enum alertwall_nature nature);
const char *alertwall_scope_name(enum alertwall_scope scope);
const char *alertwall_level_name(enum alertwall_level level);
const char *alertwall_source_name(enum alertwall_source source);
/* Returns "TEMP", "NOQUOTA", ... for an enum mail_error value, or NULL
   for an out-of-range value. MAIL_ERROR_NONE is "NONE". */
const char *alertwall_mail_error_name(int mail_error);
/* Returns "ENOSPC", "EACCES", ... or NULL when the value has no name. */
const char *alertwall_errno_name(int err);

/* The parse functions return 0 and set *_r, or -1 when the name is
   unknown. Names are case-insensitive; mail_error also accepts the
   "MAIL_ERROR_" prefix and "source" accepts "userdb" for auth. */
int alertwall_nature_parse(const char *name, enum alertwall_nature *nature_r);
int alertwall_scope_parse(const char *name, enum alertwall_scope *scope_r);
int alertwall_level_parse(const char *name, enum alertwall_level *level_r);
int alertwall_source_parse(const char *name, enum alertwall_source *source_r);
int alertwall_mail_error_parse(const char *name, int *mail_error_r);
int alertwall_errno_parse(const char *name, int *err_r);

#endif
