/* Copyright (c) 2026 alertwall authors */

/* alertwall-events: the global event callback that turns logged storage
   errors into failures, and the alertwall event that every alert is sent
   as. Registered by the plugin's init in every mail process. */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "lib-event-private.h"
#include "mail-user.h"
#include "alertwall-user.h"
#include "alertwall-events.h"

static struct event_category event_category_alertwall = {
	.name = "alertwall",
};

static struct event *alertwall_event;
/* our own log lines come back through the callback */
static bool in_callback;

static bool
alertwall_event_has_category(struct event *event, const char *name)
{
	struct event_category *const *categories, *category;
	unsigned int i, count;

	categories = event_get_categories(event, &count);
	for (i = 0; i < count; i++) {
		for (category = categories[i]; category != NULL;
		     category = category->parent) {
			if (strcmp(category->name, name) == 0)
				return TRUE;
		}
	}
	return FALSE;
}

/* Which logged errors are failures of their own. Errors that a storage
   vfunc also returns are caught by the storage hooks instead, so only what
   Dovecot merely logs is taken here. Returns FALSE for anything else. */
static bool
alertwall_event_source(struct event *event, const char *text,
		       enum alertwall_source *source_r)
{
	const char *lower;

	if (alertwall_event_has_category(event, "mail-cache")) {
		*source_r = ALERTWALL_SOURCE_CACHE;
		return TRUE;
	}
	if (alertwall_event_has_category(event, "mail-index")) {
		*source_r = ALERTWALL_SOURCE_INDEX;
		return TRUE;
	}
	if (strstr(text, "Corrupted") != NULL ||
	    strstr(text, "corrupted") != NULL) {
		*source_r = ALERTWALL_SOURCE_INDEX;
		return TRUE;
	}
	if (strstr(text, "Timeout") != NULL && strstr(text, "lock") != NULL) {
		*source_r = ALERTWALL_SOURCE_OTHER;
		return TRUE;
	}
	lower = t_str_lcase(text);
	if (strstr(lower, "userdb") != NULL ||
	    strstr(lower, "passdb") != NULL ||
	    strstr(lower, "failed to initialize user") != NULL ||
	    strstr(lower, "failed to lookup user") != NULL ||
	    strstr(lower, "lookup failed") != NULL) {
		*source_r = ALERTWALL_SOURCE_AUTH;
		return TRUE;
	}
	/* backends that only log: dict, quota backends, sieve */
	if (strstr(lower, "dict") != NULL ||
	    strstr(lower, "quota") != NULL ||
	    strstr(lower, "sieve") != NULL) {
		*source_r = ALERTWALL_SOURCE_OTHER;
		return TRUE;
	}
	return FALSE;
}

static void
alertwall_event_catch(struct event *event, const char *fmt, va_list args)
{
	struct alertwall_failure failure;
	struct mail_user *user;
	const char *text, *username;
	enum alertwall_source source;
	va_list args_copy;

	va_copy(args_copy, args);
	text = t_strdup_vprintf(fmt, args_copy);
	va_end(args_copy);

	if (!alertwall_event_source(event, text, &source))
		return;
	alertwall_failure_init(&failure, source);
	failure.text = text;
	failure.event_name = event->sending_name;
	failure.mailbox = event_find_field_recursive_str(event, "mailbox");
	username = event_find_field_recursive_str(event, "user");
	failure.user = username;

	user = alertwall_current_user();
	if (user != NULL &&
	    (username == NULL || strcmp(username, user->username) == 0)) {
		if (!alertwall_user_hold_failure(user, &failure))
			alertwall_user_raise(user, &failure, NULL);
	} else {
		alertwall_raise_global(&failure);
	}
}

static bool
alertwall_event_callback(struct event *event, enum event_callback_type type,
			 struct failure_context *ctx, const char *fmt,
			 va_list args)
{
	if (type != EVENT_CALLBACK_TYPE_SEND || ctx == NULL || in_callback)
		return TRUE;
	if (ctx->type != LOG_TYPE_ERROR && ctx->type != LOG_TYPE_WARNING)
		return TRUE;
	if (alertwall_event_has_category(event, event_category_alertwall.name))
		return TRUE;

	in_callback = TRUE;
	T_BEGIN {
		alertwall_event_catch(event, fmt, args);
	} T_END;
	in_callback = FALSE;
	return TRUE;
}

void alertwall_events_log_alert(const struct alertwall_alert *alert)
{
	const struct alertwall_failure *f = &alert->failure;
	struct event_passthrough *e;
	const char *line;

	e = event_create_passthrough(alertwall_event)->
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
		add_str("mailbox", f->mailbox);

	line = t_strdup_printf("%s %s %s (user=%s mailbox=%s profile=%s id=%s): %s",
			       alertwall_event_name(alert->event),
			       alertwall_level_name(alert->level),
			       alert->code,
			       f->user == NULL ? "-" : f->user,
			       f->mailbox == NULL ? "-" : str_sanitize(f->mailbox, 128),
			       alert->profile == NULL ? "-" : alert->profile,
			       alert->id,
			       str_sanitize(alert->summary, 256));
	in_callback = TRUE;
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
	in_callback = FALSE;
}

void alertwall_events_init(void)
{
	alertwall_event = event_create(NULL);
	event_add_category(alertwall_event, &event_category_alertwall);
	event_set_append_log_prefix(alertwall_event, "alertwall: ");
	event_register_callback(alertwall_event_callback);
}

void alertwall_events_deinit(void)
{
	event_unregister_callback(alertwall_event_callback);
	event_unref(&alertwall_event);
}
