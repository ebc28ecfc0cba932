/* Copyright (c) 2026 alertwall authors */

/* alertwall-events: catches the failures that Dovecot only logs (index
   and cache corruption, lock timeouts, userdb, dict, quota and sieve
   failures), and owns the alertwall event category that every alert is
   sent in.

   Outside mail users a global event callback watches every event. Dovecot
   wraps each call of such a callback in a data stack frame, and an LMTP
   delivery sends about a hundred events, which cost a fifth of what the
   plugin added to a successful delivery. So while a mail user is active
   the global callback is unregistered, and the user's and its mailboxes'
   events carry a log message callback instead, which Dovecot calls only
   for log lines: the user's catches the failure, a mailbox's tells it the
   mailbox the line came from. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "str-sanitize.h"
#include "lib-event-private.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "alertwall-engine.h"
#include "alertwall-user.h"
#include "alertwall-events.h"

/* our own log lines come back through the callbacks */
static bool in_callback;
/* mail users whose event carries alertwall_user_log_callback; while there
   are any, the global callback is unregistered */
static unsigned int watched_users;
/* the last error or warning a mailbox's event saw on its way up to the
   user's event, and that mailbox's name */
static char *pending_message, *pending_mailbox;

/* The names of the categories of the event and its parents (NULL-
   terminated, maybe empty), for the rules' "category" condition and the
   checks below. Dovecot's event
   filters count the parents' categories as the event's own (an
   auth-master request's event is a child of the connection's, which is
   in "auth-client"), and so do the rules. */
static const char *const *alertwall_event_category_names(struct event *event)
{
	struct event_category *const *categories, *category;
	ARRAY_TYPE(const_string) names;
	unsigned int i, count;

	t_array_init(&names, 8);
	for (; event != NULL; event = event_get_parent(event)) {
		categories = event_get_categories(event, &count);
		for (i = 0; i < count; i++) {
			for (category = categories[i]; category != NULL;
			     category = category->parent)
				array_push_back(&names, &category->name);
		}
	}
	array_append_zero(&names);
	return array_front(&names);
}

/* Which logged errors are failures of their own, judged by their text.
   Errors that a storage vfunc also returns are caught by the storage
   hooks instead, so only what Dovecot merely logs is taken here. Returns
   FALSE for anything else. */
