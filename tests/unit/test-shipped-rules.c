/* Copyright (c) 2026 alertwall authors */

/* test-shipped-rules: the default rules in conf.d/alertwall.yaml. Each rule
   gets failures as Dovecot 2.3.19.1 and Pigeonhole 0.5.19 report them and
   must turn them into the code, nature, scope, level and retry budget that
   doc/default-rules.md documents. Every rule must be reached by some case,
   and the built-in copy compiled into the module must agree with the
   file. */

#include "lib.h"
#include "str.h"
#include "mail-error.h"
#include "alertwall-rules-private.h"
#include "test-alertwall.h"

#include <errno.h>
#include <stdio.h>

#define SHIPPED_RULES "conf.d/alertwall.yaml"
#define NO_MAIL_ERROR (-1)
#define MINUTES(n) ((n) * 60U)
#define DAYS(n) ((n) * 24U * 3600U)

/* expected classifications */
#define TRANSIENT(_scope, _level, _limit, _window) \
	.nature = ALERTWALL_NATURE_TRANSIENT, \
	.scope = ALERTWALL_SCOPE_##_scope, \
	.level = ALERTWALL_LEVEL_##_level, \
	.retry_limit = (_limit), .retry_window_secs = (_window)
#define PERMANENT(_scope, _level) \
	.nature = ALERTWALL_NATURE_PERMANENT, \
	.scope = ALERTWALL_SCOPE_##_scope, \
	.level = ALERTWALL_LEVEL_##_level, \
	.retry_limit = 0, .retry_window_secs = 0

struct shipped_case {
	/* the failure */
	enum alertwall_source source;
	int mail_error;
	int errno_value;
	const char *text;
	unsigned int smtp_code;
	const char *smtp_status;
	const char *const *categories;
	const char *event_name;

	/* what the shipped rules make of it */
	const char *code;
	enum alertwall_nature nature;
	enum alertwall_scope scope;
	enum alertwall_level level;
	unsigned int retry_limit;
	unsigned int retry_window_secs;
};

static const char *const cat_index[] = { "mail-index", NULL };
static const char *const cat_cache[] = { "mail-cache", "mail-index", NULL };
static const char *const cat_storage[] = { "maildir", "storage", NULL };
static const char *const cat_auth[] = { "auth-client", NULL };
static const char *const cat_dict[] = { "dict", NULL };

