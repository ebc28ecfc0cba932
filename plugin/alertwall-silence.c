/* Copyright (c) 2026 alertwall authors */

/* alertwall-silence: the admin's silences, their stored form, matching
   and the engine's per-process cache. Written by "doveadm alertwall
   silence", read by the engine before it mails an alert. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "str-sanitize.h"
#include "alertwall-store.h"
#include "alertwall-silence.h"

#include <ctype.h>

static const char *const silence_kind_names[ALERTWALL_SILENCE_KIND_COUNT] = {
	"code", "user", "profile"
};

/* the engine's cache: the silences of the store it last asked about */
struct alertwall_silence_cache {
	struct alertwall_store *store;
	pool_t pool;
	ARRAY_TYPE(alertwall_silence) silences;
	time_t read_at;
	/* read_at is set: a failed read waits for the interval too */
	bool tried;
};

static struct alertwall_silence_cache silence_cache;

const char *alertwall_silence_kind_name(enum alertwall_silence_kind kind)
{
	i_assert(kind < ALERTWALL_SILENCE_KIND_COUNT);
	return silence_kind_names[kind];
}

static int silence_kind_parse(const char *name, size_t len,
			      enum alertwall_silence_kind *kind_r)
{
	unsigned int i;

	for (i = 0; i < ALERTWALL_SILENCE_KIND_COUNT; i++) {
		if (strlen(silence_kind_names[i]) == len &&
		    strncmp(silence_kind_names[i], name, len) == 0) {
			*kind_r = i;
			return 0;
		}
	}
	return -1;
}

static bool silence_code_is_valid(const char *code)
{
	const char *p;

	for (p = code; *p != '\0'; p++) {
		if (!i_isalnum(*p) && *p != '_')
			return FALSE;
	}
	return p != code;
}

int alertwall_silence_parse_selector(const char *arg,
				     enum alertwall_silence_kind *kind_r,
				     const char **match_r,
				     const char **error_r)
{
	const char *p = strchr(arg, '=');
	const char *match;

	if (p == NULL) {
		*kind_r = ALERTWALL_SILENCE_CODE;
		match = arg;
	} else if (silence_kind_parse(arg, p - arg, kind_r) < 0) {
		*error_r = t_strdup_printf("Unknown selector '%s' (CODE, "
			"code=CODE, user=USER or profile=PROFILE)",
			str_sanitize(t_strdup_until(arg, p), 40));
		return -1;
	} else {
		match = p + 1;
	}
	if (*match == '\0') {
		*error_r = "Empty selector (CODE, code=CODE, user=USER or "
			"profile=PROFILE)";
		return -1;
	}
	if (*kind_r == ALERTWALL_SILENCE_CODE && !silence_code_is_valid(match)) {
		*error_r = t_strdup_printf("Invalid alert code '%s': codes are "
			"letters, digits and '_'", str_sanitize(match, 80));
		return -1;
	}
	/* the stored form keeps one silence a line */
	for (p = match; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20) {
			*error_r = "The selector contains control characters";
			return -1;
		}
	}
	*match_r = match;
	return 0;
}

const char *alertwall_silence_selector(const struct alertwall_silence *silence)
{
	return t_strconcat(alertwall_silence_kind_name(silence->kind), "=",
			   silence->match, NULL);
}

static int silence_time_parse(const char *value, time_t *time_r)
{
	unsigned long long num;

	if (str_to_ullong(value, &num) < 0)
		return -1;
	*time_r = (time_t)num;
	return 0;
}

/* Parse one line. Returns 0, or -1 when it is damaged. */
static int silence_parse_line(const char *line, pool_t pool,
			      struct alertwall_silence *silence_r)
{
	const char *const *fields, *p, *key, *value;
	enum alertwall_silence_kind kind;
	bool have_kind = FALSE, have_expires = FALSE;

	i_zero(silence_r);
	silence_r->reason = "";
	for (fields = t_strsplit_tabescaped(line); *fields != NULL; fields++) {
		p = strchr(*fields, '=');
		if (p == NULL)
			continue;
		key = t_strdup_until(*fields, p);
		value = p + 1;
		if (strcmp(key, "id") == 0)
			silence_r->id = p_strdup(pool, value);
		else if (strcmp(key, "created") == 0) {
			if (silence_time_parse(value, &silence_r->created) < 0)
				return -1;
		} else if (strcmp(key, "expires") == 0) {
			if (silence_time_parse(value, &silence_r->expires) < 0)
				return -1;
			have_expires = TRUE;
		} else if (strcmp(key, "reason") == 0)
			silence_r->reason = p_strdup(pool, value);
		else if (silence_kind_parse(key, strlen(key), &kind) == 0 &&
			 *value != '\0') {
			silence_r->kind = kind;
			silence_r->match = p_strdup(pool, value);
			have_kind = TRUE;
		}
	}
	if (silence_r->id == NULL || *silence_r->id == '\0' || !have_kind ||
	    !have_expires)
		return -1;
	return 0;
}

