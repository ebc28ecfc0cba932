/* Copyright (c) 2026 alertwall authors */

/* alertwall-rules: the rules file loader. It parses the YAML with libyaml's
   document API, checks it against the schema in doc/rules.md and compiles
   it into struct alertwall_rules (alertwall-rules-private.h). Every problem
   is collected, with its position, so that an admin fixes a file in one
   go. Called by the plugin at user creation, by doveadm's "rules check"
   and by the unit tests; alertwall-match.c and alertwall-profile.c read
   the result. */

#include "lib.h"
#include "array.h"
#include "buffer.h"
#include "hash.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "alertwall-rules-private.h"

#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>

/* limits that keep a hostile or broken file from eating the process */
#define RULES_MAX_FILE_SIZE (1024 * 1024)
#define RULES_MAX_RULES 10000
#define RULES_MAX_PROFILES 10000
/* list items and map entries visited; aliases can make a small file
   expand into a huge tree */
#define RULES_MAX_NODE_VISITS 1000000
/* errors kept for the report; the rest are only counted */
#define RULES_MAX_ERRORS 1000
/* glibc's regcomp() spells repetitions out (x+ becomes xx*, x{2,5} five
   x's), copies of copies when they nest or follow each other: a short
   "(a++++...)+" takes gigabytes. A regex whose repetitions would expand
   to more parts than this is refused before regcomp(). */
#define RULES_REGEX_MAX_PARTS 4096
#define RULES_REGEX_MAX_DEPTH 64
/* how much of a bad value is quoted back in an error */
#define RULES_ERROR_VALUE_MAX 80

#define RULES_VERSION 1
#define RULES_DEFAULT_RETRY_LIMIT 10
#define RULES_DEFAULT_RETRY_WINDOW_SECS (50 * 60)
#define RULES_MAX_RETRY_LIMIT 1000000
/* a profile's mailboxes, and the share of them whose failure is the
   profile alarm (the seed: more than 50% within one hour) */
#define RULES_MAX_PROFILE_MAILBOXES 100000000
#define RULES_DEFAULT_ALARM_PERCENT 50
#define RULES_MAX_DURATION_SECS (365 * 24 * 3600)

#define RULES_IMPLICIT_SUMMARY \
	"Unclassified %{source} failure for %{user}: %{text}"
#define RULES_IMPLICIT_ACTION \
	"Admin: read the error text and add a rule for it to the rules file."

struct rules_error {
	unsigned int line, column;
	/* order of detection, to keep the sort stable */
	unsigned int seq;
	const char *message;
};

struct rules_load_context {
	const char *name;
	struct alertwall_rules *rules;
	yaml_document_t *doc;

	pool_t error_pool;
	ARRAY(struct rules_error) errors;
	/* all errors found, including those not kept */
	unsigned int error_count;

	unsigned int node_visits;
	bool budget_exceeded;

	/* the first catch-all rule met, 0 when none yet */
	unsigned int catch_all_line;
	const char *catch_all_code;

	/* code -> rule index + 1 (the rules array moves as it grows) */
	HASH_TABLE(const char *, void *) codes;
	HASH_TABLE(const char *, struct alertwall_profile *) profile_names;
};

/* a scalar taken from a "value or list of values" node */
struct rules_value {
	yaml_node_t *node;
	const char *value;
};
ARRAY_DEFINE_TYPE(rules_value, struct rules_value);

enum top_key {
	TOP_KEY_VERSION = 0,
	TOP_KEY_GENERATE,
	TOP_KEY_DEFAULTS,
	TOP_KEY_PROFILES,
	TOP_KEY_RULES,

	TOP_KEY_COUNT
};
static const char *const top_keys[TOP_KEY_COUNT] = {
	"version", "generate", "defaults", "profiles", "rules",
};

enum defaults_key {
	DEFAULTS_KEY_RETRY_LIMIT = 0,
	DEFAULTS_KEY_RETRY_WINDOW,

	DEFAULTS_KEY_COUNT
};
static const char *const defaults_keys[DEFAULTS_KEY_COUNT] = {
	"retry_limit", "retry_window",
};

enum profile_key {
	PROFILE_KEY_NAME = 0,
	PROFILE_KEY_OWNER,
	PROFILE_KEY_NOTIFY_MAILBOX_OWNERS,
	PROFILE_KEY_MATCH,
	PROFILE_KEY_MAILBOXES,
	PROFILE_KEY_ALARM_PERCENT,

	PROFILE_KEY_COUNT
};
static const char *const profile_keys[PROFILE_KEY_COUNT] = {
	"name", "owner", "notify_mailbox_owners", "match", "mailboxes",
	"alarm_percent",
};

enum profile_match_key {
	PROFILE_MATCH_KEY_USERDB = 0,
	PROFILE_MATCH_KEY_DOMAIN,
	PROFILE_MATCH_KEY_PATH_PREFIX,

	PROFILE_MATCH_KEY_COUNT
};
static const char *const profile_match_keys[PROFILE_MATCH_KEY_COUNT] = {
	"userdb", "domain", "path_prefix",
};

enum rule_key {
	RULE_KEY_CODE = 0,
	RULE_KEY_MATCH,
	RULE_KEY_NATURE,
	RULE_KEY_SCOPE,
	RULE_KEY_LEVEL,
	RULE_KEY_RETRY_LIMIT,
	RULE_KEY_RETRY_WINDOW,
	RULE_KEY_SUMMARY,
	RULE_KEY_ACTION,

	RULE_KEY_COUNT
};
static const char *const rule_keys[RULE_KEY_COUNT] = {
	"code", "match", "nature", "scope", "level", "retry_limit",
	"retry_window", "summary", "action",
};

enum match_key {
	MATCH_KEY_SOURCE = 0,
	MATCH_KEY_MAIL_ERROR,
	MATCH_KEY_ERRNO,
	MATCH_KEY_TEXT,
	MATCH_KEY_REGEX,
	MATCH_KEY_SMTP_CODE,
	MATCH_KEY_SMTP_STATUS,
	MATCH_KEY_EVENT,
	MATCH_KEY_CATEGORY,

	MATCH_KEY_COUNT
};
static const char *const match_keys[MATCH_KEY_COUNT] = {
	"source", "mail_error", "errno", "text", "regex", "smtp_code",
	"smtp_status", "event", "category",
};

static struct alertwall_rules *builtin_rules = NULL;

/*
 * errors
 */

static void ATTR_FORMAT(4, 0)
rules_error_v(struct rules_load_context *ctx, unsigned int line,
	      unsigned int column, const char *fmt, va_list args)
{
	struct rules_error *error;

	ctx->error_count++;
	if (array_count(&ctx->errors) >= RULES_MAX_ERRORS)
		return;
	error = array_append_space(&ctx->errors);
	error->line = line;
	error->column = column;
	error->seq = array_count(&ctx->errors);
	error->message = p_strdup_vprintf(ctx->error_pool, fmt, args);
}

static void ATTR_FORMAT(4, 5)
rules_error_at(struct rules_load_context *ctx, unsigned int line,
	       unsigned int column, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	rules_error_v(ctx, line, column, fmt, args);
	va_end(args);
}

/* report a problem at a node's position (libyaml counts from 0) */
static void ATTR_FORMAT(3, 4)
rules_error(struct rules_load_context *ctx, const yaml_node_t *node,
	    const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	rules_error_v(ctx, node->start_mark.line + 1,
		      node->start_mark.column + 1, fmt, args);
	va_end(args);
}

