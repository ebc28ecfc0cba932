/* Copyright (c) 2026 alertwall authors */

/* alertwall-match: classifying a failure against the compiled rules and
   expanding a rule's summary. The plugin's failure catchers call
   alertwall_rules_classify() for every failure, so it is allocation free
   and tests the cheap integer conditions before strings and regexes.
   alertwall-alert.c calls alertwall_classification_summary(). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "alertwall-rules-private.h"

/* the longest part of a value put into a summary, in bytes */
#define SUMMARY_VALUE_MAX 200

enum summary_var {
	SUMMARY_VAR_CODE = 0,
	SUMMARY_VAR_USER,
	SUMMARY_VAR_MAILBOX,
	SUMMARY_VAR_UID,
	SUMMARY_VAR_GUID,
	SUMMARY_VAR_MESSAGE_ID,
	SUMMARY_VAR_PROFILE,
	SUMMARY_VAR_SERVICE,
	SUMMARY_VAR_SOURCE,
	SUMMARY_VAR_MAIL_ERROR,
	SUMMARY_VAR_ERRNO,
	SUMMARY_VAR_SMTP,
	SUMMARY_VAR_TEXT,

	SUMMARY_VAR_COUNT
};

static const char *const summary_var_names[SUMMARY_VAR_COUNT] = {
	[SUMMARY_VAR_CODE] = "code",
	[SUMMARY_VAR_USER] = "user",
	[SUMMARY_VAR_MAILBOX] = "mailbox",
	[SUMMARY_VAR_UID] = "uid",
	[SUMMARY_VAR_GUID] = "guid",
	[SUMMARY_VAR_MESSAGE_ID] = "message_id",
	[SUMMARY_VAR_PROFILE] = "profile",
	[SUMMARY_VAR_SERVICE] = "service",
	[SUMMARY_VAR_SOURCE] = "source",
	[SUMMARY_VAR_MAIL_ERROR] = "mail_error",
	[SUMMARY_VAR_ERRNO] = "errno",
	[SUMMARY_VAR_SMTP] = "smtp",
	[SUMMARY_VAR_TEXT] = "text",
};

/*
 * matching
 */

/* The text conditions are most of the classification's time: a failure
   meets about 20 rules before its own, each with strstr() over the whole
   text. So the failure text's adjacent byte pairs are hashed once into a
   bit set (when the first text condition is reached), and a condition
   whose pairs are not all in it cannot be a substring: its strstr() is
   skipped. A set bit may be a collision, so strstr() still decides. */
#define TEXT_PAIR_BITS 1024

struct match_context {
	const struct alertwall_failure *failure;
	bool pairs_done;
	uint64_t pairs[TEXT_PAIR_BITS / 64];
};

static inline unsigned int text_pair_bit(unsigned char a, unsigned char b)
{
	return (((unsigned int)a << 8 | b) * 2654435761U) >> 22;
}

void alertwall_text_sig_init(const char *text, struct alertwall_text_sig *sig_r)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text), pos, step;
	unsigned int i, bit;

	i_zero(sig_r);
	if (len < 2)
		return;
	/* pairs spread over the text: its first, its last and between */
	step = (len - 2) / (ALERTWALL_TEXT_SIG_PAIRS - 1);
	for (i = 0; i < ALERTWALL_TEXT_SIG_PAIRS; i++) {
		pos = i + 1 == ALERTWALL_TEXT_SIG_PAIRS ? len - 2 : i * step;
		bit = text_pair_bit(p[pos], p[pos + 1]);
		if (sig_r->count == 0 || sig_r->bits[sig_r->count - 1] != bit)
			sig_r->bits[sig_r->count++] = bit;
	}
}

