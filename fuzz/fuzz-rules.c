/* Copyright (c) 2026 alertwall authors */

/* fuzz-rules: libFuzzer harness for the rules loader. The input is a
   rules file (YAML) given to alertwall_rules_load_data(). A file that
   loads must classify every failure to a rule whose code finds it again
   (codes are unique), expand its summary to one line and map mailboxes
   to a named profile; a file that does not load must say why, every
   line of the error prefixed with the file's name. Everything is freed,
   so that LeakSanitizer sees any leak on either path. Built by fuzz/run. */

#include "lib.h"
#include "str.h"
#include "alertwall-rules.h"
#include "fuzz-common.h"

#include <errno.h>
#include <mail-error.h>

#define FUZZ_RULES_NAME "fuzz.yaml"

struct fixed_failure {
	enum alertwall_source source;
	int mail_error;
	int errno_value;
	unsigned int smtp_code;
	const char *smtp_status;
	const char *text;
	const char *event_name;
	const char *const *categories;
	const char *user;
	const char *mailbox;
};

static const char *const index_categories[] = { "mail-index", "storage", NULL };
static const char *const cache_categories[] = { "mail-cache", NULL };

/* real failures of each kind, and one that knows nothing */
static const struct fixed_failure fixed_failures[] = {
	{ ALERTWALL_SOURCE_DELIVERY, MAIL_ERROR_NOQUOTA, EDQUOT, 552, "5.2.2",
	  "Quota exceeded (mailbox for user is full)", NULL, NULL,
	  "jane@example.org", "INBOX" },
	{ ALERTWALL_SOURCE_DELIVERY, MAIL_ERROR_TEMP, 0, 451, "4.2.0",
	  "Internal error occurred. Refer to server log for more information.",
	  NULL, NULL, "bob", NULL },
	{ ALERTWALL_SOURCE_SYNC, MAIL_ERROR_TEMP, ENOSPC, 0, NULL,
	  "write(/var/mail/bob/dovecot.index.log) failed: "
	  "No space left on device", NULL, NULL, "bob", "Archive/2025" },
	{ ALERTWALL_SOURCE_INDEX, -1, 0, 0, NULL,
	  "Corrupted index file /var/mail/bob/dovecot.index: "
	  "Header size mismatch", "mail_index_corrupted", index_categories,
	  "bob", "INBOX" },
	{ ALERTWALL_SOURCE_CACHE, MAIL_ERROR_NONE, 0, 0, NULL,
	  "Deleting corrupted cache: invalid record size",
	  NULL, cache_categories, "bob", "Sent" },
	{ ALERTWALL_SOURCE_AUTH, -1, 0, 0, NULL,
	  "userdb lookup failed: Dict server timeout after 30 secs",
	  NULL, NULL, "carol@example.net", NULL },
	{ ALERTWALL_SOURCE_OTHER, -1, 0, 0, NULL, NULL, NULL, NULL,
	  NULL, NULL },
};

static const char *const subject_fields[] = {
	"alertwall_profile=nfs-a", "home=/srv/nfs-a/jane", NULL
};
static const struct alertwall_profile_subject subjects[] = {
	{ "jane@example.org", "/srv/nfs-a/jane", subject_fields },
	{ "bob", NULL, NULL },
	{ NULL, NULL, NULL },
};

static void fuzz_check_one_line(const char *what, const char *str)
{
	const unsigned char *p;

	for (p = (const unsigned char *)str; *p != '\0'; p++) {
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "%s has control byte "
			   "0x%02x: '%s'", what, *p, str);
	}
}

