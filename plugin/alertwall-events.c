/* Copyright (c) 2026 alertwall authors */

/* alertwall-events: the global event callback that turns logged storage
   errors into failures, and the alertwall event that every alert is sent
   as. Registered by the plugin's init in every mail process. */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "lib-event-private.h"
#include "mail-user.h"
#include "alertwall-engine.h"
#include "alertwall-user.h"
#include "alertwall-events.h"

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
	if (alertwall_event_has_category(event, alertwall_event_category.name))
		return TRUE;

	in_callback = TRUE;
	T_BEGIN {
		alertwall_event_catch(event, fmt, args);
	} T_END;
	in_callback = FALSE;
	return TRUE;
}

void alertwall_events_init(void)
{
	event_register_callback(alertwall_event_callback);
}

void alertwall_events_deinit(void)
{
	event_unregister_callback(alertwall_event_callback);
}