static int rules_error_cmp(const struct rules_error *e1,
			   const struct rules_error *e2)
{
	if (e1->line != e2->line)
		return e1->line < e2->line ? -1 : 1;
	if (e1->column != e2->column)
		return e1->column < e2->column ? -1 : 1;
	if (e1->seq != e2->seq)
		return e1->seq < e2->seq ? -1 : 1;
	return 0;
}

/* all errors, sorted by position, one "name:line:column: msg" a line */
static const char *rules_errors_format(struct rules_load_context *ctx)
{
	const struct rules_error *error;
	string_t *str = t_str_new(256);

	array_sort(&ctx->errors, rules_error_cmp);
	array_foreach(&ctx->errors, error) {
		if (str_len(str) > 0)
			str_append_c(str, '\n');
		if (error->line == 0) {
			str_printfa(str, "%s: %s", ctx->name, error->message);
		} else {
			str_printfa(str, "%s:%u:%u: %s", ctx->name,
				    error->line, error->column,
				    error->message);
		}
	}
	if (ctx->error_count > array_count(&ctx->errors)) {
		str_printfa(str, "\n%s: %u more errors not shown", ctx->name,
			    ctx->error_count - array_count(&ctx->errors));
	}
	return str_c(str);
}

/* a user-written value, made safe to quote on one line */
static const char *rules_quote(const char *value)
{
	return str_sanitize(value, RULES_ERROR_VALUE_MAX);
}

/* "code, match, nature" */
static const char *
rules_key_list(const char *const *keys, unsigned int count)
{
	string_t *str = t_str_new(128);
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (i > 0)
			str_append(str, ", ");
		str_append(str, keys[i]);
	}
	return str_c(str);
}

/*
 * node access
 */

/* Count one list item or map entry against the visit budget. Returns
   FALSE (once reporting why) when the file expands too far. */
static bool rules_visit(struct rules_load_context *ctx, yaml_node_t *node)
{
	if (ctx->budget_exceeded)
		return FALSE;
	if (++ctx->node_visits <= RULES_MAX_NODE_VISITS)
		return TRUE;
	ctx->budget_exceeded = TRUE;
	rules_error(ctx, node, "the file expands to more than %u YAML nodes "
		    "(are aliases used to repeat large parts?)",
		    RULES_MAX_NODE_VISITS);
	return FALSE;
}

static const char *rules_node_type_name(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return "a string";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a map";
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

/* YAML 1.1's plain null: an empty value, "~" or "null" */
static bool rules_node_is_null(const yaml_node_t *node)
{
	const char *value;

	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return FALSE;
	value = (const char *)node->data.scalar.value;
	return node->data.scalar.length == 0 ||
		strcmp(value, "~") == 0 || strcmp(value, "null") == 0 ||
		strcmp(value, "Null") == 0 || strcmp(value, "NULL") == 0;
}

/* Returns the scalar's text (t_ allocated), or NULL after reporting
   why it is not usable as a string. */
static const char *
rules_node_string(struct rules_load_context *ctx, yaml_node_t *node,
		  const char *key, bool allow_empty)
{
	const char *value;
	size_t length;

	if (node->type != YAML_SCALAR_NODE) {
		rules_error(ctx, node, "'%s' must be a string, not %s",
			    key, rules_node_type_name(node));
		return NULL;
	}
	if (rules_node_is_null(node)) {
		if (allow_empty)
			return "";
		rules_error(ctx, node, "'%s' has no value", key);
		return NULL;
	}
	length = node->data.scalar.length;
	if (memchr(node->data.scalar.value, '\0', length) != NULL) {
		rules_error(ctx, node, "'%s' contains a NUL character", key);
		return NULL;
	}
	value = t_strndup(node->data.scalar.value, length);
	if (*value == '\0' && !allow_empty) {
		rules_error(ctx, node, "'%s' must not be empty", key);
		return NULL;
	}
	return value;
}

/* Look up the known keys of a map: keys_r[i] and values_r[i] are set for
   each key found and left NULL otherwise. Unknown and repeated keys are
   reported. Returns FALSE if node is not a map. */
static bool
rules_map_get(struct rules_load_context *ctx, yaml_node_t *node,
	      const char *what, const char *const *keys, unsigned int count,
	      yaml_node_t **keys_r, yaml_node_t **values_r)
{
	yaml_node_pair_t *pair;
	yaml_node_t *key, *value;
	const char *name;
	unsigned int i;

	for (i = 0; i < count; i++)
		keys_r[i] = values_r[i] = NULL;
	if (node->type != YAML_MAPPING_NODE) {
		rules_error(ctx, node, "%s must be a map, not %s",
			    what, rules_node_type_name(node));
		return FALSE;
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(ctx->doc, pair->key);
		value = yaml_document_get_node(ctx->doc, pair->value);
		i_assert(key != NULL && value != NULL);
		if (!rules_visit(ctx, key))
			break;
		if (key->type != YAML_SCALAR_NODE) {
			rules_error(ctx, key, "keys in %s must be strings, "
				    "not %s", what, rules_node_type_name(key));
			continue;
		}
		name = t_strndup(key->data.scalar.value,
				 key->data.scalar.length);
		for (i = 0; i < count; i++) {
			if (strcmp(keys[i], name) == 0)
				break;
		}
		if (i == count) {
			rules_error(ctx, key, "unknown key '%s' in %s "
				    "(expected one of: %s)", rules_quote(name),
				    what, rules_key_list(keys, count));
		} else if (keys_r[i] != NULL) {
			rules_error(ctx, key, "duplicate key '%s' in %s "
				    "(first given at line %u)", name, what,
				    (unsigned int)keys_r[i]->start_mark.line + 1);
		} else {
			keys_r[i] = key;
			values_r[i] = value;
		}
	}
	return TRUE;
}

/* Collect the scalars of a "value or list of values" node into values_r.
   Returns FALSE when none are usable (errors reported). */
static bool
rules_node_values(struct rules_load_context *ctx, yaml_node_t *node,
		  const char *key, ARRAY_TYPE(rules_value) *values_r)
{
	struct rules_value *value;
	yaml_node_item_t *item;
	yaml_node_t *child;
	const char *str;
	bool ok = TRUE;

	t_array_init(values_r, 4);
	switch (node->type) {
	case YAML_SCALAR_NODE:
		str = rules_node_string(ctx, node, key, FALSE);
		if (str == NULL)
			return FALSE;
		value = array_append_space(values_r);
		value->node = node;
		value->value = str;
		return TRUE;
	case YAML_SEQUENCE_NODE:
		break;
	case YAML_MAPPING_NODE:
	case YAML_NO_NODE:
		rules_error(ctx, node, "'%s' must be a string or a list of "
			    "strings, not %s", key, rules_node_type_name(node));
		return FALSE;
	}

	if (node->data.sequence.items.start == node->data.sequence.items.top) {
		rules_error(ctx, node, "'%s' is an empty list", key);
		return FALSE;
	}
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		child = yaml_document_get_node(ctx->doc, *item);
		i_assert(child != NULL);
		if (!rules_visit(ctx, child))
			return FALSE;
		if (child->type != YAML_SCALAR_NODE) {
			rules_error(ctx, child, "items of '%s' must be "
				    "strings, not %s", key,
				    rules_node_type_name(child));
			ok = FALSE;
			continue;
		}
		str = rules_node_string(ctx, child, key, FALSE);
		if (str == NULL) {
			ok = FALSE;
			continue;
		}
		value = array_append_space(values_r);
		value->node = child;
		value->value = str;
	}
	return ok;
}