static void match_text_pairs(struct match_context *ctx)
{
	const unsigned char *p = (const unsigned char *)ctx->failure->text;
	unsigned int bit;

	memset(ctx->pairs, 0, sizeof(ctx->pairs));
	for (; p[0] != '\0' && p[1] != '\0'; p++) {
		bit = text_pair_bit(p[0], p[1]);
		ctx->pairs[bit / 64] |= (uint64_t)1 << (bit % 64);
	}
	ctx->pairs_done = TRUE;
}

static bool
match_text(struct match_context *ctx, const char *text,
	   const struct alertwall_text_sig *sig)
{
	unsigned int i;

	if (sig->count > 0 && !ctx->pairs_done)
		match_text_pairs(ctx);
	for (i = 0; i < sig->count; i++) {
		if ((ctx->pairs[sig->bits[i] / 64] &
		     ((uint64_t)1 << (sig->bits[i] % 64))) == 0)
			return FALSE;
	}
	return strstr(ctx->failure->text, text) != NULL;
}

static bool
match_string_list(const char *const *list, unsigned int count,
		  const char *value)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (strcmp(list[i], value) == 0)
			return TRUE;
	}
	return FALSE;
}

static bool
match_smtp_status(const struct alertwall_rule_match *m, const char *status)
{
	const char *pattern;
	size_t len;
	unsigned int i;

	for (i = 0; i < m->smtp_status_count; i++) {
		pattern = m->smtp_statuses[i];
		len = strlen(pattern);
		/* validated non-empty; a trailing '.' makes it a prefix */
		if (pattern[len - 1] == '.' ?
		    strncmp(status, pattern, len) == 0 :
		    strcmp(status, pattern) == 0)
			return TRUE;
	}
	return FALSE;
}

static bool
match_categories(const struct alertwall_rule_match *m,
		 const char *const *categories)
{
	for (; *categories != NULL; categories++) {
		if (match_string_list(m->categories, m->category_count,
				      *categories))
			return TRUE;
	}
	return FALSE;
}

/* all given conditions must hold; an unknown failure field fails its
   condition */
static bool
rule_match(const struct alertwall_rule_match *m, struct match_context *ctx)
{
	const struct alertwall_failure *failure = ctx->failure;
	unsigned int i;

	if (m->source_mask != 0 &&
	    ((unsigned int)failure->source >= ALERTWALL_SOURCE_COUNT ||
	     (m->source_mask & (1U << failure->source)) == 0))
		return FALSE;
	if (m->mail_error_mask != 0 &&
	    (failure->mail_error < 0 ||
	     failure->mail_error >= ALERTWALL_MAIL_ERROR_COUNT ||
	     (m->mail_error_mask & (1U << failure->mail_error)) == 0))
		return FALSE;
	if (m->errno_count > 0) {
		if (failure->errno_value == 0)
			return FALSE;
		for (i = 0; i < m->errno_count; i++) {
			if (m->errnos[i] == failure->errno_value)
				break;
		}
		if (i == m->errno_count)
			return FALSE;
	}
	if (m->smtp_code_count > 0) {
		if (failure->smtp_code == 0)
			return FALSE;
		for (i = 0; i < m->smtp_code_count; i++) {
			if (failure->smtp_code >= m->smtp_codes[i].min &&
			    failure->smtp_code <= m->smtp_codes[i].max)
				break;
		}
		if (i == m->smtp_code_count)
			return FALSE;
	}
	if (m->smtp_status_count > 0 &&
	    (failure->smtp_status == NULL ||
	     !match_smtp_status(m, failure->smtp_status)))
		return FALSE;
	if (m->event_count > 0 &&
	    (failure->event_name == NULL ||
	     !match_string_list(m->events, m->event_count,
				failure->event_name)))
		return FALSE;
	if (m->category_count > 0 &&
	    (failure->categories == NULL ||
	     !match_categories(m, failure->categories)))
		return FALSE;

	if (m->text_count > 0) {
		if (failure->text == NULL)
			return FALSE;
		for (i = 0; i < m->text_count; i++) {
			if (match_text(ctx, m->texts[i], &m->text_sigs[i]))
				break;
		}
		if (i == m->text_count)
			return FALSE;
	}
	/* the only costly test, so the last */
	if (m->regex != NULL &&
	    (failure->text == NULL ||
	     regexec(m->regex, failure->text, 0, NULL, 0) != 0))
		return FALSE;
	return TRUE;
}

