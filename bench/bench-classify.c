/* Copyright (c) 2026 alertwall authors */

/* bench-classify: how many failures per second alertwall_rules_classify()
   turns into alert codes on one core. "make bench" (bench/Makefile.am)
   builds and runs it; bench/run does the same from a fresh checkout.

   Two scenarios run over the same mix of failures as Dovecot 2.3.19.1
   and Pigeonhole 0.5.19 report them (the kinds test-shipped-rules.c
   checks): the shipped rules file, then a 1000-rule file made of filler
   rules that match none of the failures followed by the shipped rules,
   so that every failure walks past all the filler first. Each scenario
   runs several timed rounds after a warm-up and reports the median rate
   and the spread. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "mail-error.h"
#include "alertwall-rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BENCH_DEFAULT_RULES "conf.d/alertwall.yaml"
#define BENCH_DEFAULT_ROUNDS 7
#define BENCH_DEFAULT_ROUND_SECS 0.3
#define BENCH_MAX_ROUNDS 101
/* the whole file in the second scenario, shipped rules included */
#define BENCH_LARGE_RULE_COUNT 1000
/* issue 2: the shipped rules classify at least this many per second */
#define BENCH_TARGET_PER_SEC 1000000.0

#define NO_MAIL_ERROR (-1)

struct bench_sample {
	enum alertwall_source source;
	int mail_error;
	int errno_value;
	const char *text;
	unsigned int smtp_code;
	const char *smtp_status;
	const char *const *categories;
	const char *event_name;

	/* what the shipped rules make of it; checked before timing when
	   the shipped file is benchmarked */
	const char *code;
};

static const char *const cat_index[] = { "mail-index", NULL };
static const char *const cat_cache[] = { "mail-cache", "mail-index", NULL };
static const char *const cat_storage[] = { "mdbox", "storage", NULL };
static const char *const cat_auth[] = { "auth-client", NULL };
static const char *const cat_dict[] = { "dict", NULL };
static const char *const cat_lmtp[] = { "lmtp", NULL };

/* Realistic failures, from the first rule of the shipped file to the
   catch-all: section 2 texts, section 3 SMTP replies, section 4
   mail_error fallbacks and unknown texts for section 5. */
