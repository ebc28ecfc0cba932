/* Copyright (c) 2026 alertwall authors */

/* fuzz-match: libFuzzer harness for the classifier. The input is one
   failure as an adapter would catch it, classified against the shipped
   rules (conf.d/alertwall.yaml, compiled in as the built-in rules and
   loaded once). The classification must name a rule that its code finds
   again, the summary must be one line, and the alert built from it must
   render as a valid sidecar record. Built by fuzz/run.

   Input layout: source (1 byte), mail_error (1), errno (2), SMTP code (2),
   uid (4), then NUL-separated strings: smtp_status, text, event name,
   categories (comma-separated), user, mailbox, message_id, guid,
   service. A string past the end of the input is unknown (NULL). */

#include "lib.h"
#include "str.h"
#include "alertwall-alert.h"
#include "alertwall-record.h"
#include "fuzz-common.h"

#define FUZZ_MAX_CATEGORIES 8

static struct alertwall_rules *shipped_rules;

static const char *const *fuzz_categories(const char *list)
{
	const char **categories;
	const char *const *parts;
	unsigned int i;

	if (list == NULL)
		return NULL;
	categories = t_new(const char *, FUZZ_MAX_CATEGORIES + 1);
	parts = t_strsplit(list, ",");
	for (i = 0; i < FUZZ_MAX_CATEGORIES && parts[i] != NULL; i++)
		categories[i] = parts[i];
	return categories;
}

static void fuzz_match(struct fuzz_input *input)
{
	struct alertwall_failure failure;
	struct alertwall_classification class;
	struct alertwall_profile_subject subject;
	const struct alertwall_profile *profile;
	struct alertwall_alert alert;
	const unsigned char *p;
	string_t *summary, *record;
	pool_t pool;

	/* the adapters only produce known sources; mail_error is -1
	   (unknown) .. one past the last enum mail_error value */
	alertwall_failure_init(&failure, (enum alertwall_source)
			       (fuzz_input_u8(input) % ALERTWALL_SOURCE_COUNT));
	failure.mail_error = (int)(fuzz_input_u8(input) %
				   (ALERTWALL_MAIL_ERROR_COUNT + 2)) - 1;
	failure.errno_value = (int)fuzz_input_u16(input);
	failure.smtp_code = fuzz_input_u16(input);
	failure.uid = fuzz_input_u32(input);
	failure.smtp_status = fuzz_input_string(input);
	failure.text = fuzz_input_string(input);
	failure.event_name = fuzz_input_string(input);
	failure.categories = fuzz_categories(fuzz_input_string(input));
	failure.user = fuzz_input_string(input);
	failure.mailbox = fuzz_input_string(input);
	failure.message_id = fuzz_input_string(input);
	failure.guid = fuzz_input_string(input);
	failure.service = fuzz_input_string(input);

	alertwall_rules_classify(shipped_rules, &failure, &class);
	FUZZ_CHECK(class.rule != NULL && class.code != NULL,
		   "classification without a rule");
	FUZZ_CHECK(alertwall_rules_find_code(shipped_rules, class.code) ==
		   class.rule, "code %s does not find its own rule",
		   class.code);
	FUZZ_CHECK(class.rule_index < alertwall_rules_count(shipped_rules),
		   "rule index %u out of range", class.rule_index);

	i_zero(&subject);
	subject.user = failure.user;
	subject.mail_path = failure.mailbox;
	profile = alertwall_rules_find_profile(shipped_rules, &subject);
	FUZZ_CHECK(profile != NULL, "no profile");

	summary = t_str_new(256);
	alertwall_classification_summary(&class, &failure,
					 alertwall_profile_get_name(profile),
					 summary);
	for (p = str_data(summary); p < str_data(summary) + str_len(summary);
	     p++) {
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "summary has control "
			   "byte 0x%02x", *p);
	}

	/* the alert the engine would raise, as the sidecar gets it */
	pool = pool_alloconly_create("fuzz alert", 1024);
	alertwall_alert_init(&alert, pool, &failure, &class, profile,
			     1795719845123456LL);
	record = t_str_new(1024);
	alertwall_record_render(&alert, record);
	fuzz_check_record_line(str_data(record), str_len(record));
	pool_unref(&pool);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	fuzz_init();
	shipped_rules = alertwall_rules_get_builtin();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size, fuzz_match);
	return 0;
}