static bool
alertwall_log_text_source(const char *text, enum alertwall_source *source_r)
{
	const char *lower;

	/* mail_cache_set_corrupted() and the cache's syscall errors */
	if (strstr(text, "corrupted cache") != NULL ||
	    strstr(text, "cache file") != NULL) {
		*source_r = ALERTWALL_SOURCE_CACHE;
		return TRUE;
	}
	if (strstr(text, "Corrupted") != NULL ||
	    strstr(text, "corrupted") != NULL ||
	    strstr(text, "index file") != NULL ||
	    strstr(text, "transaction log file") != NULL) {
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

static bool
alertwall_event_source(const char *const *categories, const char *text,
		       enum alertwall_source *source_r)
{
	if (str_array_find(categories, "mail-cache")) {
		*source_r = ALERTWALL_SOURCE_CACHE;
		return TRUE;
	}
	if (str_array_find(categories, "mail-index")) {
		*source_r = ALERTWALL_SOURCE_INDEX;
		return TRUE;
	}
	return alertwall_log_text_source(text, source_r);
}

static void alertwall_user_catch(struct mail_user *user,
				 struct alertwall_failure *failure)
{
	if (!alertwall_user_hold_failure(user, failure))
		alertwall_user_raise(user, failure, NULL);
}

static void
alertwall_event_catch(struct event *event, const char *fmt, va_list args)
{
	const char *const *categories = alertwall_event_category_names(event);
	struct alertwall_failure failure;
	struct mail_user *user;
	const char *text, *username;
	enum alertwall_source source;
	va_list args_copy;

	/* alertwall's own log lines */
	if (str_array_find(categories, ALERTWALL_EVENT_CATEGORY_NAME))
		return;

	va_copy(args_copy, args);
	text = t_strdup_vprintf(fmt, args_copy);
	va_end(args_copy);

	if (!alertwall_event_source(categories, text, &source))
		return;
	alertwall_failure_init(&failure, source);
	failure.text = text;
	failure.event_name = event->sending_name;
	failure.categories = categories;
	failure.mailbox = event_find_field_recursive_str(event, "mailbox");
	username = event_find_field_recursive_str(event, "user");
	failure.user = username;

	user = alertwall_current_user();
	if (user != NULL &&
	    (username == NULL || strcmp(username, user->username) == 0))
		alertwall_user_catch(user, &failure);
	else
		alertwall_raise_global(&failure);
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

	in_callback = TRUE;
	T_BEGIN {
		alertwall_event_catch(event, fmt, args);
	} T_END;
	in_callback = FALSE;
	return TRUE;
}

static void alertwall_pending_clear(void)
{
	i_free_and_null(pending_message);
	i_free_and_null(pending_mailbox);
}

/* Both callbacks return a copy: the message they are given may be the
   buffer that Dovecot empties for the next event's log prefix. */
static const char *
alertwall_mailbox_log_callback(struct event *box_event,
			       enum log_type log_type, const char *message)
{
	const char *mailbox;

	if ((log_type == LOG_TYPE_ERROR || log_type == LOG_TYPE_WARNING) &&
	    !in_callback) {
		mailbox = event_find_field_recursive_str(box_event, "mailbox");
		alertwall_pending_clear();
		pending_message = i_strdup(message);
		pending_mailbox = i_strdup(mailbox);
	}
	return t_strdup(message);
}

static bool alertwall_ends_with(const char *str, const char *suffix)
{
	size_t len = strlen(str), suffix_len = strlen(suffix);

	return len >= suffix_len &&
		memcmp(str + len - suffix_len, suffix, suffix_len) == 0;
}

static void
alertwall_user_log_catch(struct mail_user *user, const char *message)
{
	struct alertwall_failure failure;
	enum alertwall_source source;
	const char *text = message, *mailbox = NULL;

	/* the mailbox's callback saw this line first, without the prefixes
	   added on the way up */
	if (pending_message != NULL &&
	    alertwall_ends_with(message, pending_message)) {
		text = t_strdup(pending_message);
		mailbox = t_strdup(pending_mailbox);
	}
	alertwall_pending_clear();

	if (!alertwall_log_text_source(text, &source))
		return;
	alertwall_failure_init(&failure, source);
	failure.text = text;
	failure.mailbox = mailbox;
	failure.user = user->username;
	alertwall_user_catch(user, &failure);
}

static const char *
alertwall_user_log_callback(struct mail_user *user, enum log_type log_type,
			    const char *message)
{
	if ((log_type == LOG_TYPE_ERROR || log_type == LOG_TYPE_WARNING) &&
	    !in_callback) {
		in_callback = TRUE;
		T_BEGIN {
			alertwall_user_log_catch(user, message);
		} T_END;
		in_callback = FALSE;
	}
	return t_strdup(message);
}

bool alertwall_events_watch_user(struct mail_user *user)
{
	/* the event has only one such callback: leave someone else's in
	   place, and the global callback keeps watching */
	if (user->event->log_message_callback != NULL)
		return FALSE;
	event_set_log_message_callback(user->event,
				       alertwall_user_log_callback, user);
	if (watched_users++ == 0)
		event_unregister_callback(alertwall_event_callback);
	return TRUE;
}

void alertwall_events_unwatch_user(struct mail_user *user)
{
	i_assert(watched_users > 0);

	(event_set_log_message_callback)(user->event, NULL, NULL);
	if (--watched_users == 0)
		event_register_callback(alertwall_event_callback);
}

void alertwall_events_watch_mailbox(struct mailbox *box)
{
	if (box->event->log_message_callback == NULL) {
		event_set_log_message_callback(box->event,
			alertwall_mailbox_log_callback, box->event);
	}
}

void alertwall_events_unwatch_mailbox(struct mailbox *box)
{
	/* the event may live on as the parent of a cached index's event */
	if (box->event->log_message_callback ==
	    (event_log_message_callback_t *)alertwall_mailbox_log_callback)
		(event_set_log_message_callback)(box->event, NULL, NULL);
}

void alertwall_events_init(void)
{
	event_register_callback(alertwall_event_callback);
}

void alertwall_events_deinit(void)
{
	if (watched_users == 0)
		event_unregister_callback(alertwall_event_callback);
	alertwall_pending_clear();
}
