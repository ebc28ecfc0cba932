/* Copyright (c) 2026 alertwall authors */

/* alertwall-engine: from a caught failure to what admins see. Classifies
   with the (cached) rules, moves the object's state in the store, and
   emits what the state change asks for. Used by the mail plugin and by
   the doveadm module; nothing here touches lib-storage. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "ioloop.h"
#include "time-util.h"
#include "str-sanitize.h"
#include "hostpid.h"
#include "master-service.h"
#include "alertwall-rules.h"
#include "alertwall-record.h"
#include "alertwall-sidecar.h"
#include "alertwall-store.h"
#include "alertwall-silence.h"
#include "alertwall-digest.h"
#include "alertwall-engine.h"

#include <stdlib.h>
#include <sys/stat.h>

/* how often the rules file's stat is checked for changes */
#define ALERTWALL_RULES_CHECK_INTERVAL_SECS 1
/* store errors are logged at most this often per process */
#define ALERTWALL_STORE_ERROR_INTERVAL_SECS 60
/* after a store error the process goes on without state this long
   before it tries the store again */
#define ALERTWALL_STORE_RETRY_MSECS 1000
#define ALERTWALL_META_TEXT_MAX 200

#define ALERTWALL_KEY_USER ALERTWALL_STORE_KEY_USER
#define ALERTWALL_KEY_ID "ID\t"

struct event_category alertwall_event_category = {
	.name = "alertwall",
};

/* the compiled rules file, shared by all users of the process */
struct alertwall_rules_cache {
	char *path;
	struct alertwall_rules *rules;
	struct stat st;
	time_t last_check;
};

struct alertwall_sidecar_entry {
	char *path;
	struct alertwall_sidecar *sidecar;
};

struct alertwall_store_entry {
	char *uri;
	struct alertwall_store *store;
};

/* what one object's stored value holds besides its state */
struct alertwall_meta {
	const char *id;
	const char *code;
	enum alertwall_scope scope;
	const char *user;
	const char *mailbox;
	const char *profile;
	const char *text;
};

static struct alertwall_rules_cache rules_cache;
static ARRAY(struct alertwall_sidecar_entry) sidecars;
static ARRAY(struct alertwall_store_entry) stores;
static struct event *alertwall_event;
static time_t last_store_error;
/* when a store operation last failed */
static struct timeval store_failed_time;

static struct event *alertwall_engine_event(void)
{
	if (alertwall_event == NULL) {
		alertwall_event = event_create(NULL);
		event_add_category(alertwall_event, &alertwall_event_category);
		event_set_append_log_prefix(alertwall_event, "alertwall: ");
	}
	return alertwall_event;
}

static void ATTR_FORMAT(1, 2) alertwall_store_error(const char *fmt, ...)
{
	va_list args;

	i_gettimeofday(&store_failed_time);
	/* a clock that went back must not silence errors for the jump */
	if (ioloop_time >= last_store_error &&
	    ioloop_time - last_store_error < ALERTWALL_STORE_ERROR_INTERVAL_SECS)
		return;
	last_store_error = ioloop_time;
	va_start(args, fmt);
	e_error(alertwall_engine_event(), "%s (alerts are raised without "
		"state until it works again)", t_strdup_vprintf(fmt, args));
	va_end(args);
}

static struct alertwall_sidecar *alertwall_sidecar_get(const char *path)
{
	struct alertwall_sidecar_entry *entry;

	if (!array_is_created(&sidecars))
		i_array_init(&sidecars, 2);
	array_foreach_modifiable(&sidecars, entry) {
		if (strcmp(entry->path, path) == 0)
			return entry->sidecar;
	}
	entry = array_append_space(&sidecars);
	entry->path = i_strdup(path);
	entry->sidecar = alertwall_sidecar_open(path);
	return entry->sidecar;
}

/* Returns the store for the settings, or NULL when none is configured or
   the URI is bad (logged). */
static struct alertwall_store *
alertwall_store_get_for(const struct alertwall_engine_settings *set)
{
	struct alertwall_store_entry *entry;
	struct alertwall_store *store;
	const char *error;

	if (set->state_uri == NULL || *set->state_uri == '\0')
		return NULL;
	if (!array_is_created(&stores))
		i_array_init(&stores, 2);
	array_foreach_modifiable(&stores, entry) {
		if (strcmp(entry->uri, set->state_uri) == 0)
			return entry->store;
	}
	if (alertwall_store_init(set->state_uri, &store, &error) < 0) {
		alertwall_store_error("alertwall_state: %s", error);
		store = NULL;
	}
	entry = array_append_space(&stores);
	entry->uri = i_strdup(set->state_uri);
	entry->store = store;
	return store;
}

/* The store for a mail process's failures and successes, or NULL for a
   while after a store operation failed: a hung store then costs one
   delivery one timeout, not one per operation (a delivery does several). */
static struct alertwall_store *
alertwall_store_get_mail(const struct alertwall_engine_settings *set)
{
	struct timeval now;
	long long msecs;

	if (store_failed_time.tv_sec != 0) {
		i_gettimeofday(&now);
		msecs = timeval_diff_msecs(&now, &store_failed_time);
		if (msecs >= 0 && msecs < ALERTWALL_STORE_RETRY_MSECS)
			return NULL;
	}
	return alertwall_store_get_for(set);
}

static void alertwall_rules_cache_clear(void)
{
	if (rules_cache.rules != NULL)
		alertwall_rules_free(&rules_cache.rules);
	i_free(rules_cache.path);
	i_zero(&rules_cache);
}