/* the items of a list node, or FALSE after reporting it is not a list */
static bool
rules_node_list(struct rules_load_context *ctx, yaml_node_t *node,
		const char *key, unsigned int max_items,
		yaml_node_item_t **start_r, yaml_node_item_t **end_r)
{
	size_t count;

	if (node->type != YAML_SEQUENCE_NODE) {
		rules_error(ctx, node, "'%s' must be a list, not %s",
			    key, rules_node_type_name(node));
		return FALSE;
	}
	count = node->data.sequence.items.top -
		node->data.sequence.items.start;
	if (count > max_items) {
		rules_error(ctx, node, "too many items in '%s' (%zu, "
			    "the limit is %u)", key, count, max_items);
		return FALSE;
	}
	*start_r = node->data.sequence.items.start;
	*end_r = node->data.sequence.items.top;
	return TRUE;
}

/*
 * typed values
 */

static int
rules_parse_bool(struct rules_load_context *ctx, yaml_node_t *node,
		 const char *key, bool *value_r)
{
	const char *value;

	value = rules_node_string(ctx, node, key, FALSE);
	if (value == NULL)
		return -1;
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcasecmp(value, "on") == 0) {
		*value_r = TRUE;
		return 0;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
	    strcasecmp(value, "off") == 0) {
		*value_r = FALSE;
		return 0;
	}
	rules_error(ctx, node, "'%s' must be yes or no, not '%s'",
		    key, rules_quote(value));
	return -1;
}

/* an integer from min to max */
static int
rules_parse_uint_range(struct rules_load_context *ctx, yaml_node_t *node,
		       const char *key, unsigned int min, unsigned int max,
		       unsigned int *num_r)
{
	const char *value;
	unsigned int num;

	value = rules_node_string(ctx, node, key, FALSE);
	if (value == NULL)
		return -1;
	if (str_to_uint(value, &num) < 0 || num < min || num > max) {
		rules_error(ctx, node, "invalid %s '%s' (expected an integer "
			    "from %u to %u)", key, rules_quote(value), min, max);
		return -1;
	}
	*num_r = num;
	return 0;
}

static int
rules_parse_retry_limit(struct rules_load_context *ctx, yaml_node_t *node,
			unsigned int *limit_r)
{
	return rules_parse_uint_range(ctx, node, "retry_limit", 1,
				      RULES_MAX_RETRY_LIMIT, limit_r);
}

/* "90", "30s", "5m", "1h", "2d" */
static int rules_duration_parse(const char *value, unsigned int *secs_r)
{
	unsigned long long secs = 0;
	const char *p = value;
	unsigned int unit = 1;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		secs = secs * 10 + (unsigned int)(*p - '0');
		if (secs > RULES_MAX_DURATION_SECS)
			return -1;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		unit = 60;
		p++;
		break;
	case 'h':
		unit = 3600;
		p++;
		break;
	case 'd':
		unit = 24 * 3600;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0')
		return -1;
	secs *= unit;
	if (secs < 1 || secs > RULES_MAX_DURATION_SECS)
		return -1;
	*secs_r = (unsigned int)secs;
	return 0;
}

static int
rules_parse_duration(struct rules_load_context *ctx, yaml_node_t *node,
		     const char *key, unsigned int *secs_r)
{
	const char *value;

	value = rules_node_string(ctx, node, key, FALSE);
	if (value == NULL)
		return -1;
	if (rules_duration_parse(value, secs_r) < 0) {
		rules_error(ctx, node, "invalid %s '%s' (expected a duration "
			    "from 1 second to 365 days: seconds, or a number "
			    "followed by s, m, h or d, e.g. 5m)", key,
			    rules_quote(value));
		return -1;
	}
	return 0;
}

/* "552", "4xx", "5xx" */
static int rules_smtp_code_parse(const char *value,
				 struct alertwall_smtp_code_range *range_r)
{
	unsigned int code;

	if ((value[0] == '4' || value[0] == '5') &&
	    (value[1] == 'x' || value[1] == 'X') &&
	    (value[2] == 'x' || value[2] == 'X') && value[3] == '\0') {
		range_r->min = (unsigned int)(value[0] - '0') * 100;
		range_r->max = range_r->min + 99;
		return 0;
	}
	if (str_to_uint(value, &code) < 0 || code < 400 || code > 599)
		return -1;
	range_r->min = range_r->max = code;
	return 0;
}

/* "5.2.2" exactly, or the prefixes "5." and "5.2." */
static bool rules_smtp_status_is_valid(const char *value)
{
	unsigned int part, digits;
	const char *p = value;

	if (*p != '2' && *p != '4' && *p != '5')
		return FALSE;
	p++;
	for (part = 1; part < 3; part++) {
		if (*p != '.')
			return FALSE;
		p++;
		if (*p == '\0') {
			/* a prefix ending in '.' */
			return TRUE;
		}
		for (digits = 0; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 3)
				return FALSE;
		}
		if (digits == 0)
			return FALSE;
	}
	return *p == '\0';
}

static bool rules_code_is_valid(const char *code)
{
	const char *p;

	if (code[0] < 'A' || code[0] > 'Z')
		return FALSE;
	for (p = code + 1; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return FALSE;
	}
	return TRUE;
}

static bool rules_profile_name_is_valid(const char *name)
{
	const char *p;

	if (*name == '\0')
		return FALSE;
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return FALSE;
	}
	return TRUE;
}

static bool rules_has_control_chars(const char *value)
{
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return TRUE;
	}
	return FALSE;
}

static void
rules_check_summary(struct rules_load_context *ctx, yaml_node_t *node,
		    const char *summary)
{
	const char *p, *end;

	if (rules_has_control_chars(summary)) {
		rules_error(ctx, node, "summary must be one line without "
			    "control characters (use action for details)");
	}
	for (p = summary; (p = strstr(p, "%{")) != NULL; p = end + 1) {
		end = strchr(p + 2, '}');
		if (end == NULL) {
			rules_error(ctx, node, "unterminated '%%{' in summary "
				    "(write variables as %%{user})");
			return;
		}
		if (alertwall_summary_var_lookup(p + 2, end - (p + 2)) < 0) {
			rules_error(ctx, node, "unknown variable '%s' in "
				    "summary (known: %s)",
				    rules_quote(t_strdup_until(p, end + 1)),
				    alertwall_summary_var_list());
		}
	}
}

/*
 * top level
 */

static void
rules_parse_version(struct rules_load_context *ctx, yaml_node_t *root,
		    yaml_node_t *node)
{
	const char *value;
	unsigned int version;

	if (node == NULL) {
		rules_error(ctx, root, "missing required key 'version' "
			    "(add 'version: %u' at the top)", RULES_VERSION);
		return;
	}
	value = rules_node_string(ctx, node, "version", FALSE);
	if (value == NULL)
		return;
	if (str_to_uint(value, &version) < 0 || version != RULES_VERSION) {
		rules_error(ctx, node, "unsupported version '%s' "
			    "(this alertwall reads version %u)",
			    rules_quote(value), RULES_VERSION);
	}
}

static void
rules_parse_generate(struct rules_load_context *ctx, yaml_node_t *node)
{
	static const char *const level_keys[ALERTWALL_LEVEL_COUNT] = {
		[ALERTWALL_LEVEL_INFO] = "info",
		[ALERTWALL_LEVEL_WARNING] = "warning",
		[ALERTWALL_LEVEL_ERROR] = "error",
	};
	yaml_node_t *keys[ALERTWALL_LEVEL_COUNT];
	yaml_node_t *values[ALERTWALL_LEVEL_COUNT];
	unsigned int i;
	bool enabled;

	if (!rules_map_get(ctx, node, "generate", level_keys,
			   ALERTWALL_LEVEL_COUNT, keys, values))
		return;
	for (i = 0; i < ALERTWALL_LEVEL_COUNT; i++) {
		if (values[i] == NULL)
			continue;
		if (rules_parse_bool(ctx, values[i], level_keys[i],
				     &enabled) == 0)
			ctx->rules->generate[i] = enabled;
	}
}