static const struct bench_sample bench_samples[] = {
	/* 1. alertwall itself */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "alertwall rules file /etc/dovecot/alertwall.yaml is invalid: "
		  "/etc/dovecot/alertwall.yaml:88:5: unknown key 'scpoe' in rule",
	  .code = "ALERTWALL_RULES_INVALID" },

	/* 2. known texts */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_LIMIT,
	  .text = "Mail size is larger than the maximum size allowed by "
		  "server configuration",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "MESSAGE_TOO_LARGE" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Quota exceeded (mailbox for user is full)",
	  .smtp_code = 552, .smtp_status = "5.2.2",
	  .code = "MAILBOX_QUOTA_EXCEEDED" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_NOQUOTA,
	  .errno_value = EDQUOT, .text = "Not enough disk quota",
	  .code = "MAILBOX_QUOTA_EXCEEDED" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Too many concurrent deliveries for user",
	  .smtp_code = 451, .smtp_status = "4.3.0",
	  .code = "DELIVERY_CONCURRENCY_LIMIT" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "User doesn't exist: old.account@example.com",
	  .smtp_code = 550, .smtp_status = "5.1.1",
	  .code = "USER_UNKNOWN" },
	{ .source = ALERTWALL_SOURCE_AUTH, .mail_error = NO_MAIL_ERROR,
	  .text = "Failed to lookup user anna@example.com: Internal error "
		  "occurred. Refer to server log for more information.",
	  .code = "USERDB_LOOKUP_FAILED" },
	{ .source = ALERTWALL_SOURCE_AUTH, .mail_error = NO_MAIL_ERROR,
	  .text = "Auth USER lookup failed", .categories = cat_auth,
	  .code = "USERDB_LOOKUP_FAILED" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = NO_MAIL_ERROR,
	  .text = "Failed to check if user is under quota: Failed to get "
		  "quota resource STORAGE_BYTES for INBOX: "
		  "dict_lookup(priv/quota/storage) failed: Dict server timeout: "
		  "No input for 30.000 secs - saving mail anyway",
	  .code = "QUOTA_BACKEND_FAILED" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Commit failed: Dict server timeout: No input for 30.000 "
		  "secs (1 commands pending, oldest sent 30.000 secs ago: C1, "
		  "29998 msecs in dict wait)",
	  .categories = cat_dict, .code = "DICT_BACKEND_UNAVAILABLE" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "dict_lookup(shared/last-login/anna@example.com) failed: "
		  "net_connect_unix(/run/dovecot/dict-async) failed: "
		  "Connection refused",
	  .categories = cat_dict, .code = "DICT_BACKEND_UNAVAILABLE" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Execution of Sieve filters was aborted due to temporary "
		  "failure",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "SIEVE_TEMPORARY_FAILURE" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Execution of script /home/anna/.dovecot.sieve failed, but "
		  "implicit keep was successful (user logfile "
		  "/home/anna/.dovecot.sieve.log may reveal additional details)",
	  .code = "SIEVE_SCRIPT_FAILED" },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Corrupted index file /srv/mail/anna/mdbox/mailboxes/INBOX/"
		  "dbox-Mails/dovecot.index: Header size mismatch",
	  .categories = cat_index, .code = "MAILBOX_INDEX_CORRUPTED" },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Corrupted transaction log file /srv/mail/anna/mdbox/"
		  "mailboxes/INBOX/dbox-Mails/dovecot.index.log seq 4: "
		  "log file shrank (1208 < 4096)",
	  .categories = cat_index, .code = "MAILBOX_TRANSACTION_LOG_CORRUPTED" },
	{ .source = ALERTWALL_SOURCE_CACHE, .mail_error = NO_MAIL_ERROR,
	  .text = "Deleting corrupted cache: invalid record size",
	  .categories = cat_cache, .event_name = "mail_cache_corrupted",
	  .code = "MAILBOX_CACHE_CORRUPTED" },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Mailbox INBOX: Broken file /home/anna/Maildir/"
		  "dovecot-uidlist line 3: Invalid data:",
	  .categories = cat_storage, .code = "MAILDIR_UIDLIST_CORRUPTED" },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "Timeout (180s) while waiting for lock for transaction log "
		  "file /home/anna/Maildir/dovecot.index.log (WRITE lock held "
		  "by pid 31337)",
	  .categories = cat_index, .code = "MAILBOX_LOCK_TIMEOUT" },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Timeout while waiting for lock",
	  .code = "MAILBOX_LOCK_TIMEOUT" },
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EACCES,
	  .text = "Mailbox Sent: opendir(/home/anna/Maildir/.Sent/cur) "
		  "failed: Permission denied (euid=1001(anna) egid=1001(anna) "
		  "missing +r perm: /home/anna/Maildir/.Sent/cur, dir owned "
		  "by 0:0 mode=0700)",
	  .code = "PERMISSION_DENIED" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EROFS,
	  .text = "Mailbox INBOX: open(/srv/mail/anna/Maildir/tmp/1764183146."
		  "M512P77.mx2) failed: Read-only file system",
	  .code = "FILESYSTEM_READ_ONLY" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = ENOSPC,
	  .text = "Mailbox INBOX: Saving mail: write(/srv/mail/anna/Maildir/"
		  "tmp/1764183146.M512P77.mx2) failed: No space left on device",
	  .code = "STORAGE_DISK_FULL" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Mailbox INBOX: write(/srv/mail/bob/mdbox/storage/.temp."
		  "mx2.77.d3c1e0f2a4b5c6d7) failed: No space left on device",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .code = "STORAGE_DISK_FULL" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EIO,
	  .text = "Mailbox Archive: UID=412: pread(/srv/mail/bob/mdbox/"
		  "storage/m.37) failed: Input/output error",
	  .code = "STORAGE_IO_ERROR" },
	{ .source = ALERTWALL_SOURCE_INDEX, .mail_error = NO_MAIL_ERROR,
	  .text = "fstat() failed with file /srv/mail/bob/mdbox/mailboxes/"
		  "INBOX/dbox-Mails/dovecot.index.log: Stale file handle",
	  .categories = cat_index, .code = "STORAGE_STALE_FILE_HANDLE" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "msgid=<CAF3x9q@mail.example.net>: failed to store into "
		  "mailbox 'Lists/dovecot': Mailbox doesn't exist: "
		  "Lists/dovecot",
	  .code = "MAILBOX_NOT_FOUND" },
	{ .source = ALERTWALL_SOURCE_OPEN, .mail_error = MAIL_ERROR_PARAMS,
	  .text = "Invalid mailbox name: Name is too long",
	  .code = "INVALID_MAILBOX_NAME" },

	/* 3. LMTP/LDA replies */
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Mailbox is over its limit, please delete some mail.",
	  .smtp_code = 552, .smtp_status = "5.2.2",
	  .categories = cat_lmtp, .code = "DELIVERY_MAILBOX_FULL" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = MAIL_ERROR_TEMP,
	  .text = "Internal error occurred. Refer to server log for more "
		  "information. [2026-11-26 19:40:02]",
	  .smtp_code = 451, .smtp_status = "4.2.0",
	  .categories = cat_lmtp, .code = "DELIVERY_INTERNAL_ERROR" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Temporary internal error",
	  .smtp_code = 451, .smtp_status = "4.3.0",
	  .categories = cat_lmtp, .code = "DELIVERY_DEFERRED" },
	{ .source = ALERTWALL_SOURCE_DELIVERY, .mail_error = NO_MAIL_ERROR,
	  .text = "Proxying loops to itself",
	  .smtp_code = 554, .smtp_status = "5.4.6",
	  .categories = cat_lmtp, .code = "DELIVERY_REJECTED" },

	/* 4. mail_error fallbacks: texts no rule knows */
	{ .source = ALERTWALL_SOURCE_COPY, .mail_error = MAIL_ERROR_TEMP,
	  .errno_value = EMLINK,
	  .text = "Mailbox INBOX: link(/home/anna/Maildir/cur/1764183146."
		  "M512P77.mx2:2,S, /home/anna/Maildir/.Archive/tmp/"
		  "1764183200.M9P78.mx2) failed: Too many links",
	  .code = "STORAGE_TEMP" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_UNAVAILABLE,
	  .text = "Failed to determine capabilities for mailbox.",
	  .code = "STORAGE_UNAVAILABLE" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_NOTPOSSIBLE,
	  .text = "Mailbox can't be created: Parent mailbox is not selectable",
	  .code = "STORAGE_NOTPOSSIBLE" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_PERM,
	  .text = "Permission denied",
	  .code = "STORAGE_PERM" },
	{ .source = ALERTWALL_SOURCE_SAVE, .mail_error = MAIL_ERROR_NOQUOTA,
	  .text = "Mailbox is over its limit, please delete some mail.",
	  .code = "STORAGE_NOQUOTA" },
	{ .source = ALERTWALL_SOURCE_COPY, .mail_error = MAIL_ERROR_EXPUNGED,
	  .text = "Message was expunged",
	  .code = "STORAGE_EXPUNGED" },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_INUSE,
	  .text = "Finishing vsize calculation on background",
	  .code = "STORAGE_INUSE" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = MAIL_ERROR_INVALIDDATA,
	  .text = "Invalid data in MIME part",
	  .code = "STORAGE_INVALIDDATA" },
	{ .source = ALERTWALL_SOURCE_COPY, .mail_error = MAIL_ERROR_LIMIT,
	  .text = "Message has been copied too many times (65535 + 1)",
	  .code = "STORAGE_LIMIT" },
	{ .source = ALERTWALL_SOURCE_OTHER,
	  .mail_error = MAIL_ERROR_LOOKUP_ABORTED,
	  .text = "Mail field not cached",
	  .code = "STORAGE_LOOKUP_ABORTED" },

	/* 5. the catch-all */
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .text = "Proxying to <anna@example.com> appears to be looping "
		  "(TTL=0)",
	  .code = "UNCLASSIFIED_FAILURE" },
	{ .source = ALERTWALL_SOURCE_SYNC, .mail_error = MAIL_ERROR_NONE,
	  .text = "Mailbox INBOX: sync failed without an error",
	  .code = "UNCLASSIFIED_FAILURE" },
	{ .source = ALERTWALL_SOURCE_OTHER, .mail_error = NO_MAIL_ERROR,
	  .code = "UNCLASSIFIED_FAILURE" },
};
#define BENCH_SAMPLE_COUNT N_ELEMENTS(bench_samples)