static void
alertwall_rules_invalid(const struct alertwall_engine_settings *set,
			const char *errors)
{
	struct alertwall_failure failure;
	struct alertwall_profile_subject subject;
	const char *const *lines = t_strsplit(errors, "\n");

	for (; *lines != NULL; lines++) {
		if (**lines != '\0')
			e_error(alertwall_engine_event(), "%s", *lines);
	}
	e_error(alertwall_engine_event(), "Invalid rules file %s: "
		"running on the built-in rules until it is fixed",
		set->rules_path);

	alertwall_failure_init(&failure, ALERTWALL_SOURCE_OTHER);
	failure.text = t_strdup_printf("alertwall rules file %s is invalid: %s",
				       set->rules_path, errors);
	/* no adapter fills this failure in: the summary says which
	   service ran into the file, and the record where */
	if (master_service != NULL)
		failure.service = master_service_get_name(master_service);
	failure.host = my_hostname;
	i_zero(&subject);
	alertwall_engine_failure(set, &failure, &subject, NULL);
}

const struct alertwall_rules *
alertwall_engine_rules(const struct alertwall_engine_settings *set)
{
	const char *path = set->rules_path;
	struct alertwall_rules *rules;
	struct stat st;
	const char *error;

	if (rules_cache.path != NULL && strcmp(rules_cache.path, path) == 0 &&
	    ioloop_time - rules_cache.last_check < ALERTWALL_RULES_CHECK_INTERVAL_SECS)
		goto out;

	if (stat(path, &st) < 0)
		i_zero(&st);
	if (rules_cache.path != NULL && strcmp(rules_cache.path, path) == 0 &&
	    st.st_ino == rules_cache.st.st_ino &&
	    st.st_dev == rules_cache.st.st_dev &&
	    st.st_size == rules_cache.st.st_size &&
	    st.st_mtime == rules_cache.st.st_mtime &&
	    ST_MTIME_NSEC(st) == ST_MTIME_NSEC(rules_cache.st)) {
		rules_cache.last_check = ioloop_time;
		goto out;
	}

	alertwall_rules_cache_clear();
	rules_cache.path = i_strdup(path);
	rules_cache.st = st;
	rules_cache.last_check = ioloop_time;
	if (alertwall_rules_load_file(path, &rules, &error) < 0) {
		/* the cache already points at the builtin fallback, so the
		   invalid-rules alert below is classified by it */
		alertwall_rules_invalid(set, error);
	} else {
		rules_cache.rules = rules;
	}
out:
	return rules_cache.rules != NULL ? rules_cache.rules :
		alertwall_rules_get_builtin();
}