static void
rules_parse_defaults(struct rules_load_context *ctx, yaml_node_t *node)
{
	yaml_node_t *keys[DEFAULTS_KEY_COUNT], *values[DEFAULTS_KEY_COUNT];
	struct alertwall_rules *rules = ctx->rules;

	if (!rules_map_get(ctx, node, "defaults", defaults_keys,
			   DEFAULTS_KEY_COUNT, keys, values))
		return;
	if (values[DEFAULTS_KEY_RETRY_LIMIT] != NULL) {
		(void)rules_parse_retry_limit(ctx,
			values[DEFAULTS_KEY_RETRY_LIMIT],
			&rules->default_retry_limit);
	}
	if (values[DEFAULTS_KEY_RETRY_WINDOW] != NULL) {
		(void)rules_parse_duration(ctx,
			values[DEFAULTS_KEY_RETRY_WINDOW], "retry_window",
			&rules->default_retry_window_secs);
	}
}

/*
 * profiles
 */

static void
rules_parse_profile_match(struct rules_load_context *ctx,
			  struct alertwall_profile *profile, yaml_node_t *node)
{
	yaml_node_t *keys[PROFILE_MATCH_KEY_COUNT];
	yaml_node_t *values[PROFILE_MATCH_KEY_COUNT];
	ARRAY_TYPE(rules_value) items;
	const struct rules_value *item;
	pool_t pool = ctx->rules->pool;
	const char *value, *p;

	if (!rules_map_get(ctx, node, "profile match", profile_match_keys,
			   PROFILE_MATCH_KEY_COUNT, keys, values))
		return;
	if (node->data.mapping.pairs.start == node->data.mapping.pairs.top) {
		rules_error(ctx, node, "profile '%s' has an empty match "
			    "(give userdb, domain or path_prefix)",
			    profile->name);
		return;
	}

	if (values[PROFILE_MATCH_KEY_USERDB] != NULL &&
	    rules_node_values(ctx, values[PROFILE_MATCH_KEY_USERDB],
			      "userdb", &items)) {
		array_foreach(&items, item) {
			p = strchr(item->value, '=');
			if (p == NULL || p == item->value) {
				rules_error(ctx, item->node, "invalid userdb "
					    "match '%s' (expected FIELD=VALUE)",
					    rules_quote(item->value));
				continue;
			}
			value = p_strdup(pool, item->value);
			array_push_back(&profile->userdb_fields, &value);
		}
	}
	if (values[PROFILE_MATCH_KEY_DOMAIN] != NULL &&
	    rules_node_values(ctx, values[PROFILE_MATCH_KEY_DOMAIN],
			      "domain", &items)) {
		array_foreach(&items, item) {
			if (strchr(item->value, '@') != NULL) {
				rules_error(ctx, item->node, "invalid domain "
					    "'%s' (give the part after '@')",
					    rules_quote(item->value));
				continue;
			}
			value = p_strdup(pool, item->value);
			array_push_back(&profile->domains, &value);
		}
	}
	if (values[PROFILE_MATCH_KEY_PATH_PREFIX] != NULL &&
	    rules_node_values(ctx, values[PROFILE_MATCH_KEY_PATH_PREFIX],
			      "path_prefix", &items)) {
		array_foreach(&items, item) {
			value = p_strdup(pool, item->value);
			array_push_back(&profile->path_prefixes, &value);
		}
	}
}

static struct alertwall_profile *
rules_profile_new(struct alertwall_rules *rules, const char *name)
{
	struct alertwall_profile *profile;

	profile = p_new(rules->pool, struct alertwall_profile, 1);
	profile->name = p_strdup(rules->pool, name);
	profile->owner = "";
	profile->notify_mailbox_owners = TRUE;
	profile->alarm_percent = RULES_DEFAULT_ALARM_PERCENT;
	p_array_init(&profile->userdb_fields, rules->pool, 1);
	p_array_init(&profile->domains, rules->pool, 1);
	p_array_init(&profile->path_prefixes, rules->pool, 1);
	return profile;
}

static void
rules_parse_profile(struct rules_load_context *ctx, yaml_node_t *node)
{
	yaml_node_t *keys[PROFILE_KEY_COUNT], *values[PROFILE_KEY_COUNT];
	struct alertwall_profile *profile, *old;
	const char *name = NULL, *owner;
	bool notify;

	if (!rules_map_get(ctx, node, "profile", profile_keys,
			   PROFILE_KEY_COUNT, keys, values))
		return;

	if (values[PROFILE_KEY_NAME] == NULL) {
		rules_error(ctx, node, "missing required key 'name' in profile");
	} else {
		name = rules_node_string(ctx, values[PROFILE_KEY_NAME],
					 "name", FALSE);
		if (name != NULL && !rules_profile_name_is_valid(name)) {
			rules_error(ctx, values[PROFILE_KEY_NAME],
				    "invalid profile name '%s' (use letters, "
				    "digits, '.', '_' and '-')",
				    rules_quote(name));
			name = NULL;
		}
	}
	/* keep checking the rest even without a usable name */
	profile = rules_profile_new(ctx->rules, name != NULL ? name : "");
	profile->line = node->start_mark.line + 1;
	profile->column = node->start_mark.column + 1;

	if (values[PROFILE_KEY_OWNER] != NULL) {
		owner = rules_node_string(ctx, values[PROFILE_KEY_OWNER],
					  "owner", TRUE);
		if (owner != NULL)
			profile->owner = p_strdup(ctx->rules->pool, owner);
	}
	if (values[PROFILE_KEY_NOTIFY_MAILBOX_OWNERS] != NULL &&
	    rules_parse_bool(ctx, values[PROFILE_KEY_NOTIFY_MAILBOX_OWNERS],
			     "notify_mailbox_owners", &notify) == 0)
		profile->notify_mailbox_owners = notify;
	if (values[PROFILE_KEY_MAILBOXES] != NULL) {
		(void)rules_parse_uint_range(ctx, values[PROFILE_KEY_MAILBOXES],
					     "mailboxes", 1,
					     RULES_MAX_PROFILE_MAILBOXES,
					     &profile->mailboxes);
	}
	if (values[PROFILE_KEY_ALARM_PERCENT] != NULL) {
		if (values[PROFILE_KEY_MAILBOXES] == NULL) {
			rules_error(ctx, keys[PROFILE_KEY_ALARM_PERCENT],
				    "'alarm_percent' needs 'mailboxes' (the "
				    "number it is a share of)");
		}
		(void)rules_parse_uint_range(ctx,
					     values[PROFILE_KEY_ALARM_PERCENT],
					     "alarm_percent", 1, 99,
					     &profile->alarm_percent);
	}

	if (name != NULL && strcmp(name, ALERTWALL_PROFILE_DEFAULT) == 0) {
		if (values[PROFILE_KEY_MATCH] != NULL) {
			rules_error(ctx, keys[PROFILE_KEY_MATCH],
				    "the '%s' profile must not have a match "
				    "(it holds every mailbox no other "
				    "profile matches)",
				    ALERTWALL_PROFILE_DEFAULT);
		}
	} else if (values[PROFILE_KEY_MATCH] == NULL) {
		if (name != NULL) {
			rules_error(ctx, node, "missing required key 'match' "
				    "in profile '%s' (only '%s' has none)",
				    name, ALERTWALL_PROFILE_DEFAULT);
		}
	} else {
		profile->has_match = TRUE;
		rules_parse_profile_match(ctx, profile,
					  values[PROFILE_KEY_MATCH]);
	}

	if (name == NULL)
		return;
	old = hash_table_lookup(ctx->profile_names, profile->name);
	if (old != NULL) {
		rules_error(ctx, values[PROFILE_KEY_NAME], "duplicate profile "
			    "name '%s' (first defined at line %u)",
			    name, old->line);
		return;
	}
	hash_table_insert(ctx->profile_names, profile->name, profile);
	array_push_back(&ctx->rules->profiles, &profile);
	if (strcmp(profile->name, ALERTWALL_PROFILE_DEFAULT) == 0)
		ctx->rules->default_profile = profile;
}