static const struct shipped_case shipped_cases[] = {
	/* 1. alertwall itself (the text alertwall-user.c raises) */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "alertwall rules file /etc/dovecot/alertwall.yaml is invalid: "
		  "/etc/dovecot/alertwall.yaml:12:7: unknown key 'natur' in rule",
	  .code = "ALERTWALL_RULES_INVALID", PERMANENT(PROFILE, ERROR) },
	/* ... even when the reason would match a later rule */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "alertwall rules file /etc/dovecot/alertwall.yaml is invalid: "
		  "open(/etc/dovecot/alertwall.yaml) failed: Permission denied "
		  "(euid=8(mail) egid=8(mail) missing +r perm: "
		  "/etc/dovecot/alertwall.yaml, dir owned by 0:0 mode=0750)",
	  .code = "ALERTWALL_RULES_INVALID", PERMANENT(PROFILE, ERROR) },

	/* 2. known texts: one message */
	/* LMTP: 451 4.2.0 although it can never succeed */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_LIMIT,
	  .text = "Mail size is larger than the maximum size allowed by "
		  "server configuration",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "MESSAGE_TOO_LARGE", PERMANENT(EMAIL, ERROR) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_LIMIT,
	  .text = "Mail size is larger than the maximum size allowed by "
		  "server configuration",
	  .code = "MESSAGE_TOO_LARGE", PERMANENT(EMAIL, ERROR) },

	/* quota: 552 5.2.2, and 452 4.2.2 with quota_full_tempfail=yes */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Quota exceeded (mailbox for user is full)",
	  .smtp_code = 552, .smtp_status = "5.2.2",
	  .code = "MAILBOX_QUOTA_EXCEEDED", TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Quota exceeded (mailbox for user is full)",
	  .smtp_code = 452, .smtp_status = "4.2.2",
	  .code = "MAILBOX_QUOTA_EXCEEDED", TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },
	/* maildir turns EDQUOT into MAIL_ERRSTR_NO_QUOTA */
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_NOQUOTA,
	  .errno_value = EDQUOT, .text = "Not enough disk quota",
	  .code = "MAILBOX_QUOTA_EXCEEDED", TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EDQUOT,
	  .text = "Mailbox INBOX: save: write(/srv/mail/u/mailboxes/INBOX/"
		  "dbox-Mails/.temp.mx1.4242.2f1a8c) failed: Disk quota exceeded",
	  .code = "MAILBOX_QUOTA_EXCEEDED", TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },

	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Too many concurrent deliveries for user",
	  .smtp_code = 451, .smtp_status = "4.3.0",
	  .code = "DELIVERY_CONCURRENCY_LIMIT",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },

	/* users and the userdb */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "User doesn't exist: nobody@example.org",
	  .smtp_code = 550, .smtp_status = "5.1.1",
	  .code = "USER_UNKNOWN", PERMANENT(EMAIL, INFO) },
	/* seen on 2.3.19.1 in lmtp's log for a userdb uid=1 */
	{ .source = ALERTWALL_SOURCE_AUTH, .mail_error = NO_MAIL_ERROR,
	  .text = "lmtp-server: conn 127.0.0.1:40402 [1]: rcpt u: Failed to "
		  "initialize user: Mail access for users with UID 1 not "
		  "permitted (see first_valid_uid in config file, uid from "
		  "userdb lookup).",
	  .code = "USERDB_ENTRY_INVALID", PERMANENT(MAILBOX, ERROR) },
	{ .source = ALERTWALL_SOURCE_AUTH, .mail_error = NO_MAIL_ERROR,
	  .text = "Failed to lookup user u@example.org: Internal error "
		  "occurred. Refer to server log for more information.",
	  .code = "USERDB_LOOKUP_FAILED",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_AUTH, .mail_error = NO_MAIL_ERROR,
	  .text = "Auth USER lookup failed", .categories = cat_auth,
	  .code = "USERDB_LOOKUP_FAILED",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },
	/* the auth socket denying access is the backend, not one mailbox */
	{ .source = ALERTWALL_SOURCE_AUTH, .mail_error = NO_MAIL_ERROR,
	  .text = "connect(/run/dovecot/auth-userdb) failed: Permission "
		  "denied (euid=1000(u) egid=1000(u) missing +w perm: "
		  "/run/dovecot/auth-userdb, dir owned by 0:0 mode=0755)",
	  .categories = cat_auth,
	  .code = "USERDB_LOOKUP_FAILED",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },

	/* shared backends: quota before dict, as the quota text is the
	   more useful one ("quota is not enforced") */
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = NO_MAIL_ERROR,
	  .text = "Failed to check if user is under quota: Failed to get "
		  "quota resource STORAGE_BYTES for INBOX: "
		  "dict_lookup(priv/quota/storage) failed: "
		  "net_connect_unix(/run/dovecot/dict) failed: Connection "
		  "refused - saving mail anyway",
	  .code = "QUOTA_BACKEND_FAILED",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Quota update failed: Dict server timeout: No input for "
		  "30.000 secs (1 commands pending, oldest sent 30.000 secs "
		  "ago: C1, 29998 msecs in dict wait) - Quota is now desynced",
	  .code = "QUOTA_BACKEND_FAILED",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Commit failed: Dict server timeout: No input for 30.000 "
		  "secs (1 commands pending, oldest sent 30.000 secs ago: C1, "
		  "29998 msecs in dict wait)",
	  .categories = cat_dict,
	  .code = "DICT_BACKEND_UNAVAILABLE",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "dict_lookup(shared/last-login/u@example.org) failed: "
		  "net_connect_unix(/var/run/dovecot/dict-async) failed: "
		  "Permission denied",
	  .categories = cat_dict,
	  .code = "DICT_BACKEND_UNAVAILABLE",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },

	/* Sieve (texts of the installed lib90_sieve_plugin.so) */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Execution of Sieve filters was aborted due to temporary "
		  "failure",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "SIEVE_TEMPORARY_FAILURE",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Temporarily unable to access necessary Sieve scripts",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "SIEVE_TEMPORARY_FAILURE",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Execution of script /home/u/.dovecot.sieve failed with "
		  "unsuccessful implicit keep (user logfile "
		  "/home/u/.dovecot.sieve.log may reveal additional details)",
	  .code = "SIEVE_TEMPORARY_FAILURE",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Execution of script /home/u/.dovecot.sieve failed, but "
		  "implicit keep was successful (user logfile "
		  "/home/u/.dovecot.sieve.log may reveal additional details)",
	  .code = "SIEVE_SCRIPT_FAILED", PERMANENT(MAILBOX, WARNING) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Failed to compile script `/home/u/sieve/main.sieve'",
	  .code = "SIEVE_SCRIPT_FAILED", PERMANENT(MAILBOX, WARNING) },

	/* index, cache, maildir metadata, locks */
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Corrupted index file /home/u/Maildir/dovecot.index: "
		  "Keywords removed unexpectedly",
	  .categories = cat_index,
	  .code = "MAILBOX_INDEX_CORRUPTED",
	  TRANSIENT(MAILBOX, WARNING, 3, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Fixed index file /home/u/Maildir/dovecot.index: "
		  "log_file_seq 13 -> 15",
	  .categories = cat_index,
	  .code = "MAILBOX_INDEX_CORRUPTED",
	  TRANSIENT(MAILBOX, WARNING, 3, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Corrupted transaction log file "
		  "/home/u/Maildir/dovecot.index.log seq 15: indexid changed: "
		  "1714557600 -> 1714557999 (sync_offset=0)",
	  .categories = cat_index,
	  .code = "MAILBOX_TRANSACTION_LOG_CORRUPTED",
	  TRANSIENT(MAILBOX, WARNING, 3, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_CACHE, .mail_error = NO_MAIL_ERROR,
	  .text = "Deleting corrupted cache: File too small",
	  .categories = cat_cache, .event_name = "mail_cache_corrupted",
	  .code = "MAILBOX_CACHE_CORRUPTED",
	  TRANSIENT(MAILBOX, INFO, 5, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_CACHE, .mail_error = NO_MAIL_ERROR,
	  .text = "Deleting corrupted cache record uid=1: UID 1: Broken MIME "
		  "parts in mailbox INBOX: test",
	  .categories = cat_cache, .event_name = "mail_cache_corrupted",
	  .code = "MAILBOX_CACHE_CORRUPTED",
	  TRANSIENT(MAILBOX, INFO, 5, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Mailbox INBOX: Broken file /home/u/Maildir/dovecot-uidlist "
		  "line 7: UIDs not ordered (42 >= 17)",
	  .categories = cat_storage,
	  .code = "MAILDIR_UIDLIST_CORRUPTED",
	  TRANSIENT(MAILBOX, WARNING, 3, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Timeout (180s) while waiting for lock for transaction log "
		  "file /home/u/Maildir/dovecot.index.log (WRITE lock held by "
		  "pid 4242)",
	  .categories = cat_index,
	  .code = "MAILBOX_LOCK_TIMEOUT",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Timeout (180s) while waiting for dotlock for transaction "
		  "log file /home/u/Maildir/dovecot.index.log",
	  .categories = cat_index,
	  .code = "MAILBOX_LOCK_TIMEOUT",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	/* MAIL_ERRSTR_LOCK_TIMEOUT comes as MAIL_ERROR_TEMP */
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Timeout while waiting for lock",
	  .code = "MAILBOX_LOCK_TIMEOUT",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },

	/* the filesystem */
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EACCES,
	  .text = "Mailbox INBOX: open(/home/u/Maildir/dovecot-uidlist) "
		  "failed: Permission denied (euid=1000(u) egid=1000(u) "
		  "missing +r perm: /home/u/Maildir/dovecot-uidlist, we're "
		  "not in group 0(root), dir owned by 0:0 mode=0700)",
	  .code = "PERMISSION_DENIED", PERMANENT(MAILBOX, ERROR) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EPERM,
	  .text = "Mailbox INBOX: fchown(/home/u/Maildir/tmp/1714557600.M1P2."
		  "mx1, group=8(mail)) failed: Operation not permitted "
		  "(egid=1000(u), group based on /home/u/Maildir - see "
		  "http://wiki2.dovecot.org/Errors/ChgrpNoPerm)",
	  .code = "PERMISSION_DENIED", PERMANENT(MAILBOX, ERROR) },
	/* the root cause that LMTP turned into 451 4.2.0 */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Mailbox INBOX: open(/home/u/Maildir/tmp/1714557600.M1P2."
		  "mx1) failed: Permission denied (euid=1000(u) egid=1000(u) "
		  "missing +w perm: /home/u/Maildir/tmp, dir owned by 0:0 "
		  "mode=0755)",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "PERMISSION_DENIED", PERMANENT(MAILBOX, ERROR) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EROFS,
	  .text = "Mailbox INBOX: open(/srv/mail/u/Maildir/tmp/1714557600."
		  "M1P2.mx1) failed: Read-only file system",
	  .code = "FILESYSTEM_READ_ONLY", PERMANENT(PROFILE, ERROR) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = ENOSPC,
	  .text = "Mailbox INBOX: Saving mail: write(/srv/mail/u/Maildir/tmp/"
		  "1714557600.M1P2.mx1) failed: No space left on device",
	  .code = "STORAGE_DISK_FULL", TRANSIENT(PROFILE, WARNING, 3, MINUTES(15)) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Mailbox INBOX: Saving mail: write(/srv/mail/u/Maildir/tmp/"
		  "1714557600.M1P2.mx1) failed: No space left on device",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "STORAGE_DISK_FULL", TRANSIENT(PROFILE, WARNING, 3, MINUTES(15)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EIO,
	  .text = "Mailbox INBOX: UID=17: read(/srv/mail/u/Maildir/cur/"
		  "1714557600.M1P2.mx1:2,S) failed: Input/output error",
	  .code = "STORAGE_IO_ERROR", TRANSIENT(PROFILE, WARNING, 3, MINUTES(15)) },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "fstat() failed with file /srv/mail/u/Maildir/"
		  "dovecot.index.log: Stale file handle",
	  .categories = cat_index,
	  .code = "STORAGE_STALE_FILE_HANDLE",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },

	/* folders and names */
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_NOTFOUND,
	  .text = "Mailbox doesn't exist: Archive/2024",
	  .code = "MAILBOX_NOT_FOUND", PERMANENT(EMAIL, INFO) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "msgid=<20261126.4242@example.org>: failed to store into "
		  "mailbox 'Junk': Mailbox doesn't exist: Junk",
	  .code = "MAILBOX_NOT_FOUND", PERMANENT(EMAIL, INFO) },
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_PARAMS,
	  .text = "Invalid mailbox name: Begins with hierarchy separator",
	  .code = "INVALID_MAILBOX_NAME", PERMANENT(EMAIL, INFO) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_PARAMS,
	  .text = "Mailbox name not valid UTF-8",
	  .code = "INVALID_MAILBOX_NAME", PERMANENT(EMAIL, INFO) },

	/* 3. LMTP/LDA outcomes */
	/* a custom quota_exceeded_message only the reply gives away */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Your mailbox is full, please clean it up.",
	  .smtp_code = 552, .smtp_status = "5.2.2",
	  .code = "DELIVERY_MAILBOX_FULL",
	  TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Your mailbox is full, please clean it up.",
	  .smtp_code = 452, .smtp_status = "4.2.2",
	  .code = "DELIVERY_MAILBOX_FULL",
	  TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Internal error occurred. Refer to server log for more "
		  "information. [2026-11-26 19:12:26]",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "DELIVERY_INTERNAL_ERROR",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	/* after a failed userdb lookup LMTP answers 451 4.3.0 */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Temporary internal error",
	  .smtp_code = 451, .smtp_status = "4.3.0",
	  .code = "DELIVERY_DEFERRED",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Proxying loops to itself",
	  .smtp_code = 554, .smtp_status = "5.4.6",
	  .code = "DELIVERY_REJECTED", PERMANENT(EMAIL, ERROR) },

	/* 4. fallbacks by enum mail_error, with texts no rule knows */
	{ .source = ALERTWALL_SOURCE_COPY, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EMLINK,
	  .text = "Mailbox INBOX: link(/home/u/Maildir/cur/1714557600.M1P2."
		  "mx1:2,S, /home/u/Maildir/.Archive/tmp/1714557700.M3P4.mx1) "
		  "failed: Too many links",
	  .code = "STORAGE_TEMP", TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_UNAVAILABLE,
	  .text = "Failed to determine capabilities for mailbox.",
	  .code = "STORAGE_UNAVAILABLE",
	  TRANSIENT(PROFILE, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_NOTPOSSIBLE,
	  .text = "mdbox_deleted doesn't support saving mails",
	  .code = "STORAGE_NOTPOSSIBLE", PERMANENT(EMAIL, WARNING) },
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_PARAMS,
	  .text = "Control characters not allowed in new mailbox names",
	  .code = "STORAGE_PARAMS", PERMANENT(EMAIL, INFO) },
	/* an ACL denial: MAIL_ERRSTR_NO_PERMISSION without syscall detail */
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_PERM,
	  .text = "Permission denied",
	  .code = "STORAGE_PERM", PERMANENT(MAILBOX, ERROR) },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Your mailbox is full, please clean it up.",
	  .code = "STORAGE_NOQUOTA", TRANSIENT(MAILBOX, WARNING, 10, DAYS(1)) },
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_NOTFOUND,
	  .errno_value = ELOOP,
	  .text = "Directory structure is broken",
	  .code = "STORAGE_NOTFOUND", PERMANENT(EMAIL, INFO) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_EXISTS,
	  .text = "Mailbox already exists",
	  .code = "STORAGE_EXISTS", PERMANENT(EMAIL, INFO) },
	{ .source = ALERTWALL_SOURCE_COPY, .mail_error = MAIL_ERROR_EXPUNGED,
	  .text = "Message was expunged",
	  .code = "STORAGE_EXPUNGED", TRANSIENT(EMAIL, INFO, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_INUSE,
	  .text = "Finishing vsize calculation on background",
	  .code = "STORAGE_INUSE", TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	/* fts: not a lock text, so the mail_error decides */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_INUSE,
	  .text = "Timeout while waiting for indexing to finish",
	  .code = "STORAGE_INUSE", TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_CONVERSION,
	  .text = "Unknown Content-Transfer-Encoding.",
	  .code = "STORAGE_CONVERSION", PERMANENT(EMAIL, INFO) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_INVALIDDATA,
	  .text = "Invalid data in MIME part",
	  .code = "STORAGE_INVALIDDATA", PERMANENT(EMAIL, WARNING) },
	{ .source = ALERTWALL_SOURCE_COPY, .mail_error = MAIL_ERROR_LIMIT,
	  .text = "Message has been copied too many times (65535 + 1)",
	  .code = "STORAGE_LIMIT", PERMANENT(EMAIL, WARNING) },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_LOOKUP_ABORTED,
	  .text = "Mail field not cached",
	  .code = "STORAGE_LOOKUP_ABORTED", TRANSIENT(EMAIL, INFO, 10, MINUTES(50)) },

	/* 5. the catch-all: unknown texts, and MAIL_ERROR_NONE */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Proxying to <u@example.org> appears to be looping (TTL=0)",
	  .code = "UNCLASSIFIED_FAILURE",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_NONE,
	  .text = "Mailbox INBOX: sync failed without an error",
	  .code = "UNCLASSIFIED_FAILURE",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
	/* nothing known at all */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .code = "UNCLASSIFIED_FAILURE",
	  TRANSIENT(MAILBOX, WARNING, 10, MINUTES(50)) },
};

static struct alertwall_rules *shipped_rules;

static void shipped_rules_setup(void)
{
	const char *error = NULL;
	int ret;

	ret = alertwall_rules_load_file(test_srcdir_path(SHIPPED_RULES),
					&shipped_rules, &error);
	ck_assert_msg(ret == 0, "loading %s failed: %s", SHIPPED_RULES,
		      error == NULL ? "(no error)" : error);
	ck_assert_ptr_nonnull(shipped_rules);
}

static void shipped_rules_teardown(void)
{
	alertwall_rules_free(&shipped_rules);
	ck_assert_ptr_null(shipped_rules);
}

static void
shipped_case_failure(const struct shipped_case *c,
		     struct alertwall_failure *failure_r)
{
	alertwall_failure_init(failure_r, c->source);
	failure_r->mail_error = c->mail_error;
	failure_r->errno_value = c->errno_value;
	failure_r->text = c->text;
	failure_r->smtp_code = c->smtp_code;
	failure_r->smtp_status = c->smtp_status;
	failure_r->categories = c->categories;
	failure_r->event_name = c->event_name;
	failure_r->user = "u@example.org";
	failure_r->mailbox = "INBOX";
	failure_r->uid = 17;
	failure_r->message_id = "<20261126.4242@example.org>";
	failure_r->service = "lmtp";
}

START_TEST(test_shipped_rules_load)
{
	const struct alertwall_profile *profile;

	ck_assert_str_eq(alertwall_rules_get_source(shipped_rules),
			 test_srcdir_path(SHIPPED_RULES));
	ck_assert(alertwall_rules_level_enabled(shipped_rules,
						ALERTWALL_LEVEL_INFO));
	ck_assert(alertwall_rules_level_enabled(shipped_rules,
						ALERTWALL_LEVEL_WARNING));
	ck_assert(alertwall_rules_level_enabled(shipped_rules,
						ALERTWALL_LEVEL_ERROR));

	/* only the default profile is active; the second is an example */
	profile = alertwall_rules_get_profile(shipped_rules,
					      ALERTWALL_PROFILE_DEFAULT);
	ck_assert_ptr_nonnull(profile);
	ck_assert_str_eq(alertwall_profile_get_name(profile),
			 ALERTWALL_PROFILE_DEFAULT);
	ck_assert_str_eq(alertwall_profile_get_owner(profile), "postmaster");
	ck_assert(alertwall_profile_notify_mailbox_owners(profile));
	ck_assert_ptr_null(alertwall_rules_get_profile(shipped_rules, "nfs-a"));
}
END_TEST

START_TEST(test_shipped_rules_classify)
{
	struct alertwall_failure failure;
	struct alertwall_classification class;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(shipped_cases); i++) {
		const struct shipped_case *c = &shipped_cases[i];

		shipped_case_failure(c, &failure);
		alertwall_rules_classify(shipped_rules, &failure, &class);
		ck_assert_msg(strcmp(class.code, c->code) == 0,
			      "case %u: code %s, expected %s", i,
			      class.code, c->code);
		ck_assert_msg(class.nature == c->nature,
			      "case %u (%s): nature %s", i, c->code,
			      alertwall_nature_name(class.nature));
		ck_assert_msg(class.scope == c->scope,
			      "case %u (%s): scope %s", i, c->code,
			      alertwall_scope_name(class.scope));
		ck_assert_msg(class.level == c->level,
			      "case %u (%s): level %s", i, c->code,
			      alertwall_level_name(class.level));
		ck_assert_msg(class.retry_limit == c->retry_limit,
			      "case %u (%s): retry_limit %u", i, c->code,
			      class.retry_limit);
		ck_assert_msg(class.retry_window_secs == c->retry_window_secs,
			      "case %u (%s): retry_window %u", i, c->code,
			      class.retry_window_secs);
		ck_assert_msg(class.generate, "case %u (%s): not generated",
			      i, c->code);
		ck_assert_msg(class.action != NULL && class.action[0] != '\0',
			      "case %u (%s): no action", i, c->code);
	}
}
END_TEST

START_TEST(test_shipped_rules_every_rule_reached)
{
	struct alertwall_failure failure;
	struct alertwall_classification class;
	unsigned int i, count;
	bool *reached;

	count = alertwall_rules_count(shipped_rules);
	ck_assert_uint_gt(count, 0);
	reached = t_new(bool, count);
	for (i = 0; i < N_ELEMENTS(shipped_cases); i++) {
		shipped_case_failure(&shipped_cases[i], &failure);
		alertwall_rules_classify(shipped_rules, &failure, &class);
		ck_assert_msg(class.rule_index < count, "case %u: rule_index %u",
			      i, class.rule_index);
		reached[class.rule_index] = TRUE;
	}
	for (i = 0; i < count; i++)
		ck_assert_msg(reached[i], "rule %u has no test case", i);
	/* the catch-all is the last rule */
	shipped_case_failure(&shipped_cases[N_ELEMENTS(shipped_cases) - 1],
			     &failure);
	alertwall_rules_classify(shipped_rules, &failure, &class);
	ck_assert_str_eq(class.code, ALERTWALL_CODE_UNCLASSIFIED);
	ck_assert_uint_eq(class.rule_index, count - 1);
}
END_TEST

/* every enum mail_error value has its fallback, whatever the source */
START_TEST(test_shipped_rules_mail_error_fallbacks)
{
	static const enum alertwall_source sources[] = {
		ALERTWALL_SOURCE_SAVE, ALERTWALL_SOURCE_SYNC,
		ALERTWALL_SOURCE_OTHER,
	};
	struct alertwall_failure failure;
	struct alertwall_classification class;
	const char *expected;
	unsigned int i, j;

	for (i = 0; i < ALERTWALL_MAIL_ERROR_COUNT; i++) {
		expected = i == MAIL_ERROR_NONE ? ALERTWALL_CODE_UNCLASSIFIED :
			t_strconcat("STORAGE_", alertwall_mail_error_name(i),
				    NULL);
		for (j = 0; j < N_ELEMENTS(sources); j++) {
			alertwall_failure_init(&failure, sources[j]);
			failure.mail_error = i;
			failure.text = "a text no rule knows";
			alertwall_rules_classify(shipped_rules, &failure, &class);
			ck_assert_msg(strcmp(class.code, expected) == 0,
				      "mail_error %u source %u: %s, expected %s",
				      i, j, class.code, expected);
		}
	}
}
END_TEST

START_TEST(test_shipped_rules_internal_codes)
{
	const struct alertwall_rule *rule;
	struct alertwall_classification class;

	rule = alertwall_rules_find_code(shipped_rules,
					 ALERTWALL_CODE_RULES_INVALID);
	ck_assert_ptr_nonnull(rule);
	alertwall_rule_get_classification(shipped_rules, rule, &class);
	ck_assert_str_eq(class.code, ALERTWALL_CODE_RULES_INVALID);
	ck_assert_int_eq(class.nature, ALERTWALL_NATURE_PERMANENT);
	ck_assert_int_eq(class.scope, ALERTWALL_SCOPE_PROFILE);
	ck_assert_int_eq(class.level, ALERTWALL_LEVEL_ERROR);

	rule = alertwall_rules_find_code(shipped_rules,
					 ALERTWALL_CODE_UNCLASSIFIED);
	ck_assert_ptr_nonnull(rule);
	alertwall_rule_get_classification(shipped_rules, rule, &class);
	ck_assert_uint_eq(class.rule_index,
			  alertwall_rules_count(shipped_rules) - 1);
}
END_TEST

START_TEST(test_shipped_rules_summaries)
{
	struct alertwall_failure failure;
	struct alertwall_classification class;
	string_t *summary = t_str_new(256);
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(shipped_cases); i++) {
		shipped_case_failure(&shipped_cases[i], &failure);
		alertwall_rules_classify(shipped_rules, &failure, &class);
		str_truncate(summary, 0);
		alertwall_classification_summary(&class, &failure,
						 ALERTWALL_PROFILE_DEFAULT,
						 summary);
		ck_assert_msg(str_len(summary) > 0, "case %u: empty summary", i);
		ck_assert_msg(strstr(str_c(summary), "%{") == NULL,
			      "case %u (%s): unexpanded summary: %s", i,
			      class.code, str_c(summary));
		ck_assert_msg(strchr(str_c(summary), '\n') == NULL,
			      "case %u (%s): summary is not one line", i,
			      class.code);
	}
}
END_TEST

static const char *read_whole_file(const char *path)
{
	string_t *str = t_str_new(32768);
	char buf[4096];
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "fopen(%s) failed: %m", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_data(str, buf, n);
	ck_assert_msg(ferror(f) == 0, "fread(%s) failed", path);
	fclose(f);
	return str_c(str);
}

/* the module's fallback must be this very file, and behave the same */
START_TEST(test_shipped_rules_builtin)
{
	struct alertwall_rules *builtin = alertwall_rules_get_builtin();
	struct alertwall_failure failure;
	struct alertwall_classification file_class, builtin_class;
	unsigned int i;

	ck_assert_ptr_nonnull(builtin);
	ck_assert_str_eq(alertwall_rules_get_source(builtin), "builtin");
	/* strcmp: a failure message holding both files is too long for check */
	ck_assert_msg(strcmp(alertwall_rules_builtin_text(),
			     read_whole_file(test_srcdir_path(SHIPPED_RULES))) == 0,
		      "the built-in rules are not %s: rebuild", SHIPPED_RULES);
	ck_assert_uint_eq(alertwall_rules_count(builtin),
			  alertwall_rules_count(shipped_rules));

	for (i = 0; i < N_ELEMENTS(shipped_cases); i++) {
		shipped_case_failure(&shipped_cases[i], &failure);
		alertwall_rules_classify(shipped_rules, &failure, &file_class);
		alertwall_rules_classify(builtin, &failure, &builtin_class);
		ck_assert_msg(strcmp(file_class.code, builtin_class.code) == 0 &&
			      file_class.rule_index == builtin_class.rule_index &&
			      file_class.nature == builtin_class.nature &&
			      file_class.scope == builtin_class.scope &&
			      file_class.level == builtin_class.level &&
			      file_class.retry_limit == builtin_class.retry_limit &&
			      file_class.retry_window_secs ==
			      builtin_class.retry_window_secs &&
			      strcmp(file_class.summary_template,
				     builtin_class.summary_template) == 0 &&
			      strcmp(file_class.action,
				     builtin_class.action) == 0,
			      "case %u: builtin gives %s, file gives %s", i,
			      builtin_class.code, file_class.code);
	}
	alertwall_rules_builtin_deinit();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shipped-rules");
	TCase *tc = tcase_create("shipped-rules");

	tcase_add_checked_fixture(tc, shipped_rules_setup,
				  shipped_rules_teardown);
	tcase_add_test(tc, test_shipped_rules_load);
	tcase_add_test(tc, test_shipped_rules_classify);
	tcase_add_test(tc, test_shipped_rules_every_rule_reached);
	tcase_add_test(tc, test_shipped_rules_mail_error_fallbacks);
	tcase_add_test(tc, test_shipped_rules_internal_codes);
	tcase_add_test(tc, test_shipped_rules_summaries);
	tcase_add_test(tc, test_shipped_rules_builtin);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