static long long alertwall_now_usecs(void)
{
	struct timeval tv;

	i_gettimeofday(&tv);
	return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

void alertwall_engine_emit(const struct alertwall_engine_settings *set,
			   const struct alertwall_alert *alert,
			   unsigned int count, bool with_mail,
			   const char *orig_headers)
{
	const struct alertwall_failure *f = &alert->failure;
	struct alertwall_store *store;
	struct event_passthrough *e;
	string_t *record;
	const char *line, *silence_id = NULL, *error;

	/* a silenced alert is logged as any other, only not mailed; a
	   store that cannot tell never keeps an alert mail back */
	if (with_mail && !set->mute &&
	    (store = alertwall_store_get_mail(set)) != NULL &&
	    alertwall_silence_check(store, alert, ioloop_time, &silence_id,
				    &error) < 0)
		alertwall_store_error("alertwall_state: silences: %s", error);

	record = t_str_new(1024);
	alertwall_record_render(alert, record);
	/* on failure the sidecar keeps the record queued and reports the
	   problem itself, rate-limited */
	(void)alertwall_sidecar_write(alertwall_sidecar_get(set->log_path),
				      str_c(record), str_len(record));

	e = event_create_passthrough(alertwall_engine_event())->
		set_name("alertwall_alert")->
		add_str("alert_id", alert->id)->
		add_str("alert_event", alertwall_event_name(alert->event))->
		add_str("code", alert->code)->
		add_str("nature", alertwall_nature_name(alert->nature))->
		add_str("level", alertwall_level_name(alert->level))->
		add_str("scope", alertwall_scope_name(alert->scope))->
		add_str("source", alertwall_source_name(f->source))->
		add_str("profile", alert->profile)->
		add_str("user", f->user)->
		add_str("mailbox", f->mailbox)->
		add_str("silenced", silence_id);
	line = t_strdup_printf("%s %s %s (user=%s mailbox=%s profile=%s id=%s count=%u%s): %s",
		alertwall_event_name(alert->event),
		alertwall_level_name(alert->level), alert->code,
		f->user == NULL ? "-" : str_sanitize(f->user, 64),
		f->mailbox == NULL ? "-" : str_sanitize(f->mailbox, 128),
		alert->profile == NULL ? "-" : alert->profile,
		alert->id, count, silence_id == NULL ? "" :
		t_strconcat(" silenced=", silence_id, NULL),
		alert->summary == NULL ? "-" : str_sanitize(alert->summary, 256));
	switch (alert->level) {
	case ALERTWALL_LEVEL_INFO:
	case ALERTWALL_LEVEL_COUNT:
		e_info(e->event(), "%s", line);
		break;
	case ALERTWALL_LEVEL_WARNING:
		e_warning(e->event(), "%s", line);
		break;
	case ALERTWALL_LEVEL_ERROR:
		e_error(e->event(), "%s", line);
		break;
	}

	if (with_mail && !set->mute && silence_id == NULL) {
		(void)alertwall_spool_alert(&set->spool, alert, str_c(record),
					    orig_headers);
	}
}

/* ---- stored values ---- */

static void alertwall_meta_append(string_t *dest, const char *key,
				  const char *value)
{
	if (str_len(dest) > 0)
		str_append_c(dest, '\t');
	str_append(dest, key);
	str_append_c(dest, '=');
	str_append_tabescaped(dest, value == NULL ? "" : value);
}

static void alertwall_value_build(const struct alertwall_object_state *state,
				  const struct alertwall_meta *meta,
				  string_t *dest)
{
	string_t *line = t_str_new(256);

	alertwall_state_serialize(state, dest);
	str_append_c(dest, '\n');
	alertwall_meta_append(line, "id", meta->id);
	alertwall_meta_append(line, "code", meta->code);
	alertwall_meta_append(line, "scope", alertwall_scope_name(meta->scope));
	alertwall_meta_append(line, "user", meta->user);
	alertwall_meta_append(line, "mailbox", meta->mailbox);
	alertwall_meta_append(line, "profile", meta->profile);
	alertwall_meta_append(line, "text", meta->text == NULL ? NULL :
			      str_sanitize(meta->text, ALERTWALL_META_TEXT_MAX));
	str_append_str(dest, line);
	str_append_c(dest, '\n');
}

static const char *alertwall_empty_null(const char *value)
{
	return *value == '\0' ? NULL : value;
}

/* Parse a stored object value. Returns 0, or -1 when it is damaged (then
   the object starts over: losing counts beats failing mail). */
static int alertwall_value_parse(const char *value,
				 struct alertwall_object_state *state_r,
				 struct alertwall_meta *meta_r)
{
	const char *const *lines, *const *fields, *p, *error;

	i_zero(meta_r);
	lines = t_strsplit(value, "\n");
	if (lines[0] == NULL || alertwall_state_parse(lines[0], state_r,
						      &error) < 0) {
		i_zero(state_r);
		return -1;
	}
	if (lines[1] == NULL)
		return 0;
	for (fields = t_strsplit(lines[1], "\t"); *fields != NULL; fields++) {
		p = strchr(*fields, '=');
		if (p == NULL)
			continue;
		const char *key = t_strdup_until(*fields, p);
		const char *val = alertwall_empty_null(t_str_tabunescape(p + 1));

		if (strcmp(key, "id") == 0)
			meta_r->id = val;
		else if (strcmp(key, "code") == 0)
			meta_r->code = val;
		else if (strcmp(key, "scope") == 0 && val != NULL)
			(void)alertwall_scope_parse(val, &meta_r->scope);
		else if (strcmp(key, "user") == 0)
			meta_r->user = val;
		else if (strcmp(key, "mailbox") == 0)
			meta_r->mailbox = val;
		else if (strcmp(key, "profile") == 0)
			meta_r->profile = val;
		else if (strcmp(key, "text") == 0)
			meta_r->text = val;
	}
	return 0;
}

/* ---- the user index: suspension and open objects of one user ---- */

struct alertwall_user_index {
	/* "CODE ID" of the alert that suspended deliveries, or NULL */
	const char *suspended;
	ARRAY_TYPE(const_string) keys;
};

static void alertwall_user_index_parse(const char *value,
				       struct alertwall_user_index *index_r)
{
	const char *const *lines;

	i_zero(index_r);
	t_array_init(&index_r->keys, 8);
	if (value == NULL)
		return;
	for (lines = t_strsplit(value, "\n"); *lines != NULL; lines++) {
		if (str_begins(*lines, "suspended=")) {
			index_r->suspended = alertwall_empty_null(
				t_str_tabunescape(*lines + 10));
		} else if (str_begins(*lines, "key=")) {
			const char *key = t_str_tabunescape(*lines + 4);
			array_push_back(&index_r->keys, &key);
		}
	}
}

static void alertwall_user_index_build(const struct alertwall_user_index *index,
				       string_t *dest)
{
	const char *key;

	if (index->suspended != NULL) {
		str_append(dest, "suspended=");
		str_append_tabescaped(dest, index->suspended);
		str_append_c(dest, '\n');
	}
	array_foreach_elem(&index->keys, key) {
		str_append(dest, "key=");
		str_append_tabescaped(dest, key);
		str_append_c(dest, '\n');
	}
}

struct alertwall_user_index_change {
	const char *add_key;
	const char *remove_key;
	/* set (non-NULL) or clear (clear_suspended) the suspension */
	const char *suspended;
	bool clear_suspended;
	bool clear_keys;
};

static bool alertwall_user_index_update(const char *old_value,
					string_t *new_value, void *context)
{
	const struct alertwall_user_index_change *change = context;
	struct alertwall_user_index index;
	const char *key;
	unsigned int i;
	bool found = FALSE;

	alertwall_user_index_parse(old_value, &index);
	if (change->suspended != NULL)
		index.suspended = change->suspended;
	if (change->clear_suspended)
		index.suspended = NULL;
	if (change->clear_keys)
		array_clear(&index.keys);
	for (i = 0; i < array_count(&index.keys); i++) {
		key = array_idx_elem(&index.keys, i);
		if (change->remove_key != NULL &&
		    strcmp(key, change->remove_key) == 0) {
			array_delete(&index.keys, i, 1);
			i--;
		} else if (change->add_key != NULL &&
			   strcmp(key, change->add_key) == 0) {
			found = TRUE;
		}
	}
	if (change->add_key != NULL && !found)
		array_push_back(&index.keys, &change->add_key);
	alertwall_user_index_build(&index, new_value);
	return TRUE;
}

static void
alertwall_user_index_change(struct alertwall_store *store, const char *user,
			    struct alertwall_user_index_change *change)
{
	const char *error;

	if (user == NULL)
		return;
	if (alertwall_store_update(store, t_strconcat(ALERTWALL_KEY_USER, user, NULL),
				   alertwall_user_index_update, change,
				   &error) < 0)
		alertwall_store_error("alertwall_state: %s", error);
}

static bool alertwall_set_value(const char *old_value ATTR_UNUSED,
				string_t *new_value, void *context)
{
	str_append(new_value, context);
	return TRUE;
}

/* ---- failures ---- */

struct alertwall_failure_update {
	const struct alertwall_classification *class;
	const struct alertwall_failure *failure;
	const char *profile;
	const struct alertwall_policy *policy;
	time_t now;
	long long now_usecs;
	/* ids for a new alert and an escalation, made when needed: most
	   failures repeat an open alert, and an id costs two syscalls */
	const char *raise_id;
	const char *escalate_id;

	/* results */
	unsigned int actions;
	struct alertwall_object_state state;
	struct alertwall_meta meta;
};

static const char *alertwall_new_id(long long now_usecs)
{
	string_t *str = t_str_new(32);

	alertwall_alert_id_generate(now_usecs, str);
	return str_c(str);
}

static const char *
alertwall_failure_raise_id(struct alertwall_failure_update *ctx)
{
	if (ctx->raise_id == NULL)
		ctx->raise_id = alertwall_new_id(ctx->now_usecs);
	return ctx->raise_id;
}

static bool alertwall_failure_update_func(const char *old_value,
					  string_t *new_value, void *context)
{
	struct alertwall_failure_update *ctx = context;
	struct alertwall_object_state state;
	struct alertwall_meta meta;

	i_zero(&state);
	i_zero(&meta);
	if (old_value != NULL)
		(void)alertwall_value_parse(old_value, &state, &meta);

	ctx->actions = alertwall_state_failure(&state, ctx->class, ctx->now,
					       ctx->policy);
	if ((ctx->actions & ALERTWALL_ACTION_RAISE) != 0)
		meta.id = alertwall_failure_raise_id(ctx);
	if ((ctx->actions & ALERTWALL_ACTION_ESCALATE) != 0) {
		ctx->escalate_id = alertwall_new_id(ctx->now_usecs);
		meta.id = ctx->escalate_id;
	}
	if (meta.id == NULL)
		meta.id = alertwall_failure_raise_id(ctx);
	meta.code = ctx->class->code;
	meta.scope = ctx->class->scope;
	meta.user = ctx->failure->user;
	meta.mailbox = ctx->failure->mailbox;
	meta.profile = ctx->profile;
	meta.text = ctx->failure->text;
	alertwall_value_build(&state, &meta, new_value);
	ctx->state = state;
	ctx->meta = meta;
	return TRUE;
}

static bool
alertwall_engine_correlate(const struct alertwall_engine_settings *set,
			   struct alertwall_store *store,
			   const struct alertwall_alert *alert,
			   long long now_usecs);

void alertwall_engine_failure(const struct alertwall_engine_settings *set,
			      const struct alertwall_failure *failure,
			      const struct alertwall_profile_subject *subject,
			      const char *orig_headers)
{
	const struct alertwall_rules *rules;
	const struct alertwall_profile *profile;
	struct alertwall_classification class;
	struct alertwall_failure_update ctx;
	struct alertwall_user_index_change change;
	struct alertwall_store *store;
	struct alertwall_alert alert;
	const char *error, *key, *profile_name;
	long long now_usecs = alertwall_now_usecs();
	unsigned int count = 1;
	bool mail = TRUE;
	string_t *str;
	pool_t pool;

	rules = alertwall_engine_rules(set);
	profile = alertwall_rules_find_profile(rules, subject);
	profile_name = alertwall_profile_get_name(profile);
	alertwall_rules_classify(rules, failure, &class);
	if (!class.generate)
		return;

	i_zero(&ctx);
	ctx.class = &class;
	ctx.failure = failure;
	ctx.profile = profile_name;
	ctx.policy = &set->policy;
	ctx.now = (time_t)(now_usecs / 1000000);
	ctx.now_usecs = now_usecs;

	str = t_str_new(128);
	alertwall_state_key(&class, failure, profile_name, str);
	key = str_c(str);
	store = alertwall_store_get_mail(set);
	if (store == NULL) {
		ctx.actions = ALERTWALL_ACTION_RAISE;
	} else if (alertwall_store_update(store, key,
			alertwall_failure_update_func, &ctx, &error) < 0) {
		/* degraded: without state every failure is a new alert,
		   which is noisy but loses nothing */
		alertwall_store_error("alertwall_state: %s", error);
		store = NULL;
		ctx.actions = ALERTWALL_ACTION_RAISE;
	} else {
		count = ctx.state.total;
	}

	/* its own pool: the alert outlives the data stack frames that the
	   sinks open while they write it */
	pool = pool_alloconly_create("alertwall alert", 1024);
	alertwall_alert_init(&alert, pool, failure, &class, profile,
			     now_usecs);
	/* inhibition: while the profile-level alert of this code is open,
	   its mailboxes' alerts are counted and logged, not mailed */
	if ((ctx.actions & (ALERTWALL_ACTION_RAISE | ALERTWALL_ACTION_ESCALATE |
			    ALERTWALL_ACTION_REMIND)) != 0 &&
	    alertwall_engine_correlate(set, store, &alert, now_usecs))
		mail = FALSE;

	if ((ctx.actions & ALERTWALL_ACTION_RAISE) != 0) {
		alert.id = alertwall_failure_raise_id(&ctx);
		alertwall_engine_emit(set, &alert, count, mail, orig_headers);
	}
	if ((ctx.actions & ALERTWALL_ACTION_ESCALATE) != 0) {
		/* the seed: a new permanent alert with the same code */
		alert.id = ctx.escalate_id;
		alert.event = ALERTWALL_EVENT_ESCALATED;
		alert.nature = ALERTWALL_NATURE_PERMANENT;
		alert.level = ALERTWALL_LEVEL_ERROR;
		alertwall_engine_emit(set, &alert, count, mail, orig_headers);
	}
	if ((ctx.actions & (ALERTWALL_ACTION_LOG_REPEAT |
			    ALERTWALL_ACTION_REMIND)) != 0) {
		alert.id = ctx.meta.id != NULL ? ctx.meta.id :
			alertwall_failure_raise_id(&ctx);
		alert.event = ALERTWALL_EVENT_REPEATED;
		alert.nature = ctx.state.nature;
		if (ctx.state.nature == ALERTWALL_NATURE_PERMANENT)
			alert.level = ALERTWALL_LEVEL_ERROR;
		alertwall_engine_emit(set, &alert, count, mail &&
			(ctx.actions & ALERTWALL_ACTION_REMIND) != 0,
			orig_headers);
	}
	if ((ctx.actions & ALERTWALL_ACTION_SUSPEND) != 0) {
		alert.event = ALERTWALL_EVENT_SUSPENDED;
		alert.nature = ALERTWALL_NATURE_PERMANENT;
		alert.level = ALERTWALL_LEVEL_ERROR;
		alertwall_engine_emit(set, &alert, count, FALSE, NULL);
	}

	/* a store error since (correlation, silences): no more waiting */
	if (store != NULL)
		store = alertwall_store_get_mail(set);
	if (store != NULL && (ctx.actions & (ALERTWALL_ACTION_RAISE |
					     ALERTWALL_ACTION_ESCALATE)) != 0) {
		/* id -> object, for doveadm show/dismiss */
		if (alertwall_store_update(store,
				t_strconcat(ALERTWALL_KEY_ID, alert.id, NULL),
				alertwall_set_value, (void *)key, &error) < 0)
			alertwall_store_error("alertwall_state: %s", error);
		else {
			i_zero(&change);
			change.add_key = key;
			if ((ctx.actions & ALERTWALL_ACTION_SUSPEND) != 0) {
				change.suspended = t_strdup_printf("%s %s",
					class.code, alert.id);
			}
			alertwall_user_index_change(store, failure->user,
						    &change);
		}
	}
	pool_unref(&pool);
}

/* ---- profile correlation ---- */

#define ALERTWALL_KEY_CORRELATION "CORR\t"
/* a correlation remembers at most this many mailboxes */
#define ALERTWALL_CORRELATION_MAX_USERS 10000

struct alertwall_correlation_update {
	const char *user;
	time_t now;
	unsigned int threshold;
	unsigned int window_secs;
	long long now_usecs;

	/* results */
	const char *open_id;
	unsigned int mailboxes;
	bool raise;
};

/* The value: "open=ID" while the profile-level alert is open, then one
   "TIME<tab>USER" line per mailbox that failed within the window. */
static bool alertwall_correlation_update_func(const char *old_value,
					      string_t *new_value,
					      void *context)
{
	struct alertwall_correlation_update *ctx = context;
	const char *const *lines, *p, *open_id = NULL;
	ARRAY_TYPE(const_string) users;
	ARRAY(time_t) times;
	const char *user;
	time_t t;
	unsigned int i;
	bool found = FALSE;

	t_array_init(&users, 16);
	t_array_init(&times, 16);
	lines = old_value == NULL ? t_strsplit("", "\n") :
		t_strsplit(old_value, "\n");
	for (; *lines != NULL; lines++) {
		if (str_begins(*lines, "open=")) {
			open_id = alertwall_empty_null(*lines + 5);
			continue;
		}
		p = strchr(*lines, '\t');
		if (p == NULL)
			continue;
		t = (time_t)strtoll(t_strdup_until(*lines, p), NULL, 10);
		/* outside the window: forgotten */
		if (t + (time_t)ctx->window_secs <= ctx->now)
			continue;
		user = t_str_tabunescape(p + 1);
		if (strcmp(user, ctx->user) == 0) {
			found = TRUE;
			t = ctx->now;
		}
		array_push_back(&users, &user);
		array_push_back(&times, &t);
	}
	if (!found && array_count(&users) < ALERTWALL_CORRELATION_MAX_USERS) {
		array_push_back(&users, &ctx->user);
		array_push_back(&times, &ctx->now);
	}
	/* the threshold most recent mailboxes decide whether it is reached,
	   so older ones are forgotten: this value is read and rewritten for
	   every new alert of the code. Unbounded, its cost grew with the
	   mailboxes (alerts for 5,000 of them took 7 times the user CPU),
	   and after about 3,400 the value outgrew the file store's 64 KiB
	   limit, which ended the inhibition (bench/RESULTS.md, storm) */
	while (array_count(&users) > I_MAX(ctx->threshold, 1)) {
		unsigned int oldest = 0;

		for (i = 1; i < array_count(&times); i++) {
			if (array_idx_elem(&times, i) <
			    array_idx_elem(&times, oldest))
				oldest = i;
		}
		array_delete(&users, oldest, 1);
		array_delete(&times, oldest, 1);
	}
	ctx->mailboxes = array_count(&users);
	ctx->raise = FALSE;
	if (open_id == NULL && ctx->mailboxes >= ctx->threshold) {
		open_id = alertwall_new_id(ctx->now_usecs);
		ctx->raise = TRUE;
	}
	ctx->open_id = open_id;

	if (open_id != NULL)
		str_printfa(new_value, "open=%s\n", open_id);
	for (i = 0; i < array_count(&users); i++) {
		str_printfa(new_value, "%lld\t",
			    (long long)array_idx_elem(&times, i));
		str_append_tabescaped(new_value, array_idx_elem(&users, i));
		str_append_c(new_value, '\n');
	}
	return TRUE;
}

/* Keep the correlated profile-level alert as an object of its own, so
   that doveadm lists and dismisses it like any other. */
static void
alertwall_store_correlated(struct alertwall_store *store,
			   const struct alertwall_alert *palert,
			   unsigned int mailboxes, time_t now)
{
	struct alertwall_classification class;
	struct alertwall_object_state state;
	struct alertwall_meta meta;
	string_t *key, *value;
	const char *error;

	i_zero(&class);
	class.code = palert->code;
	class.scope = ALERTWALL_SCOPE_PROFILE;
	key = t_str_new(128);
	alertwall_state_key(&class, &palert->failure, palert->profile, key);

	i_zero(&state);
	state.status = ALERTWALL_STATUS_OPEN;
	state.nature = palert->nature;
	state.first_seen = state.last_seen = state.window_start = now;
	state.last_mailed = state.last_repeat_logged = now;
	state.attempts = state.consecutive = state.total = mailboxes;
	i_zero(&meta);
	meta.id = palert->id;
	meta.code = palert->code;
	meta.scope = ALERTWALL_SCOPE_PROFILE;
	meta.profile = palert->profile;
	meta.text = palert->summary;
	value = t_str_new(256);
	alertwall_value_build(&state, &meta, value);
	if (alertwall_store_update(store, str_c(key), alertwall_set_value,
				   (void *)str_c(value), &error) < 0 ||
	    alertwall_store_update(store,
				   t_strconcat(ALERTWALL_KEY_ID, palert->id, NULL),
				   alertwall_set_value, (void *)str_c(key),
				   &error) < 0)
		alertwall_store_error("alertwall_state: %s", error);
}

static bool alertwall_correlation_close_func(const char *old_value,
					     string_t *new_value,
					     void *context ATTR_UNUSED)
{
	const char *const *lines;

	if (old_value == NULL)
		return FALSE;
	for (lines = t_strsplit(old_value, "\n"); *lines != NULL; lines++) {
		if (**lines == '\0' || str_begins(*lines, "open="))
			continue;
		str_append(new_value, *lines);
		str_append_c(new_value, '\n');
	}
	/* an empty correlation is deleted */
	return TRUE;
}

/* Dismissing a profile-level alert ends the inhibition it caused. */
static void
alertwall_correlation_close(struct alertwall_store *store, const char *code,
			    const char *profile)
{
	const char *error;

	if (code == NULL || profile == NULL)
		return;
	if (alertwall_store_update(store,
			t_strconcat(ALERTWALL_KEY_CORRELATION, code, "\t",
				    profile, NULL),
			alertwall_correlation_close_func, NULL, &error) < 0)
		alertwall_store_error("alertwall_state: %s", error);
}

/* Count the failing mailbox towards its profile's correlation. Returns
   TRUE when a profile-level alert for the code is open, so the mailbox's
   own alert is folded into it (logged, not mailed). Raises that
   profile-level alert when this failure crosses the threshold. */
static bool
alertwall_engine_correlate(const struct alertwall_engine_settings *set,
			   struct alertwall_store *store,
			   const struct alertwall_alert *alert,
			   long long now_usecs)
{
	struct alertwall_correlation_update ctx;
	struct alertwall_alert palert;
	unsigned int threshold = set->correlate_mailboxes;
	const char *error;

	/* the profile's own alarm share, when it says how many mailboxes
	   it serves and that is reached first */
	if (alert->profile_alarm_mailboxes > 0 &&
	    (threshold == 0 || alert->profile_alarm_mailboxes < threshold))
		threshold = alert->profile_alarm_mailboxes;
	if (threshold == 0 || store == NULL ||
	    alert->scope == ALERTWALL_SCOPE_PROFILE ||
	    alert->failure.user == NULL || alert->profile == NULL)
		return FALSE;

	i_zero(&ctx);
	ctx.user = alert->failure.user;
	ctx.now = (time_t)(now_usecs / 1000000);
	ctx.threshold = threshold;
	ctx.window_secs = set->correlate_window_secs;
	ctx.now_usecs = now_usecs;
	if (alertwall_store_update(store,
			t_strconcat(ALERTWALL_KEY_CORRELATION, alert->code, "\t",
				    alert->profile, NULL),
			alertwall_correlation_update_func, &ctx, &error) < 0) {
		alertwall_store_error("alertwall_state: %s", error);
		return FALSE;
	}
	if (ctx.raise) {
		/* the seed's profile alarm: one alert to the profile owner
		   instead of one per mailbox */
		palert = *alert;
		palert.id = ctx.open_id;
		palert.event = ALERTWALL_EVENT_RAISED;
		palert.scope = ALERTWALL_SCOPE_PROFILE;
		palert.summary = t_strdup_printf(
			"%s hit %u mailboxes of profile %s within %u s",
			alert->code, ctx.mailboxes, alert->profile,
			set->correlate_window_secs);
		palert.failure.mailbox = NULL;
		palert.failure.message_id = NULL;
		palert.failure.uid = 0;
		palert.failure.guid = NULL;
		alertwall_engine_emit(set, &palert, ctx.mailboxes, TRUE, NULL);
		alertwall_store_correlated(store, &palert, ctx.mailboxes,
					   ctx.now);
	}
	return ctx.open_id != NULL && !ctx.raise;
}

/* ---- successes ---- */

struct alertwall_success_update {
	const struct alertwall_policy *policy;
	time_t now;
	unsigned int actions;
	struct alertwall_object_state state;
	struct alertwall_meta meta;
	bool closed;
};

static bool alertwall_success_update_func(const char *old_value,
					  string_t *new_value, void *context)
{
	struct alertwall_success_update *ctx = context;
	struct alertwall_object_state state;
	struct alertwall_meta meta;

	ctx->actions = 0;
	ctx->closed = TRUE;
	if (old_value == NULL ||
	    alertwall_value_parse(old_value, &state, &meta) < 0)
		return FALSE;
	ctx->actions = alertwall_state_success(&state, ctx->now, ctx->policy);
	ctx->closed = state.status != ALERTWALL_STATUS_OPEN &&
		state.status != ALERTWALL_STATUS_PERMANENT;
	ctx->state = state;
	ctx->meta = meta;
	alertwall_value_build(&state, &meta, new_value);
	return TRUE;
}

/* Emit a follow-up of a stored alert (resolved, dismissed, enabled) as an
   info alert. */
static void
alertwall_emit_followup(const struct alertwall_engine_settings *set,
			const struct alertwall_meta *meta,
			unsigned int total, enum alertwall_event event,
			const char *summary, bool with_mail)
{
	const struct alertwall_rules *rules = alertwall_engine_rules(set);
	const struct alertwall_profile *profile = NULL;
	struct alertwall_alert alert;

	if (meta->profile != NULL)
		profile = alertwall_rules_get_profile(rules, meta->profile);
	i_zero(&alert);
	alert.id = meta->id != NULL ? meta->id :
		alertwall_new_id(alertwall_now_usecs());
	alert.time_usecs = alertwall_now_usecs();
	alert.event = event;
	alert.code = meta->code == NULL ? "-" : meta->code;
	alert.nature = ALERTWALL_NATURE_TRANSIENT;
	alert.level = ALERTWALL_LEVEL_INFO;
	alert.scope = meta->scope;
	alert.summary = summary;
	alert.action = "None: for your information.";
	alert.profile = meta->profile;
	alert.profile_owner = profile == NULL ? "" :
		alertwall_profile_get_owner(profile);
	alertwall_failure_init(&alert.failure, ALERTWALL_SOURCE_OTHER);
	alert.failure.user = meta->user;
	alert.failure.mailbox = meta->mailbox;
	alert.failure.text = meta->text;
	alertwall_engine_emit(set, &alert, total, with_mail, NULL);
}

static int
alertwall_user_index_get(struct alertwall_store *store, const char *user,
			 struct alertwall_user_index *index_r,
			 const char **error_r)
{
	const char *value;
	int ret;

	ret = alertwall_store_get(store, t_strconcat(ALERTWALL_KEY_USER, user, NULL),
				  &value, error_r);
	alertwall_user_index_parse(ret > 0 ? value : NULL, index_r);
	return ret;
}

void alertwall_engine_success(const struct alertwall_engine_settings *set,
			      const char *user)
{
	struct alertwall_store *store = alertwall_store_get_mail(set);
	struct alertwall_user_index index;
	struct alertwall_user_index_change change;
	struct alertwall_success_update ctx;
	const char *key, *error;
	int ret;

	if (store == NULL || user == NULL)
		return;
	ret = alertwall_user_index_get(store, user, &index, &error);
	if (ret <= 0) {
		if (ret < 0)
			alertwall_store_error("alertwall_state: %s", error);
		return;
	}
	array_foreach_elem(&index.keys, key) {
		if (alertwall_store_get_mail(set) == NULL)
			break;
		i_zero(&ctx);
		ctx.policy = &set->policy;
		ctx.now = ioloop_time;
		if (alertwall_store_update(store, key,
				alertwall_success_update_func, &ctx,
				&error) < 0) {
			alertwall_store_error("alertwall_state: %s", error);
			continue;
		}
		if ((ctx.actions & ALERTWALL_ACTION_RESOLVE) != 0) {
			alertwall_emit_followup(set, &ctx.meta, ctx.state.total,
				ALERTWALL_EVENT_RESOLVED,
				t_strdup_printf("Resolved: %s for %s works again",
						ctx.meta.code, user), TRUE);
		}
		if (ctx.closed) {
			i_zero(&change);
			change.remove_key = key;
			alertwall_user_index_change(store, user, &change);
		}
	}
}

bool alertwall_engine_is_suspended(const struct alertwall_engine_settings *set,
				   const char *user, const char **reason_r,
				   bool *indexed_r)
{
	struct alertwall_store *store = alertwall_store_get_mail(set);
	struct alertwall_user_index index;
	const char *error;
	bool indexed;
	int ret;

	if (indexed_r == NULL)
		indexed_r = &indexed;
	*indexed_r = TRUE;
	if (store == NULL || user == NULL)
		return FALSE;
	ret = alertwall_user_index_get(store, user, &index, &error);
	if (ret < 0) {
		/* never refuse mail because the state is unreachable */
		alertwall_store_error("alertwall_state: %s", error);
		return FALSE;
	}
	*indexed_r = ret > 0;
	if (index.suspended == NULL)
		return FALSE;
	*reason_r = index.suspended;
	return TRUE;
}

struct alertwall_close_update {
	time_t now;
	struct alertwall_object_state state;
	struct alertwall_meta meta;
	bool was_open;
};

static bool alertwall_close_update_func(const char *old_value,
					string_t *new_value, void *context)
{
	struct alertwall_close_update *ctx = context;
	struct alertwall_object_state state;
	struct alertwall_meta meta;

	ctx->was_open = FALSE;
	if (old_value == NULL ||
	    alertwall_value_parse(old_value, &state, &meta) < 0)
		return FALSE;
	ctx->was_open = state.status == ALERTWALL_STATUS_OPEN ||
		state.status == ALERTWALL_STATUS_PERMANENT;
	alertwall_state_dismiss(&state, ctx->now);
	ctx->state = state;
	ctx->meta = meta;
	alertwall_value_build(&state, &meta, new_value);
	return TRUE;
}

int alertwall_engine_enable(const struct alertwall_engine_settings *set,
			    const char *user, const char *note,
			    const char **error_r)
{
	struct alertwall_store *store = alertwall_store_get_for(set);
	struct alertwall_user_index index;
	struct alertwall_user_index_change change;
	struct alertwall_close_update ctx;
	struct alertwall_meta meta;
	const char *key;
	int closed = 0;

	if (store == NULL) {
		*error_r = "no state store is configured (alertwall_state)";
		return -1;
	}
	if (alertwall_user_index_get(store, user, &index, error_r) < 0)
		return -1;
	array_foreach_elem(&index.keys, key) {
		i_zero(&ctx);
		ctx.now = ioloop_time;
		if (alertwall_store_update(store, key,
				alertwall_close_update_func, &ctx,
				error_r) < 0)
			return -1;
		if (ctx.was_open)
			closed++;
	}
	i_zero(&change);
	change.clear_suspended = TRUE;
	change.clear_keys = TRUE;
	alertwall_user_index_change(store, user, &change);

	i_zero(&meta);
	meta.code = "MAILBOX_TESTED_AND_ENABLED";
	meta.scope = ALERTWALL_SCOPE_MAILBOX;
	meta.user = user;
	meta.mailbox = "INBOX";
	meta.text = note;
	alertwall_emit_followup(set, &meta, 0, ALERTWALL_EVENT_ENABLED,
		t_strdup_printf("Mailbox %s tested and enabled; %d alert(s) "
				"closed", user, closed), TRUE);
	return closed;
}

int alertwall_engine_dismiss(const struct alertwall_engine_settings *set,
			     const char *alert_id, const char **error_r)
{
	struct alertwall_store *store = alertwall_store_get_for(set);
	struct alertwall_user_index_change change;
	struct alertwall_close_update ctx;
	const char *key;
	int ret;

	if (store == NULL) {
		*error_r = "no state store is configured (alertwall_state)";
		return -1;
	}
	ret = alertwall_store_get(store, t_strconcat(ALERTWALL_KEY_ID, alert_id, NULL),
				  &key, error_r);
	if (ret <= 0)
		return ret;
	key = t_strdup(key);
	i_zero(&ctx);
	ctx.now = ioloop_time;
	if (alertwall_store_update(store, key, alertwall_close_update_func,
				   &ctx, error_r) < 0)
		return -1;
	if (ctx.meta.code == NULL)
		return 0;
	i_zero(&change);
	change.remove_key = key;
	/* the suspension goes with the alert that caused it */
	if (ctx.meta.user != NULL) {
		struct alertwall_user_index index;

		if (alertwall_user_index_get(store, ctx.meta.user, &index,
					     error_r) < 0)
			return -1;
		if (index.suspended != NULL &&
		    str_begins(index.suspended,
			       t_strdup_printf("%s ", ctx.meta.code)))
			change.clear_suspended = TRUE;
		alertwall_user_index_change(store, ctx.meta.user, &change);
	}
	if (ctx.meta.scope == ALERTWALL_SCOPE_PROFILE)
		alertwall_correlation_close(store, ctx.meta.code, ctx.meta.profile);
	ctx.meta.id = alert_id;
	alertwall_emit_followup(set, &ctx.meta, ctx.state.total,
		ALERTWALL_EVENT_DISMISSED,
		t_strdup_printf("Dismissed: %s for %s", ctx.meta.code,
				ctx.meta.user == NULL ? ctx.meta.profile :
				ctx.meta.user), FALSE);
	return 1;
}

struct alertwall_iterate_ctx {
	alertwall_engine_alert_func *func;
	void *context;
};

static bool alertwall_iterate_func(const char *key, const char *value,
				   void *context)
{
	struct alertwall_iterate_ctx *ctx = context;
	struct alertwall_open_alert alert;
	struct alertwall_meta meta;

	if (str_begins(key, ALERTWALL_KEY_USER) ||
	    str_begins(key, ALERTWALL_KEY_ID) ||
	    strcmp(key, ALERTWALL_SILENCE_KEY) == 0 ||
	    str_begins(key, ALERTWALL_DIGEST_KEY_PREFIX))
		return TRUE;
	i_zero(&alert);
	if (alertwall_value_parse(value, &alert.state, &meta) < 0)
		return TRUE;
	alert.key = key;
	alert.id = meta.id;
	alert.code = meta.code;
	alert.scope = meta.scope;
	alert.user = meta.user;
	alert.mailbox = meta.mailbox;
	alert.profile = meta.profile;
	alert.text = meta.text;
	return ctx->func(&alert, ctx->context);
}

struct alertwall_store *
alertwall_engine_store(const struct alertwall_engine_settings *set,
		       const char **error_r)
{
	struct alertwall_store *store = alertwall_store_get_for(set);

	if (store == NULL) {
		*error_r = (set->state_uri == NULL || *set->state_uri == '\0') ?
			"no state store is configured (alertwall_state)" :
			t_strdup_printf("alertwall_state %s is unusable",
					set->state_uri);
	}
	return store;
}

int alertwall_engine_iterate(const struct alertwall_engine_settings *set,
			     alertwall_engine_alert_func *func, void *context,
			     const char **error_r)
{
	struct alertwall_store *store = alertwall_store_get_for(set);
	struct alertwall_iterate_ctx ctx = { .func = func, .context = context };

	if (store == NULL) {
		*error_r = "no state store is configured (alertwall_state)";
		return -1;
	}
	return alertwall_store_iterate(store, alertwall_iterate_func, &ctx,
				       error_r);
}

void alertwall_engine_deinit(void)
{
	struct alertwall_sidecar_entry *sentry;
	struct alertwall_store_entry *entry;

	if (array_is_created(&sidecars)) {
		array_foreach_modifiable(&sidecars, sentry) {
			alertwall_sidecar_close(&sentry->sidecar);
			i_free(sentry->path);
		}
		array_free(&sidecars);
	}
	if (array_is_created(&stores)) {
		array_foreach_modifiable(&stores, entry) {
			alertwall_store_deinit(&entry->store);
			i_free(entry->uri);
		}
		array_free(&stores);
	}
	alertwall_rules_cache_clear();
	alertwall_silence_cache_clear();
	event_unref(&alertwall_event);
}