static void
rules_parse_profiles(struct rules_load_context *ctx, yaml_node_t *node)
{
	yaml_node_item_t *item, *end;
	yaml_node_t *child;

	if (!rules_node_list(ctx, node, "profiles", RULES_MAX_PROFILES,
			     &item, &end))
		return;
	for (; item < end; item++) {
		child = yaml_document_get_node(ctx->doc, *item);
		i_assert(child != NULL);
		if (!rules_visit(ctx, child))
			return;
		T_BEGIN {
			rules_parse_profile(ctx, child);
		} T_END;
	}
}

/*
 * rules
 */

static void
rules_parse_match_values(struct rules_load_context *ctx,
			 struct alertwall_rule_match *m,
			 enum match_key key, yaml_node_t *node)
{
	pool_t pool = ctx->rules->pool;
	ARRAY_TYPE(rules_value) items;
	const struct rules_value *item;
	ARRAY_TYPE(const_string) strings;
	ARRAY(int) errnos;
	ARRAY(struct alertwall_smtp_code_range) ranges;
	struct alertwall_smtp_code_range range;
	enum alertwall_source source;
	int mail_error, err;
	const char *value;

	if (!rules_node_values(ctx, node, match_keys[key], &items))
		return;

	switch (key) {
	case MATCH_KEY_SOURCE:
		array_foreach(&items, item) {
			if (alertwall_source_parse(item->value, &source) < 0) {
				rules_error(ctx, item->node, "unknown source "
					    "'%s' (expected delivery, sync, "
					    "open, save, copy, index, cache, "
					    "auth, userdb or other)",
					    rules_quote(item->value));
				continue;
			}
			m->source_mask |= 1U << source;
		}
		return;
	case MATCH_KEY_MAIL_ERROR:
		array_foreach(&items, item) {
			if (alertwall_mail_error_parse(item->value,
						       &mail_error) < 0) {
				rules_error(ctx, item->node, "unknown "
					    "mail_error name '%s' (expected "
					    "an enum mail_error name such as "
					    "TEMP, PERM, NOQUOTA, NOTFOUND)",
					    rules_quote(item->value));
				continue;
			}
			m->mail_error_mask |= 1U << mail_error;
		}
		return;
	case MATCH_KEY_ERRNO:
		p_array_init(&errnos, pool, array_count(&items));
		array_foreach(&items, item) {
			if (alertwall_errno_parse(item->value, &err) < 0) {
				rules_error(ctx, item->node, "unknown errno "
					    "name '%s' (expected a name such "
					    "as ENOSPC, EACCES, EDQUOT, EIO)",
					    rules_quote(item->value));
				continue;
			}
			array_push_back(&errnos, &err);
		}
		m->errnos = array_get(&errnos, &m->errno_count);
		return;
	case MATCH_KEY_SMTP_CODE:
		p_array_init(&ranges, pool, array_count(&items));
		array_foreach(&items, item) {
			if (rules_smtp_code_parse(item->value, &range) < 0) {
				rules_error(ctx, item->node, "invalid "
					    "smtp_code '%s' (expected a reply "
					    "code from 400 to 599, 4xx or 5xx)",
					    rules_quote(item->value));
				continue;
			}
			array_push_back(&ranges, &range);
		}
		m->smtp_codes = array_get(&ranges, &m->smtp_code_count);
		return;
	case MATCH_KEY_REGEX:
		/* handled by the caller: a single string */
		i_unreached();
	case MATCH_KEY_TEXT:
	case MATCH_KEY_SMTP_STATUS:
	case MATCH_KEY_EVENT:
	case MATCH_KEY_CATEGORY:
		break;
	case MATCH_KEY_COUNT:
		i_unreached();
	}

	p_array_init(&strings, pool, array_count(&items));
	array_foreach(&items, item) {
		if (key == MATCH_KEY_SMTP_STATUS &&
		    !rules_smtp_status_is_valid(item->value)) {
			rules_error(ctx, item->node, "invalid smtp_status "
				    "'%s' (expected an enhanced status code "
				    "such as 5.2.2, or a prefix ending in '.' "
				    "such as 4.2.)", rules_quote(item->value));
			continue;
		}
		value = p_strdup(pool, item->value);
		array_push_back(&strings, &value);
	}
	switch (key) {
	case MATCH_KEY_TEXT: {
		struct alertwall_text_sig *sigs;
		unsigned int i;

		m->texts = array_get(&strings, &m->text_count);
		sigs = p_new(pool, struct alertwall_text_sig,
			     I_MAX(m->text_count, 1));
		for (i = 0; i < m->text_count; i++)
			alertwall_text_sig_init(m->texts[i], &sigs[i]);
		m->text_sigs = sigs;
		break;
	}
	case MATCH_KEY_SMTP_STATUS:
		m->smtp_statuses = array_get(&strings, &m->smtp_status_count);
		break;
	case MATCH_KEY_EVENT:
		m->events = array_get(&strings, &m->event_count);
		break;
	case MATCH_KEY_CATEGORY:
		m->categories = array_get(&strings, &m->category_count);
		break;
	default:
		i_unreached();
	}
}

struct rules_regex_frame {
	/* parts of the finished pieces, and of the last piece, which a
	   following repetition multiplies */
	unsigned long long total, last;
};

/* saturating: only "more than the limit" matters */
static void rules_regex_multiply(unsigned long long *value,
				 unsigned long long factor)
{
	if (*value == 0 || factor == 0)
		return;
	if (factor > RULES_REGEX_MAX_PARTS ||
	    *value * factor > RULES_REGEX_MAX_PARTS)
		*value = RULES_REGEX_MAX_PARTS + 1;
	else
		*value *= factor;
}

static void rules_regex_add(unsigned long long *value, unsigned long long n)
{
	*value += n;
	if (*value > RULES_REGEX_MAX_PARTS)
		*value = RULES_REGEX_MAX_PARTS + 1;
}

/* the end of the bracket expression starting at p ('['), or of p */
static const char *rules_regex_bracket_end(const char *p)
{
	const char *q;
	char delim;

	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p != '\0' && *p != ']'; p++) {
		/* [:class:], [.coll.], [=equiv=] */
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			delim = p[1];
			for (q = p + 2; *q != '\0'; q++) {
				if (q[0] == delim && q[1] == ']')
					break;
			}
			if (*q != '\0')
				p = q + 1;
		}
	}
	return *p == '\0' ? p - 1 : p;
}

/* Returns TRUE if an extended regex would expand to more than
   RULES_REGEX_MAX_PARTS parts once its repetitions are spelled out, or
   nests deeper than RULES_REGEX_MAX_DEPTH. An invalid pattern may pass:
   regcomp() reports it. */