/* filler rule texts in the style of site-specific rules an admin adds,
   as the text before and after a number that keeps each one from
   matching any sample */
struct bench_filler {
	const char *prefix, *suffix;
};
static const struct bench_filler bench_filler_texts[] = {
	{ "Mailbox INBOX: replica ", " is behind" },
	{ "open(/srv/mail/shard-", ") failed" },
	{ "Failed to connect to archive node ", "" },
	{ "quota policy ", " refused the message" },
	{ "Execution of Sieve extprogram pipe-", " failed" },
	{ "Corrupted index file /srv/indexes/node-", "" },
	{ "dsync(mx", "): remote end disconnected" },
	{ "Timeout while waiting for replicator ", "" },
};
/* anchored and unanchored, as admins write them (YAML-escaped) */
static const struct bench_filler bench_filler_regexes[] = {
	{ "^backend-", ": (timeout|connection refused) after [0-9]+ ms" },
	{ "imapc\\\\(shard-", "[^)]*\\\\): (disconnected|login failed)" },
	{ "fts-", "[a-z]*: (index|lookup) (failed|timed out)" },
};

static volatile unsigned int bench_sink;

static double bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
bench_sample_failure(const struct bench_sample *sample,
		     struct alertwall_failure *failure_r)
{
	alertwall_failure_init(failure_r, sample->source);
	failure_r->mail_error = sample->mail_error;
	failure_r->errno_value = sample->errno_value;
	failure_r->text = sample->text;
	failure_r->smtp_code = sample->smtp_code;
	failure_r->smtp_status = sample->smtp_status;
	failure_r->categories = sample->categories;
	failure_r->event_name = sample->event_name;
	failure_r->user = "anna@example.com";
	failure_r->mailbox = "INBOX";
	failure_r->uid = 412;
	failure_r->message_id = "<CAF3x9q@mail.example.net>";
	failure_r->service = "lmtp";
}