static void fuzz_classify(const struct alertwall_rules *rules,
			  const struct fixed_failure *fixed)
{
	struct alertwall_failure failure;
	struct alertwall_classification class;
	const struct alertwall_profile *profile;
	string_t *summary;

	alertwall_failure_init(&failure, fixed->source);
	failure.mail_error = fixed->mail_error;
	failure.errno_value = fixed->errno_value;
	failure.smtp_code = fixed->smtp_code;
	failure.smtp_status = fixed->smtp_status;
	failure.text = fixed->text;
	failure.event_name = fixed->event_name;
	failure.categories = fixed->categories;
	failure.user = fixed->user;
	failure.mailbox = fixed->mailbox;
	failure.uid = 42;
	failure.message_id = "<hostile\r\n\x85@example.org>";

	alertwall_rules_classify(rules, &failure, &class);
	FUZZ_CHECK(class.rule != NULL && class.code != NULL,
		   "classification without a rule");
	FUZZ_CHECK(class.rule_index < alertwall_rules_count(rules),
		   "rule index %u of %u", class.rule_index,
		   alertwall_rules_count(rules));
	FUZZ_CHECK(alertwall_rules_find_code(rules, class.code) == class.rule,
		   "code %s does not find its own rule", class.code);
	FUZZ_CHECK(class.generate ==
		   alertwall_rules_level_enabled(rules, class.level),
		   "generate differs from the level switch");
	FUZZ_CHECK(class.nature == ALERTWALL_NATURE_TRANSIENT ||
		   (class.retry_limit == 0 && class.retry_window_secs == 0),
		   "permanent rule %s has retry settings", class.code);
	FUZZ_CHECK(class.nature != ALERTWALL_NATURE_TRANSIENT ||
		   class.retry_limit > 0, "transient rule %s without a "
		   "retry limit", class.code);
	FUZZ_CHECK(class.summary_template != NULL && class.action != NULL,
		   "rule %s has no summary or action", class.code);

	profile = alertwall_rules_find_profile(rules, &subjects[0]);
	summary = t_str_new(256);
	alertwall_classification_summary(&class, &failure,
					 alertwall_profile_get_name(profile),
					 summary);
	fuzz_check_one_line("summary", str_c(summary));
}

static void fuzz_rules(const struct alertwall_rules *rules)
{
	const struct alertwall_profile *profile;
	unsigned int i;

	FUZZ_CHECK(alertwall_rules_count(rules) > 0, "no rules at all");
	FUZZ_CHECK(strcmp(alertwall_rules_get_source(rules),
			  FUZZ_RULES_NAME) == 0, "source is not the name");
	for (i = 0; i < N_ELEMENTS(fixed_failures); i++)
		fuzz_classify(rules, &fixed_failures[i]);

	for (i = 0; i < N_ELEMENTS(subjects); i++) {
		profile = alertwall_rules_find_profile(rules, &subjects[i]);
		FUZZ_CHECK(profile != NULL, "no profile for subject %u", i);
		FUZZ_CHECK(alertwall_profile_get_name(profile) != NULL &&
			   alertwall_profile_get_owner(profile) != NULL,
			   "profile without name or owner");
		FUZZ_CHECK(alertwall_rules_get_profile(rules,
			alertwall_profile_get_name(profile)) == profile,
			"profile %s is not found by its name",
			alertwall_profile_get_name(profile));
	}
	FUZZ_CHECK(alertwall_rules_get_profile(rules,
		ALERTWALL_PROFILE_DEFAULT) != NULL, "no default profile");
}

/* every line "fuzz.yaml:LINE:COLUMN: message" or "fuzz.yaml: message" */
static void fuzz_check_error(const char *error)
{
	const char *const *lines;

	FUZZ_CHECK(error != NULL && *error != '\0', "failed without error");
	for (lines = t_strsplit(error, "\n"); *lines != NULL; lines++) {
		FUZZ_CHECK(str_begins(*lines, FUZZ_RULES_NAME":"),
			   "error line without the file name: '%s'", *lines);
		fuzz_check_one_line("error line", *lines);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	T_BEGIN {
		struct alertwall_rules *rules;
		const char *error = NULL;

		if (alertwall_rules_load_data(FUZZ_RULES_NAME, data, size,
					      &rules, &error) == 0) {
			FUZZ_CHECK(rules != NULL, "loaded without rules");
			fuzz_rules(rules);
			alertwall_rules_free(&rules);
			FUZZ_CHECK(rules == NULL, "free did not clear");
		} else {
			FUZZ_CHECK(rules == NULL, "failed with rules");
			fuzz_check_error(error);
		}
	} T_END;
	return 0;
}