static bool rules_regex_too_complex(const char *pattern)
{
	struct rules_regex_frame stack[RULES_REGEX_MAX_DEPTH + 1], *top;
	unsigned long long min, max, group;
	unsigned int depth = 0;
	const char *p;
	char *end;

	i_zero(&stack[0]);
	top = &stack[0];
	for (p = pattern; *p != '\0'; p++) {
		switch (*p) {
		case '(':
			if (depth == RULES_REGEX_MAX_DEPTH)
				return TRUE;
			rules_regex_add(&top->total, top->last);
			top->last = 0;
			top = &stack[++depth];
			i_zero(top);
			continue;
		case ')':
			if (depth == 0)
				break;
			group = top->total + top->last + 1;
			top = &stack[--depth];
			rules_regex_add(&top->total, top->last);
			top->last = 0;
			rules_regex_add(&top->last, group);
			continue;
		case '|':
			rules_regex_add(&top->total, top->last);
			top->last = 0;
			continue;
		case '*':
		case '?':
			continue;
		case '+':
			rules_regex_multiply(&top->last, 2);
			continue;
		case '{':
			/* an interval {m}, {m,} or {m,n}; else a literal */
			if (!i_isdigit(p[1]))
				break;
			min = max = strtoull(p + 1, &end, 10);
			if (*end == ',' && i_isdigit(end[1]))
				max = strtoull(end + 1, &end, 10);
			else if (*end == ',') {
				max = min + 1;
				end++;
			}
			if (*end != '}')
				break;
			rules_regex_multiply(&top->last, max);
			p = end;
			continue;
		case '\\':
			if (p[1] != '\0')
				p++;
			break;
		case '[':
			p = rules_regex_bracket_end(p);
			break;
		default:
			break;
		}
		/* an atom */
		rules_regex_add(&top->total, top->last);
		top->last = 1;
	}
	/* unclosed groups (regcomp() refuses them) */
	for (; depth > 0; depth--) {
		rules_regex_add(&stack[depth - 1].total,
				stack[depth].total + stack[depth].last);
	}
	return stack[0].total + stack[0].last > RULES_REGEX_MAX_PARTS;
}

static void
rules_parse_regex(struct rules_load_context *ctx,
		  struct alertwall_rule_match *m, yaml_node_t *node)
{
	const char *pattern;
	char errbuf[256];
	regex_t *regex;
	int ret;

	pattern = rules_node_string(ctx, node, "regex", FALSE);
	if (pattern == NULL)
		return;
	if (rules_regex_too_complex(pattern)) {
		rules_error(ctx, node, "regex '%s' is too complex: spelled "
			    "out, its repetitions make more than %u parts",
			    rules_quote(pattern), RULES_REGEX_MAX_PARTS);
		return;
	}
	regex = p_new(ctx->rules->pool, regex_t, 1);
	ret = regcomp(regex, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (ret != 0) {
		regerror(ret, regex, errbuf, sizeof(errbuf));
		rules_error(ctx, node, "invalid regex '%s': %s",
			    rules_quote(pattern), errbuf);
		return;
	}
	m->regex = regex;
	m->regex_text = p_strdup(ctx->rules->pool, pattern);
}

static void
rules_parse_match(struct rules_load_context *ctx,
		  struct alertwall_rule_match *m, yaml_node_t *node)
{
	yaml_node_t *keys[MATCH_KEY_COUNT], *values[MATCH_KEY_COUNT];
	unsigned int i;