/* Classify every failure for at least min_secs; returns the rate in
   classifications per second. */
static double
bench_round(const struct alertwall_rules *rules,
	    const struct alertwall_failure *failures, unsigned int count,
	    double min_secs)
{
	struct alertwall_classification class;
	unsigned long long done = 0;
	double start, elapsed;
	unsigned int i;

	start = bench_now();
	do {
		for (i = 0; i < count; i++) {
			alertwall_rules_classify(rules, &failures[i], &class);
			/* keep the result alive */
			bench_sink += class.rule_index;
		}
		done += count;
		elapsed = bench_now() - start;
	} while (elapsed < min_secs);
	return done / elapsed;
}

static int bench_cmp_double(const void *p1, const void *p2)
{
	const double *d1 = p1, *d2 = p2;

	return *d1 < *d2 ? -1 : (*d1 > *d2 ? 1 : 0);
}

static const char *bench_rate_str(double rate)
{
	if (rate >= 1e6)
		return t_strdup_printf("%.2fM", rate / 1e6);
	if (rate >= 1e3)
		return t_strdup_printf("%.1fk", rate / 1e3);
	return t_strdup_printf("%.0f", rate);
}

struct bench_result {
	double median, min, max;
};

/* a warm-up round, then the timed ones */
static void
bench_scenario(const char *name, const struct alertwall_rules *rules,
	       const struct alertwall_failure *failures, unsigned int count,
	       unsigned int rounds, double round_secs,
	       struct bench_result *result_r)
{
	double rates[BENCH_MAX_ROUNDS];
	unsigned int i;