void alertwall_rules_classify(const struct alertwall_rules *rules,
			      const struct alertwall_failure *failure,
			      struct alertwall_classification *class_r)
{
	const struct alertwall_rule *rule;
	struct match_context ctx;
	unsigned int i, count;

	/* the pair set is cleared only when a text condition needs it */
	ctx.failure = failure;
	ctx.pairs_done = FALSE;
	rule = array_get(&rules->rules, &count);
	for (i = 0; i < count; i++) {
		if (rule[i].catch_all || rule_match(&rule[i].match, &ctx)) {
			alertwall_rule_get_classification(rules, &rule[i],
							  class_r);
			return;
		}
	}
	/* the loader guarantees a catch-all at the end */
	i_unreached();
}

const struct alertwall_rule *
alertwall_rules_find_code(const struct alertwall_rules *rules,
			  const char *code)
{
	const struct alertwall_rule *rule;

	array_foreach(&rules->rules, rule) {
		if (strcmp(rule->code, code) == 0)
			return rule;
	}
	return NULL;
}

void alertwall_rule_get_classification(const struct alertwall_rules *rules,
				       const struct alertwall_rule *rule,
				       struct alertwall_classification *class_r)
{
	i_zero(class_r);
	class_r->rule = rule;
	class_r->rule_index = rule->index;
	class_r->code = rule->code;
	class_r->nature = rule->nature;
	class_r->scope = rule->scope;
	class_r->level = rule->level;
	if (rule->nature == ALERTWALL_NATURE_TRANSIENT) {
		class_r->retry_limit = rule->retry_limit;
		class_r->retry_window_secs = rule->retry_window_secs;
	}
	class_r->summary_template = rule->summary;
	class_r->action = rule->action;
	class_r->generate = rules->generate[rule->level];
}

/*
 * summary
 */

int alertwall_summary_var_lookup(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < SUMMARY_VAR_COUNT; i++) {
		if (strncmp(summary_var_names[i], name, len) == 0 &&
		    summary_var_names[i][len] == '\0')
			return (int)i;
	}
	return -1;
}

const char *alertwall_summary_var_list(void)
{
	string_t *str = t_str_new(128);
	unsigned int i;

	for (i = 0; i < SUMMARY_VAR_COUNT; i++) {
		if (i > 0)
			str_append(str, ", ");
		str_append(str, summary_var_names[i]);
	}
	return str_c(str);
}

/* Returns the length of the line break or control character at p (C0,
   DEL, C1 and U+2028/U+2029), 0 if there is none. Only bytes before end
   are looked at. */
