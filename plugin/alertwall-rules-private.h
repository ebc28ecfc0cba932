#ifndef ALERTWALL_RULES_PRIVATE_H
#define ALERTWALL_RULES_PRIVATE_H

#include "alertwall-rules.h"

#include <regex.h>

/* alertwall-rules-private: the compiled rules as the loader
   (alertwall-rules.c) builds them and the matcher (alertwall-match.c) and
   profile mapping (alertwall-profile.c) read them. Everything lives in the
   rules pool except the compiled regexes, which alertwall_rules_free()
   releases with regfree(). */

/* an inclusive range of SMTP reply codes; "4xx" is 400..499 */
struct alertwall_smtp_code_range {
	unsigned int min, max;
};

/* Up to this many byte pairs of a text condition are checked against the
   failure text's pairs before its strstr() (alertwall-match.c). */
#define ALERTWALL_TEXT_SIG_PAIRS 4

/* the byte pairs of a text condition, as bit numbers of the failure
   text's pair set; count 0 (a one-byte text) always runs strstr() */
struct alertwall_text_sig {
	uint16_t bits[ALERTWALL_TEXT_SIG_PAIRS];
	unsigned int count;
};

/* A rule's conditions. A zero mask or count means "no condition on that
   field". They are ordered by cost: the matcher tests the integer ones
   first and the regex last. */
struct alertwall_rule_match {
	/* bit (1 << enum alertwall_source) */
	unsigned int source_mask;
	/* bit (1 << enum mail_error) */
	unsigned int mail_error_mask;

	const int *errnos;
	unsigned int errno_count;
	const struct alertwall_smtp_code_range *smtp_codes;
	unsigned int smtp_code_count;

	/* exact "5.2.2", or a prefix when it ends in '.' ("4.2.") */
	const char *const *smtp_statuses;
	unsigned int smtp_status_count;
	const char *const *events;
	unsigned int event_count;
	const char *const *categories;
	unsigned int category_count;
	/* case-sensitive substrings of the failure text, and their pairs */
	const char *const *texts;
	const struct alertwall_text_sig *text_sigs;
	unsigned int text_count;

	/* compiled REG_EXTENDED | REG_ICASE | REG_NOSUB, or NULL */
	regex_t *regex;
	const char *regex_text;
};

struct alertwall_rule {
	/* 0-based position in the file (the implicit catch-all comes last) */
	unsigned int index;
	const char *code;
	/* TRUE for a rule without match: it matches every failure */
	bool catch_all;
	/* TRUE for the catch-all appended when the file has none */
	bool implicit;
	struct alertwall_rule_match match;

	enum alertwall_nature nature;
	enum alertwall_scope scope;
	enum alertwall_level level;
	/* 0 for permanent rules */
	unsigned int retry_limit;
	unsigned int retry_window_secs;
	const char *summary;
	const char *action;

	/* 1-based position of the rule in the file, 0 when implicit */
	unsigned int line, column;
};

struct alertwall_profile {
	const char *name;
	/* "" when none */
	const char *owner;
	bool notify_mailbox_owners;
	/* FALSE for the default profile */
	bool has_match;
	/* the seed's profile alarm: how many mailboxes the profile serves
	   (0: not given) and the share of them that must fail with one
	   code within alertwall_correlate_window */
	unsigned int mailboxes;
	unsigned int alarm_percent;

	/* "FIELD=VALUE" as in the userdb fields */
	ARRAY_TYPE(const_string) userdb_fields;
	ARRAY_TYPE(const_string) domains;
	ARRAY_TYPE(const_string) path_prefixes;

	unsigned int line, column;
};

struct alertwall_rules {
	pool_t pool;
	/* the file path, or the name given to alertwall_rules_load_data() */
	const char *source;

	bool generate[ALERTWALL_LEVEL_COUNT];
	unsigned int default_retry_limit;
	unsigned int default_retry_window_secs;

	/* in file order; the last one is always a catch-all */
	ARRAY(struct alertwall_rule) rules;
	/* in file order, the default profile included */
	ARRAY(struct alertwall_profile *) profiles;
	const struct alertwall_profile *default_profile;
};

/* fill the byte pairs of a text condition */
void alertwall_text_sig_init(const char *text, struct alertwall_text_sig *sig_r);

/* Returns the index of the summary variable called name (len bytes, not
   NUL-terminated), or -1 if there is none. The loader rejects unknown
   variables with it; alertwall-match.c expands them. */
int alertwall_summary_var_lookup(const char *name, size_t len);
/* the variable names, "code, user, ...", for error messages */
const char *alertwall_summary_var_list(void);

/* the shipped rules file, embedded at build time (embed-rules.sh) */
extern const char alertwall_builtin_rules_text[];

/* Free the shared builtin rules, if they were loaded. Modules call this at
   deinit so that nothing is left for leak checkers; a later
   alertwall_rules_get_builtin() loads them again. */
void alertwall_rules_builtin_deinit(void);

#endif