	(void)bench_round(rules, failures, count, round_secs / 3);
	for (i = 0; i < rounds; i++)
		rates[i] = bench_round(rules, failures, count, round_secs);
	qsort(rates, rounds, sizeof(rates[0]), bench_cmp_double);
	result_r->min = rates[0];
	result_r->max = rates[rounds - 1];
	result_r->median = rounds % 2 == 1 ? rates[rounds / 2] :
		(rates[rounds / 2 - 1] + rates[rounds / 2]) / 2;

	printf("%-9s %4u rules: %s classifications/s, %.0f ns each "
	       "(median of %u rounds >= %.2f s; min %s, max %s)\n",
	       name, alertwall_rules_count(rules),
	       bench_rate_str(result_r->median), 1e9 / result_r->median,
	       rounds, round_secs, bench_rate_str(result_r->min),
	       bench_rate_str(result_r->max));
}

/* What a scenario's work is, independent of the machine: how far into
   the rules the failures go. */
static void
bench_describe(const char *name, const struct alertwall_rules *rules,
	       const struct alertwall_failure *failures, unsigned int count)
{
	struct alertwall_classification class;
	unsigned int i, rule_count, catch_all = 0;
	unsigned long long tried = 0;

	rule_count = alertwall_rules_count(rules);
	for (i = 0; i < count; i++) {
		alertwall_rules_classify(rules, &failures[i], &class);
		tried += class.rule_index + 1;
		if (class.rule_index == rule_count - 1)
			catch_all++;
	}
	printf("%-9s %4u rules: %u failures, %.1f rules tried per failure "
	       "on average, %u reach the catch-all\n", name, rule_count,
	       count, (double)tried / count, catch_all);
}

/* the shipped rules must classify each sample as expected, or the mix
   no longer covers what it claims to */
static int
bench_check_codes(const struct alertwall_rules *rules,
		  const struct alertwall_failure *failures)
{
	struct alertwall_classification class;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < BENCH_SAMPLE_COUNT; i++) {
		alertwall_rules_classify(rules, &failures[i], &class);
		if (strcmp(class.code, bench_samples[i].code) != 0) {
			i_error("sample %u: classified as %s, expected %s: "
				"update bench_samples[]", i, class.code,
				bench_samples[i].code);
			ret = -1;
		}
	}
	return ret;
}

/* the filler must not change any result: each failure still gets the
   code it gets from the rules behind the filler */
static int
bench_check_same(const struct alertwall_rules *small,
		 const struct alertwall_rules *large,
		 const struct alertwall_failure *failures, unsigned int count)
{
	struct alertwall_classification class1, class2;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < count; i++) {
		alertwall_rules_classify(small, &failures[i], &class1);
		alertwall_rules_classify(large, &failures[i], &class2);
		if (strcmp(class1.code, class2.code) != 0) {
			i_error("sample %u: the filler rule %s took it (%s "
				"without filler)", i, class2.code,
				class1.code);
			ret = -1;
		}
	}
	return ret;
}

static void
bench_append_filler(string_t *yaml, const struct bench_filler *filler,
		    unsigned int n)
{
	str_printfa(yaml, "\"%s%04u%s\"\n", filler->prefix, n,
		    filler->suffix);
}