	if (!rules_map_get(ctx, node, "match", match_keys, MATCH_KEY_COUNT,
			   keys, values))
		return;
	if (node->data.mapping.pairs.start == node->data.mapping.pairs.top) {
		rules_error(ctx, node, "empty match (leave match out to "
			    "make a catch-all rule)");
		return;
	}
	for (i = 0; i < MATCH_KEY_COUNT; i++) {
		if (values[i] == NULL)
			continue;
		if (i == MATCH_KEY_REGEX)
			rules_parse_regex(ctx, m, values[i]);
		else
			rules_parse_match_values(ctx, m, i, values[i]);
	}
}

static struct alertwall_rule *
rules_append_rule(struct alertwall_rules *rules)
{
	struct alertwall_rule *rule;

	rule = array_append_space(&rules->rules);
	rule->index = array_count(&rules->rules) - 1;
	return rule;
}

static void
rules_parse_rule(struct rules_load_context *ctx, yaml_node_t *node)
{
	yaml_node_t *keys[RULE_KEY_COUNT], *values[RULE_KEY_COUNT];
	struct alertwall_rules *rules = ctx->rules;
	struct alertwall_rule *rule;
	const struct alertwall_rule *old;
	const char *value, *code = NULL, *what = "rule";
	bool nature_ok = FALSE;
	unsigned int i, old_idx;

	if (!rules_map_get(ctx, node, "rule", rule_keys, RULE_KEY_COUNT,
			   keys, values))
		return;

	/* appended even when broken so that its regex is freed with the
	   rules */
	rule = rules_append_rule(rules);
	rule->line = node->start_mark.line + 1;
	rule->column = node->start_mark.column + 1;
	rule->code = "";
	rule->summary = "";
	rule->action = "";

	if (values[RULE_KEY_CODE] == NULL) {
		rules_error(ctx, node, "missing required key 'code' in rule");
	} else {
		code = rules_node_string(ctx, values[RULE_KEY_CODE], "code",
					 FALSE);
		if (code != NULL && !rules_code_is_valid(code)) {
			rules_error(ctx, values[RULE_KEY_CODE], "invalid code "
				    "'%s' (use upper case letters, digits and "
				    "'_', starting with a letter)",
				    rules_quote(code));
			code = NULL;
		}
	}
	if (code != NULL) {
		rule->code = p_strdup(rules->pool, code);
		what = t_strdup_printf("rule %s", code);
		old_idx = POINTER_CAST_TO(hash_table_lookup(ctx->codes,
							    rule->code),
					  unsigned int);
		if (old_idx != 0) {
			old = array_idx(&rules->rules, old_idx - 1);
			rules_error(ctx, values[RULE_KEY_CODE], "duplicate "
				    "code '%s' (first used at line %u)",
				    code, old->line);
		} else {
			hash_table_insert(ctx->codes, rule->code,
					  POINTER_CAST(rule->index + 1));
		}
	}

	/* the required keys */
	for (i = 0; i < RULE_KEY_COUNT; i++) {
		if (values[i] != NULL || i == RULE_KEY_CODE)
			continue;
		if (i == RULE_KEY_NATURE || i == RULE_KEY_SCOPE ||
		    i == RULE_KEY_SUMMARY || i == RULE_KEY_ACTION) {
			rules_error(ctx, node, "missing required key '%s' "
				    "in %s", rule_keys[i], what);
		}
	}

	if (ctx->catch_all_line != 0) {
		rules_error(ctx, node, "%s can never match: it comes after "
			    "the catch-all rule %s at line %u (a rule without "
			    "match); move the catch-all to the end", what,
			    ctx->catch_all_code, ctx->catch_all_line);
	}
	if (values[RULE_KEY_MATCH] == NULL) {
		rule->catch_all = TRUE;
		if (ctx->catch_all_line == 0) {
			ctx->catch_all_line = rule->line;
			ctx->catch_all_code = code == NULL ? "" :
				p_strdup(ctx->error_pool, code);
		}
	} else {
		rules_parse_match(ctx, &rule->match, values[RULE_KEY_MATCH]);
	}

	if (values[RULE_KEY_NATURE] != NULL) {
		value = rules_node_string(ctx, values[RULE_KEY_NATURE],
					  "nature", FALSE);
		if (value != NULL &&
		    alertwall_nature_parse(value, &rule->nature) < 0) {
			rules_error(ctx, values[RULE_KEY_NATURE], "invalid "
				    "nature '%s' (expected transient or "
				    "permanent)", rules_quote(value));
		} else if (value != NULL) {
			nature_ok = TRUE;
		}
	}
	if (values[RULE_KEY_SCOPE] != NULL) {
		value = rules_node_string(ctx, values[RULE_KEY_SCOPE],
					  "scope", FALSE);
		if (value != NULL &&
		    alertwall_scope_parse(value, &rule->scope) < 0) {
			rules_error(ctx, values[RULE_KEY_SCOPE], "invalid "
				    "scope '%s' (expected email, mailbox or "
				    "profile)", rules_quote(value));
		}
	}
	rule->level = rule->nature == ALERTWALL_NATURE_PERMANENT ?
		ALERTWALL_LEVEL_ERROR : ALERTWALL_LEVEL_WARNING;
	if (values[RULE_KEY_LEVEL] != NULL) {
		value = rules_node_string(ctx, values[RULE_KEY_LEVEL],
					  "level", FALSE);
		if (value != NULL &&
		    alertwall_level_parse(value, &rule->level) < 0) {
			rules_error(ctx, values[RULE_KEY_LEVEL], "invalid "
				    "level '%s' (expected info, warning or "
				    "error)", rules_quote(value));
		}
	}

	if (nature_ok && rule->nature == ALERTWALL_NATURE_PERMANENT) {
		/* permanent failures are not retried: nothing to count */
		for (i = RULE_KEY_RETRY_LIMIT; i <= RULE_KEY_RETRY_WINDOW; i++) {
			if (keys[i] == NULL)
				continue;
			rules_error(ctx, keys[i], "%s is only allowed on "
				    "transient rules (%s is permanent)",
				    rule_keys[i], what);
		}
	} else {
		rule->retry_limit = rules->default_retry_limit;
		rule->retry_window_secs = rules->default_retry_window_secs;
		if (values[RULE_KEY_RETRY_LIMIT] != NULL) {
			(void)rules_parse_retry_limit(ctx,
				values[RULE_KEY_RETRY_LIMIT],
				&rule->retry_limit);
		}
		if (values[RULE_KEY_RETRY_WINDOW] != NULL) {
			(void)rules_parse_duration(ctx,
				values[RULE_KEY_RETRY_WINDOW], "retry_window",
				&rule->retry_window_secs);
		}
	}

	if (values[RULE_KEY_SUMMARY] != NULL) {
		value = rules_node_string(ctx, values[RULE_KEY_SUMMARY],
					  "summary", FALSE);
		if (value != NULL) {
			rules_check_summary(ctx, values[RULE_KEY_SUMMARY],
					    value);
			rule->summary = p_strdup(rules->pool, value);
		}
	}
	if (values[RULE_KEY_ACTION] != NULL) {
		value = rules_node_string(ctx, values[RULE_KEY_ACTION],
					  "action", FALSE);
		if (value != NULL)
			rule->action = p_strdup(rules->pool, value);
	}
}

static void
rules_parse_rules(struct rules_load_context *ctx, yaml_node_t *root,
		  yaml_node_t *node)
{
	yaml_node_item_t *item, *end;
	yaml_node_t *child;

	if (node == NULL) {
		rules_error(ctx, root, "missing required key 'rules' "
			    "(the list of rules)");
		return;
	}
	if (!rules_node_list(ctx, node, "rules", RULES_MAX_RULES, &item, &end))
		return;
	for (; item < end; item++) {
		child = yaml_document_get_node(ctx->doc, *item);
		i_assert(child != NULL);
		if (!rules_visit(ctx, child))
			return;
		T_BEGIN {
			rules_parse_rule(ctx, child);
		} T_END;
	}
}

/* the file has no catch-all: add one so that every failure classifies */
static void rules_add_implicit_catch_all(struct rules_load_context *ctx)
{
	struct alertwall_rules *rules = ctx->rules;
	struct alertwall_rule *rule;
	const struct alertwall_rule *old;
	const char *code = ALERTWALL_CODE_UNCLASSIFIED;
	unsigned int old_idx;

	old_idx = POINTER_CAST_TO(hash_table_lookup(ctx->codes, code),
				  unsigned int);
	if (old_idx != 0) {
		old = array_idx(&rules->rules, old_idx - 1);
		rules_error_at(ctx, old->line, old->column, "code %s is "
			       "reserved for the catch-all rule, which this "
			       "file does not have: give this rule another "
			       "code, or remove its match to make it the "
			       "catch-all", ALERTWALL_CODE_UNCLASSIFIED);
		return;
	}
	rule = rules_append_rule(rules);
	rule->code = ALERTWALL_CODE_UNCLASSIFIED;
	rule->catch_all = TRUE;
	rule->implicit = TRUE;
	rule->nature = ALERTWALL_NATURE_TRANSIENT;
	rule->scope = ALERTWALL_SCOPE_MAILBOX;
	rule->level = ALERTWALL_LEVEL_WARNING;
	rule->retry_limit = rules->default_retry_limit;
	rule->retry_window_secs = rules->default_retry_window_secs;
	rule->summary = RULES_IMPLICIT_SUMMARY;
	rule->action = RULES_IMPLICIT_ACTION;
}

static void
rules_parse_root(struct rules_load_context *ctx, yaml_node_t *root)
{
	yaml_node_t *keys[TOP_KEY_COUNT], *values[TOP_KEY_COUNT];
	struct alertwall_profile *profile;

	if (!rules_map_get(ctx, root, "the rules file", top_keys,
			   TOP_KEY_COUNT, keys, values))
		return;

	rules_parse_version(ctx, root, values[TOP_KEY_VERSION]);
	if (values[TOP_KEY_GENERATE] != NULL)
		rules_parse_generate(ctx, values[TOP_KEY_GENERATE]);
	/* before the rules: they take their retry defaults from here */
	if (values[TOP_KEY_DEFAULTS] != NULL)
		rules_parse_defaults(ctx, values[TOP_KEY_DEFAULTS]);
	if (values[TOP_KEY_PROFILES] != NULL)
		rules_parse_profiles(ctx, values[TOP_KEY_PROFILES]);
	if (ctx->rules->default_profile == NULL) {
		profile = rules_profile_new(ctx->rules,
					    ALERTWALL_PROFILE_DEFAULT);
		array_push_back(&ctx->rules->profiles, &profile);
		ctx->rules->default_profile = profile;
	}
	rules_parse_rules(ctx, root, values[TOP_KEY_RULES]);
	if (ctx->catch_all_line == 0)
		rules_add_implicit_catch_all(ctx);
}

/*
 * YAML
 */

static void
rules_yaml_error(struct rules_load_context *ctx, const yaml_parser_t *parser,
		 const unsigned char *data, size_t size)
{
	unsigned int line = 1, column = 1;
	const char *problem, *context = "";
	size_t i, offset;

	problem = parser->problem != NULL ? parser->problem : "unknown error";
	switch (parser->error) {
	case YAML_READER_ERROR:
		/* the reader only knows the byte offset */
		offset = I_MIN(parser->problem_offset, size);
		for (i = 0; i < offset; i++) {
			if (data[i] == '\n') {
				line++;
				column = 1;
			} else {
				column++;
			}
		}
		if (parser->problem_value != -1) {
			problem = t_strdup_printf("%s (byte 0x%02x)", problem,
						  parser->problem_value & 0xff);
		}
		break;
	case YAML_MEMORY_ERROR:
		problem = "out of memory";
		break;
	default:
		line = parser->problem_mark.line + 1;
		column = parser->problem_mark.column + 1;
		if (parser->context != NULL) {
			context = t_strdup_printf(" (%s at line %u, column %u)",
				parser->context,
				(unsigned int)parser->context_mark.line + 1,
				(unsigned int)parser->context_mark.column + 1);
		}
		break;
	}
	rules_error_at(ctx, line, column, "invalid YAML: %s%s",
		       problem, context);
}

static void
rules_load_yaml(struct rules_load_context *ctx, const unsigned char *data,
		size_t size)
{
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	yaml_node_t *root, *root2;

	if (yaml_parser_initialize(&parser) == 0)
		i_fatal_status(FATAL_OUTOFMEM, "yaml_parser_initialize() failed");
	yaml_parser_set_input_string(&parser, data, size);
	if (yaml_parser_load(&parser, &doc) == 0) {
		rules_yaml_error(ctx, &parser, data, size);
		yaml_parser_delete(&parser);
		return;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		rules_error_at(ctx, 1, 1, "the rules file is empty "
			       "(it needs at least 'version: %u' and 'rules')",
			       RULES_VERSION);
	} else {
		/* libyaml would silently ignore anything after a second
		   "---" */
		if (yaml_parser_load(&parser, &doc2) == 0)
			rules_yaml_error(ctx, &parser, data, size);
		else {
			root2 = yaml_document_get_root_node(&doc2);
			if (root2 != NULL) {
				rules_error(ctx, root2, "only one YAML "
					    "document is allowed");
			}
			yaml_document_delete(&doc2);
		}
		ctx->doc = &doc;
		rules_parse_root(ctx, root);
		ctx->doc = NULL;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

/*
 * public API
 */

static struct alertwall_rules *rules_new(const char *source)
{
	struct alertwall_rules *rules;
	pool_t pool;
	unsigned int i;

	pool = pool_alloconly_create(MEMPOOL_GROWING"alertwall rules", 16384);
	rules = p_new(pool, struct alertwall_rules, 1);
	rules->pool = pool;
	rules->source = p_strdup(pool, source);
	for (i = 0; i < ALERTWALL_LEVEL_COUNT; i++)
		rules->generate[i] = TRUE;
	rules->default_retry_limit = RULES_DEFAULT_RETRY_LIMIT;
	rules->default_retry_window_secs = RULES_DEFAULT_RETRY_WINDOW_SECS;
	p_array_init(&rules->rules, pool, 64);
	p_array_init(&rules->profiles, pool, 4);
	return rules;
}

int alertwall_rules_load_data(const char *name, const void *data,
			      size_t size, struct alertwall_rules **rules_r,
			      const char **error_r)
{
	struct rules_load_context ctx;
	int ret;

	*rules_r = NULL;
	i_zero(&ctx);
	ctx.name = name;
	ctx.error_pool = pool_alloconly_create("alertwall rules errors", 1024);
	i_array_init(&ctx.errors, 16);
	ctx.rules = rules_new(name);
	hash_table_create(&ctx.codes, default_pool, 0, str_hash, strcmp);
	hash_table_create(&ctx.profile_names, default_pool, 0,
			  str_hash, strcmp);

	if (size > RULES_MAX_FILE_SIZE) {
		rules_error_at(&ctx, 0, 0, "the rules file is too large "
			       "(%zu bytes, the limit is %u)",
			       size, RULES_MAX_FILE_SIZE);
	} else T_BEGIN {
		rules_load_yaml(&ctx, data, size);
	} T_END;

	hash_table_destroy(&ctx.codes);
	hash_table_destroy(&ctx.profile_names);
	if (ctx.error_count > 0) {
		*error_r = rules_errors_format(&ctx);
		alertwall_rules_free(&ctx.rules);
		ret = -1;
	} else {
		*rules_r = ctx.rules;
		ret = 0;
	}
	array_free(&ctx.errors);
	pool_unref(&ctx.error_pool);
	return ret;
}

int alertwall_rules_load_file(const char *path,
			      struct alertwall_rules **rules_r,
			      const char **error_r)
{
	buffer_t *buf;
	struct stat st;
	ssize_t ret;
	int fd, result;

	*rules_r = NULL;
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		*error_r = t_strdup_printf("%s: open() failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("%s: fstat() failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*error_r = t_strdup_printf("%s: is a directory, not a rules "
					   "file", path);
		i_close_fd(&fd);
		return -1;
	}
	if (st.st_size > RULES_MAX_FILE_SIZE) {
		*error_r = t_strdup_printf("%s: the rules file is too large "
					   "(%lld bytes, the limit is %u)",
					   path, (long long)st.st_size,
					   RULES_MAX_FILE_SIZE);
		i_close_fd(&fd);
		return -1;
	}

	/* read one byte past the limit: the file may grow after fstat() or
	   not be a regular file at all */
	buf = buffer_create_dynamic(default_pool, st.st_size + 1);
	for (;;) {
		void *dest = buffer_append_space_unsafe(buf, 8192);

		ret = read(fd, dest, 8192);
		if (ret < 0 && errno == EINTR)
			ret = 0;
		if (ret < 0) {
			*error_r = t_strdup_printf("%s: read() failed: %m",
						   path);
			buffer_free(&buf);
			i_close_fd(&fd);
			return -1;
		}
		buffer_set_used_size(buf, buf->used - 8192 + ret);
		if (ret == 0 || buf->used > RULES_MAX_FILE_SIZE)
			break;
	}
	i_close_fd(&fd);

	/* load_data() reports a file over the limit */
	result = alertwall_rules_load_data(path, buf->data, buf->used,
					   rules_r, error_r);
	buffer_free(&buf);
	return result;
}

void alertwall_rules_free(struct alertwall_rules **_rules)
{
	struct alertwall_rules *rules = *_rules;
	struct alertwall_rule *rule;

	if (rules == NULL)
		return;
	*_rules = NULL;

	array_foreach_modifiable(&rules->rules, rule) {
		if (rule->match.regex != NULL)
			regfree(rule->match.regex);
	}
	pool_unref(&rules->pool);
}

struct alertwall_rules *alertwall_rules_get_builtin(void)
{
	struct alertwall_rules *rules;
	const char *error;

	if (builtin_rules != NULL)
		return builtin_rules;
	if (alertwall_rules_load_data("builtin", alertwall_builtin_rules_text,
				      strlen(alertwall_builtin_rules_text),
				      &rules, &error) < 0) {
		/* the shipped file is checked by the unit tests */
		i_panic("alertwall: the builtin rules do not load: %s", error);
	}
	builtin_rules = rules;
	return builtin_rules;
}

void alertwall_rules_builtin_deinit(void)
{
	alertwall_rules_free(&builtin_rules);
}

const char *alertwall_rules_builtin_text(void)
{
	return alertwall_builtin_rules_text;
}

const char *alertwall_rules_get_source(const struct alertwall_rules *rules)
{
	return rules->source;
}

unsigned int alertwall_rules_count(const struct alertwall_rules *rules)
{
	return array_count(&rules->rules);
}

bool alertwall_rules_level_enabled(const struct alertwall_rules *rules,
				   enum alertwall_level level)
{
	i_assert(level < ALERTWALL_LEVEL_COUNT);
	return rules->generate[level];
}