void alertwall_silences_parse(const char *value, pool_t pool,
			      ARRAY_TYPE(alertwall_silence) *silences)
{
	const char *const *lines;
	struct alertwall_silence silence;

	if (value == NULL)
		return;
	for (lines = t_strsplit(value, "\n"); *lines != NULL; lines++) {
		if (**lines == '\0')
			continue;
		if (silence_parse_line(*lines, pool, &silence) == 0)
			array_push_back(silences, &silence);
	}
}

static void silence_append_field(string_t *dest, const char *key,
				 const char *value)
{
	if (str_len(dest) > 0 && str_data(dest)[str_len(dest) - 1] != '\n')
		str_append_c(dest, '\t');
	str_append(dest, key);
	str_append_c(dest, '=');
	str_append_tabescaped(dest, value);
}

void alertwall_silences_serialize(const ARRAY_TYPE(alertwall_silence) *silences,
				  time_t now, string_t *dest)
{
	const struct alertwall_silence *silence;

	array_foreach(silences, silence) {
		if (silence->expires <= now)
			continue;
		silence_append_field(dest, "id", silence->id);
		silence_append_field(dest,
			alertwall_silence_kind_name(silence->kind),
			silence->match);
		silence_append_field(dest, "created",
				     dec2str(silence->created));
		silence_append_field(dest, "expires",
				     dec2str(silence->expires));
		silence_append_field(dest, "reason", silence->reason == NULL ?
				     "" : silence->reason);
		str_append_c(dest, '\n');
	}
}

bool alertwall_silence_matches(const struct alertwall_silence *silence,
			       const char *code, const char *user,
			       const char *profile, time_t now)
{
	const char *value = NULL;

	if (silence->expires <= now)
		return FALSE;
	switch (silence->kind) {
	case ALERTWALL_SILENCE_CODE:
		value = code;
		break;
	case ALERTWALL_SILENCE_USER:
		value = user;
		break;
	case ALERTWALL_SILENCE_PROFILE:
		value = profile;
		break;
	case ALERTWALL_SILENCE_KIND_COUNT:
		i_unreached();
	}
	return value != NULL && strcmp(value, silence->match) == 0;
}

const struct alertwall_silence *
alertwall_silences_find(const ARRAY_TYPE(alertwall_silence) *silences,
			const char *code, const char *user,
			const char *profile, time_t now)
{
	const struct alertwall_silence *silence;

	array_foreach(silences, silence) {
		if (alertwall_silence_matches(silence, code, user, profile,
					      now))
			return silence;
	}
	return NULL;
}

/* ---- the store ---- */

struct silence_update {
	time_t now;
	const struct alertwall_silence *add;
	const char *remove_id;

	/* results */
	bool removed;
	unsigned int expired;
};

static bool silence_update_func(const char *old_value, string_t *new_value,
				void *context)
{
	struct silence_update *ctx = context;
	ARRAY_TYPE(alertwall_silence) silences;
	const struct alertwall_silence *silence;
	unsigned int i;

	ctx->removed = FALSE;
	ctx->expired = 0;
	t_array_init(&silences, 8);
	alertwall_silences_parse(old_value, pool_datastack_create(), &silences);
	for (i = 0; i < array_count(&silences); i++) {
		silence = array_idx(&silences, i);
		if (silence->expires <= ctx->now) {
			ctx->expired++;
		} else if (ctx->remove_id != NULL &&
			   strcmp(silence->id, ctx->remove_id) == 0) {
			ctx->removed = TRUE;
		} else {
			continue;
		}
		array_delete(&silences, i, 1);
		i--;
	}
	if (ctx->add != NULL)
		array_push_back(&silences, ctx->add);
	else if (!ctx->removed && ctx->expired == 0)
		return FALSE;
	/* an empty value deletes the key */
	alertwall_silences_serialize(&silences, ctx->now, new_value);
	return TRUE;
}

int alertwall_silence_add(struct alertwall_store *store,
			  const struct alertwall_silence *silence, time_t now,
			  const char **error_r)
{
	struct silence_update ctx;

	i_zero(&ctx);
	ctx.now = now;
	ctx.add = silence;
	return alertwall_store_update(store, ALERTWALL_SILENCE_KEY,
				      silence_update_func, &ctx, error_r);
}