/* Returns TRUE when the rule has a regex condition. */
static bool bench_append_filler_rule(string_t *yaml, unsigned int n)
{
	const unsigned int text_count = N_ELEMENTS(bench_filler_texts);
	const struct bench_filler *text = &bench_filler_texts[n % text_count];
	bool regex = FALSE;

	str_printfa(yaml, "  - code: SITE_RULE_%04u\n    match:\n", n);
	switch (n % 10) {
	case 0:
	case 1:
	case 2:
	case 3:
		/* text only: tested against every failure */
		str_append(yaml, "      text:\n        - ");
		bench_append_filler(yaml, text, n);
		str_append(yaml, "        - ");
		bench_append_filler(yaml,
			&bench_filler_texts[(n + 3) % text_count], n);
		break;
	case 4:
	case 5:
		str_append(yaml, "      source: [delivery, save, sync]\n"
			   "      text: ");
		bench_append_filler(yaml, text, n);
		break;
	case 6:
		str_append(yaml, "      mail_error: [TEMP, UNAVAILABLE]\n"
			   "      text: ");
		bench_append_filler(yaml, text, n);
		break;
	case 7:
		str_append(yaml, "      category: [mail-index, storage]\n"
			   "      text: ");
		bench_append_filler(yaml, text, n);
		break;
	case 8:
		str_append(yaml, "      smtp_code: 4xx\n"
			   "      smtp_status: \"4.7.\"\n");
		break;
	case 9:
		/* regex: the costly condition */
		str_append(yaml, "      regex: ");
		bench_append_filler(yaml, &bench_filler_regexes[(n / 10) %
				    N_ELEMENTS(bench_filler_regexes)], n);
		regex = TRUE;
		break;
	}
	if (n % 2 == 0) {
		str_append(yaml, "    nature: transient\n"
			   "    scope: mailbox\n");
	} else {
		str_append(yaml, "    nature: permanent\n"
			   "    scope: profile\n");
	}
	str_printfa(yaml, "    summary: \"Site rule %04u for %%{user}: "
		    "%%{text}\"\n"
		    "    action: \"Admin: see the site runbook, entry %04u.\"\n",
		    n, n);
	return regex;
}

/* The rules file with filler rules put before its own, so that the whole
   file has total rules; *regex_count_r is how many filler rules have a
   regex. Returns 0, or -1 when the file has no block "rules:" list to put
   them in. */
static int
bench_large_rules_text(const char *text, unsigned int own_count,
		       unsigned int total, string_t *yaml,
		       unsigned int *regex_count_r)
{
	const char *list;
	unsigned int n;

	list = strstr(text, "\nrules:\n");
	if (list == NULL || own_count >= total)
		return -1;
	list += strlen("\nrules:\n");
	str_append_data(yaml, text, list - text);
	*regex_count_r = 0;
	for (n = 0; n < total - own_count; n++) {
		if (bench_append_filler_rule(yaml, n))
			(*regex_count_r)++;
	}
	str_append(yaml, list);
	return 0;
}

static const char *bench_read_file(const char *path)
{
	string_t *str = t_str_new(65536);
	char buf[8192];
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL)
		i_fatal("fopen(%s) failed: %m", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_data(str, buf, n);
	if (ferror(f) != 0)
		i_fatal("fread(%s) failed", path);
	fclose(f);
	return str_c(str);
}

static void ATTR_NORETURN bench_usage(void)
{
	fprintf(stderr, "usage: bench-classify [-r rounds] [-t seconds] "
		"[rules.yaml]\n");
	exit(EXIT_FAILURE);
}

