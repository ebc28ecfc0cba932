#ifndef ALERTWALL_RULES_H
#define ALERTWALL_RULES_H

#include "alertwall-failure.h"

/* alertwall-rules: the compiled rules file. A rules file (YAML, see
   doc/rules.md and conf.d/alertwall.yaml) holds the alert levels to
   generate, the profiles and an ordered list of rules. Loading compiles
   everything once (regexes included) so that classifying a failure does
   no allocation and no regex compile. */

struct alertwall_rules;
struct alertwall_rule;
struct alertwall_profile;

/* code raised when the configured rules file cannot be used */
#define ALERTWALL_CODE_RULES_INVALID "ALERTWALL_RULES_INVALID"
/* code of the implicit catch-all appended when a file has none */
#define ALERTWALL_CODE_UNCLASSIFIED "UNCLASSIFIED_FAILURE"
/* name of the profile every mailbox falls into when no other matches */
#define ALERTWALL_PROFILE_DEFAULT "default"

struct alertwall_classification {
	const struct alertwall_rule *rule;
	/* 0-based position of the rule in the file */
	unsigned int rule_index;
	const char *code;
	enum alertwall_nature nature;
	enum alertwall_scope scope;
	enum alertwall_level level;
	/* transient codes only; 0 for permanent ones */
	unsigned int retry_limit;
	unsigned int retry_window_secs;
	const char *summary_template;
	const char *action;
	/* FALSE when the rules file switched this level off */
	bool generate;
};

/* what the profile mapping looks at */
struct alertwall_profile_subject {
	const char *user;
	/* mail location root or home directory, NULL if unknown */
	const char *mail_path;
	/* userdb fields as "key=value", NULL-terminated, or NULL */
	const char *const *userdb_fields;
};

/* Load and compile a rules file. Returns 0 on success, -1 on failure with
   *error_r holding every problem found, one per line, each as
   "path:line:column: what is wrong and how to fix it". */
int alertwall_rules_load_file(const char *path,
			      struct alertwall_rules **rules_r,
			      const char **error_r);
/* Same for rules held in memory; name is used in error positions. */
int alertwall_rules_load_data(const char *name, const void *data,
			      size_t size, struct alertwall_rules **rules_r,
			      const char **error_r);
void alertwall_rules_free(struct alertwall_rules **_rules);

/* The default rules compiled into the module (conf.d/alertwall.yaml at
   build time). They always load: a failure is a programming error. The
   returned rules are shared and must not be freed. */
struct alertwall_rules *alertwall_rules_get_builtin(void);
/* the text the builtin rules were compiled from */
const char *alertwall_rules_builtin_text(void);

/* Where the rules came from ("builtin" for the compiled-in defaults). */
const char *alertwall_rules_get_source(const struct alertwall_rules *rules);
unsigned int alertwall_rules_count(const struct alertwall_rules *rules);
/* Returns TRUE if alerts of this level are to be generated. */
bool alertwall_rules_level_enabled(const struct alertwall_rules *rules,
				   enum alertwall_level level);

/* Classify a failure: the first matching rule wins. There is always a
   match because the last rule is a catch-all. */
void alertwall_rules_classify(const struct alertwall_rules *rules,
			      const struct alertwall_failure *failure,
			      struct alertwall_classification *class_r);
/* Look up a rule by code. Returns the first rule with that code, or NULL.
   Used to classify internal alerts such as ALERTWALL_RULES_INVALID. */
const struct alertwall_rule *
alertwall_rules_find_code(const struct alertwall_rules *rules,
			  const char *code);
void alertwall_rule_get_classification(const struct alertwall_rules *rules,
				       const struct alertwall_rule *rule,
				       struct alertwall_classification *class_r);

/* Expand the summary template of a classification for a failure into dest.
   Variables: %{code} %{user} %{mailbox} %{uid} %{guid} %{message_id}
   %{profile} %{service} %{source} %{mail_error} %{errno} %{smtp}
   %{text}. */
void alertwall_classification_summary(const struct alertwall_classification *class,
				      const struct alertwall_failure *failure,
				      const char *profile_name,
				      string_t *dest);

/* Map a mailbox to its profile: the first profile whose match applies, in
   file order, else the default profile. Never returns NULL. */
const struct alertwall_profile *
alertwall_rules_find_profile(const struct alertwall_rules *rules,
			     const struct alertwall_profile_subject *subject);
const struct alertwall_profile *
alertwall_rules_get_profile(const struct alertwall_rules *rules,
			    const char *name);
const char *alertwall_profile_get_name(const struct alertwall_profile *profile);
/* the owner user or address, "" when none is configured */
const char *alertwall_profile_get_owner(const struct alertwall_profile *profile);
/* TRUE when impacted mailbox owners are told of profile-level alerts */
bool alertwall_profile_notify_mailbox_owners(const struct alertwall_profile *profile);
/* How many distinct failing mailboxes raise the profile alarm: more than
   alarm_percent of the profile's mailboxes. 0 when the profile does not
   say how many mailboxes it serves. */
unsigned int
alertwall_profile_alarm_mailboxes(const struct alertwall_profile *profile);

#endif