int alertwall_silence_remove(struct alertwall_store *store, const char *id,
			     time_t now, const char **error_r)
{
	struct silence_update ctx;

	i_zero(&ctx);
	ctx.now = now;
	ctx.remove_id = id;
	if (alertwall_store_update(store, ALERTWALL_SILENCE_KEY,
				   silence_update_func, &ctx, error_r) < 0)
		return -1;
	return ctx.removed ? 1 : 0;
}

/* Drop the expired silences from the store. */
static int silence_expire(struct alertwall_store *store, time_t now,
			  const char **error_r)
{
	struct silence_update ctx;

	i_zero(&ctx);
	ctx.now = now;
	return alertwall_store_update(store, ALERTWALL_SILENCE_KEY,
				      silence_update_func, &ctx, error_r);
}

/* Read every stored silence, expired ones too. Returns the number of
   expired ones, or -1 on error. */
static int silence_read(struct alertwall_store *store, time_t now,
			pool_t pool, ARRAY_TYPE(alertwall_silence) *silences,
			const char **error_r)
{
	const struct alertwall_silence *silence;
	const char *value;
	int ret, expired = 0;

	ret = alertwall_store_get(store, ALERTWALL_SILENCE_KEY, &value,
				  error_r);
	if (ret < 0)
		return -1;
	alertwall_silences_parse(ret > 0 ? value : NULL, pool, silences);
	array_foreach(silences, silence) {
		if (silence->expires <= now)
			expired++;
	}
	return expired;
}

int alertwall_silence_list(struct alertwall_store *store, time_t now,
			   pool_t pool, ARRAY_TYPE(alertwall_silence) *silences,
			   const char **error_r)
{
	unsigned int i;
	int expired;

	expired = silence_read(store, now, pool, silences, error_r);
	if (expired < 0)
		return -1;
	if (expired > 0) {
		if (silence_expire(store, now, error_r) < 0)
			return -1;
		for (i = 0; i < array_count(silences); i++) {
			const struct alertwall_silence *silence =
				array_idx(silences, i);

			if (silence->expires <= now) {
				array_delete(silences, i, 1);
				i--;
			}
		}
	}
	return 0;
}

/* ---- the engine's cache ---- */

void alertwall_silence_cache_clear(void)
{
	pool_unref(&silence_cache.pool);
	i_zero(&silence_cache);
}

static int silence_cache_refresh(struct alertwall_store *store, time_t now,
				 const char **error_r)
{
	ARRAY_TYPE(alertwall_silence) silences;
	const char *error;
	pool_t pool;
	int expired;

	pool = pool_alloconly_create("alertwall silences", 512);
	p_array_init(&silences, pool, 4);
	expired = silence_read(store, now, pool, &silences, error_r);
	if (expired < 0) {
		/* the last list read stays in force until the store answers;
		   ask again at the next interval, not at every alert */
		pool_unref(&pool);
		silence_cache.read_at = now;
		silence_cache.tried = TRUE;
		return -1;
	}
	/* lazy cleaning: the first process that sees an expired silence
	   drops it; a failure here changes nothing that matters */
	if (expired > 0)
		(void)silence_expire(store, now, &error);
	pool_unref(&silence_cache.pool);
	silence_cache.store = store;
	silence_cache.pool = pool;
	silence_cache.silences = silences;
	silence_cache.read_at = now;
	silence_cache.tried = TRUE;
	return 0;
}

int alertwall_silence_check(struct alertwall_store *store,
			    const struct alertwall_alert *alert, time_t now,
			    const char **id_r, const char **error_r)
{
	const struct alertwall_silence *silence;
	int ret = 0;

	*id_r = NULL;
	if (silence_cache.store != store) {
		/* another store's list says nothing about this one */
		alertwall_silence_cache_clear();
		silence_cache.store = store;
	}
	if (!silence_cache.tried ||
	    now - silence_cache.read_at >= ALERTWALL_SILENCE_CACHE_SECS ||
	    now < silence_cache.read_at) {
		if (silence_cache_refresh(store, now, error_r) < 0)
			ret = -1;
	}
	if (silence_cache.pool == NULL)
		return ret;
	silence = alertwall_silences_find(&silence_cache.silences, alert->code,
					  alert->failure.user, alert->profile,
					  now);
	if (silence == NULL)
		return ret;
	*id_r = t_strdup(silence->id);
	return ret < 0 ? -1 : 1;
}