static size_t summary_control_len(const unsigned char *p,
				  const unsigned char *end)
{
	if (*p < 0x20 || *p == 0x7f)
		return 1;
	if (*p == 0xc2 && end - p >= 2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (*p == 0xe2 && end - p >= 3 && p[1] == 0x80 &&
	    (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	return 0;
}

/* Append an untrusted value: each run of control characters becomes one
   space so that the summary stays one line, and at most
   SUMMARY_VALUE_MAX bytes are kept, cut at a UTF-8 character boundary
   and marked with "...". An unknown or empty value is "-". */
static void summary_append_value(string_t *dest, const char *value)
{
	const unsigned char *p, *end;
	size_t len, ctrl_len;
	bool truncated = FALSE, last_ctrl = FALSE;

	if (value == NULL || *value == '\0') {
		str_append_c(dest, '-');
		return;
	}
	len = strnlen(value, SUMMARY_VALUE_MAX + 1);
	if (len > SUMMARY_VALUE_MAX) {
		len = SUMMARY_VALUE_MAX;
		/* don't leave half a character behind */
		while (len > 0 && ((unsigned char)value[len] & 0xc0) == 0x80)
			len--;
		truncated = TRUE;
	}
	p = (const unsigned char *)value;
	end = p + len;
	while (p < end) {
		ctrl_len = summary_control_len(p, end);
		if (ctrl_len == 0) {
			str_append_c(dest, *p);
			last_ctrl = FALSE;
			p++;
			continue;
		}
		if (!last_ctrl)
			str_append_c(dest, ' ');
		last_ctrl = TRUE;
		p += ctrl_len;
	}
	if (truncated)
		str_append(dest, "...");
}

static void
summary_append_var(string_t *dest, enum summary_var var,
		   const struct alertwall_classification *class,
		   const struct alertwall_failure *failure,
		   const char *profile_name)
{
	const char *name;

	switch (var) {
	case SUMMARY_VAR_CODE:
		summary_append_value(dest, class->code);
		break;
	case SUMMARY_VAR_USER:
		summary_append_value(dest, failure->user);
		break;
	case SUMMARY_VAR_MAILBOX:
		summary_append_value(dest, failure->mailbox);
		break;
	case SUMMARY_VAR_UID:
		if (failure->uid == 0)
			str_append_c(dest, '-');
		else
			str_printfa(dest, "%u", failure->uid);
		break;
	case SUMMARY_VAR_GUID:
		summary_append_value(dest, failure->guid);
		break;
	case SUMMARY_VAR_MESSAGE_ID:
		summary_append_value(dest, failure->message_id);
		break;
	case SUMMARY_VAR_PROFILE:
		summary_append_value(dest, profile_name);
		break;
	case SUMMARY_VAR_SERVICE:
		summary_append_value(dest, failure->service);
		break;
	case SUMMARY_VAR_SOURCE:
		summary_append_value(dest,
				     alertwall_source_name(failure->source));
		break;
	case SUMMARY_VAR_MAIL_ERROR:
		summary_append_value(dest,
			alertwall_mail_error_name(failure->mail_error));
		break;
	case SUMMARY_VAR_ERRNO:
		name = alertwall_errno_name(failure->errno_value);
		if (name != NULL)
			str_append(dest, name);
		else if (failure->errno_value != 0)
			str_printfa(dest, "%d", failure->errno_value);
		else
			str_append_c(dest, '-');
		break;
	case SUMMARY_VAR_SMTP:
		if (failure->smtp_code != 0) {
			str_printfa(dest, "%u", failure->smtp_code);
			if (failure->smtp_status != NULL &&
			    failure->smtp_status[0] != '\0') {
				str_append_c(dest, ' ');
				summary_append_value(dest,
						     failure->smtp_status);
			}
		} else {
			summary_append_value(dest, failure->smtp_status);
		}
		break;
	case SUMMARY_VAR_TEXT:
		summary_append_value(dest, failure->text);
		break;
	case SUMMARY_VAR_COUNT:
		i_unreached();
	}
}

void alertwall_classification_summary(const struct alertwall_classification *class,
				      const struct alertwall_failure *failure,
				      const char *profile_name,
				      string_t *dest)
{
	const char *p, *start, *end;
	int var;

	p = class->summary_template;
	while ((start = strstr(p, "%{")) != NULL) {
		str_append_data(dest, p, start - p);
		end = strchr(start + 2, '}');
		if (end == NULL) {
			/* the loader refuses this; keep the text as is */
			break;
		}
		var = alertwall_summary_var_lookup(start + 2,
						   end - (start + 2));
		if (var < 0) {
			str_append_data(dest, start, end + 1 - start);
		} else {
			summary_append_var(dest, (enum summary_var)var, class,
					   failure, profile_name);
		}
		p = end + 1;
	}
	if (start != NULL)
		p = start;
	str_append(dest, p);
}