static int bench_main(int argc, char *argv[])
{
	struct alertwall_failure failures[BENCH_SAMPLE_COUNT];
	struct alertwall_rules *rules, *large_rules;
	struct bench_result shipped, large;
	const char *path, *text, *error;
	string_t *yaml;
	unsigned int i, regex_count, rounds = BENCH_DEFAULT_ROUNDS;
	double round_secs = BENCH_DEFAULT_ROUND_SECS;
	bool shipped_file;
	int c;

	while ((c = getopt(argc, argv, "r:t:")) != -1) {
		switch (c) {
		case 'r':
			if (str_to_uint(optarg, &rounds) < 0 || rounds == 0 ||
			    rounds > BENCH_MAX_ROUNDS)
				i_fatal("-r: give 1 to %u rounds",
					BENCH_MAX_ROUNDS);
			break;
		case 't':
			round_secs = strtod(optarg, NULL);
			if (!(round_secs > 0 && round_secs <= 60))
				i_fatal("-t: give a round length of up to "
					"60 seconds");
			break;
		default:
			bench_usage();
		}
	}
	if (argc - optind > 1)
		bench_usage();
	shipped_file = argc == optind;
	path = shipped_file ? TOP_SRCDIR"/"BENCH_DEFAULT_RULES : argv[optind];

	for (i = 0; i < BENCH_SAMPLE_COUNT; i++)
		bench_sample_failure(&bench_samples[i], &failures[i]);

	if (alertwall_rules_load_file(path, &rules, &error) < 0)
		i_fatal("%s", error);
	if (shipped_file && bench_check_codes(rules, failures) < 0)
		return EXIT_FAILURE;

	text = bench_read_file(path);
	yaml = t_str_new(512 * 1024);
	if (bench_large_rules_text(text, alertwall_rules_count(rules),
				   BENCH_LARGE_RULE_COUNT, yaml,
				   &regex_count) < 0) {
		i_fatal("%s: cannot make a %u-rule file from it (it needs "
			"a block list under \"rules:\" with fewer rules)",
			path, BENCH_LARGE_RULE_COUNT);
	}
	if (alertwall_rules_load_data("generated", str_data(yaml),
				      str_len(yaml), &large_rules,
				      &error) < 0)
		i_fatal("generated %u-rule file: %s", BENCH_LARGE_RULE_COUNT,
			error);
	if (bench_check_same(rules, large_rules, failures,
			     BENCH_SAMPLE_COUNT) < 0)
		return EXIT_FAILURE;

	/* one thread: the rates are those of one core */
	printf("bench-classify: rules from %s; one thread, %ld CPUs online\n",
	       path, sysconf(_SC_NPROCESSORS_ONLN));
	bench_describe("shipped", rules, failures, BENCH_SAMPLE_COUNT);
	printf("%-9s %4u rules: %u filler rules that match none of the "
	       "failures (%u of them regexes), then the %u of the file\n",
	       "generated", alertwall_rules_count(large_rules),
	       alertwall_rules_count(large_rules) - alertwall_rules_count(rules),
	       regex_count, alertwall_rules_count(rules));
	bench_describe("generated", large_rules, failures,
		       BENCH_SAMPLE_COUNT);
	bench_scenario("shipped", rules, failures, BENCH_SAMPLE_COUNT,
		       rounds, round_secs, &shipped);
	bench_scenario("generated", large_rules, failures,
		       BENCH_SAMPLE_COUNT, rounds, round_secs, &large);

	printf("bench-classify: shipped %s/s (median of %u, spread %s-%s), "
	       "%u rules %s/s; target >= %.0f/s with shipped rules: %s\n",
	       bench_rate_str(shipped.median), rounds,
	       bench_rate_str(shipped.min), bench_rate_str(shipped.max),
	       BENCH_LARGE_RULE_COUNT, bench_rate_str(large.median),
	       BENCH_TARGET_PER_SEC,
	       shipped.median >= BENCH_TARGET_PER_SEC ? "met" : "NOT met");

	alertwall_rules_free(&large_rules);
	alertwall_rules_free(&rules);
	return EXIT_SUCCESS;
}

int main(int argc, char *argv[])
{
	int ret;

	lib_init();
	T_BEGIN {
		ret = bench_main(argc, argv);
	} T_END;
	lib_deinit();
	return ret;
}
