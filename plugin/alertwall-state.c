/* Copyright (c) 2026 alertwall authors */

/* alertwall-state: the alert life cycle (raise, repeat, escalate, remind,
   resolve, dismiss) over one object's state. Pure: the engine loads the
   state from a backend, calls these, stores it back, and acts on the
   returned flags. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "alertwall-state.h"

#include <stdlib.h>

static const char *const alertwall_status_names[ALERTWALL_STATUS_COUNT] = {
	"none", "open", "permanent", "resolved", "dismissed"
};

const char *alertwall_status_name(enum alertwall_status status)
{
	if ((unsigned int)status >= ALERTWALL_STATUS_COUNT)
		return NULL;
	return alertwall_status_names[status];
}

int alertwall_status_parse(const char *name, enum alertwall_status *status_r)
{
	unsigned int i;

	for (i = 0; i < ALERTWALL_STATUS_COUNT; i++) {
		if (strcasecmp(name, alertwall_status_names[i]) == 0) {
			*status_r = (enum alertwall_status)i;
			return 0;
		}
	}
	return -1;
}

static bool alertwall_state_is_open(const struct alertwall_object_state *state)
{
	return state->status == ALERTWALL_STATUS_OPEN ||
		state->status == ALERTWALL_STATUS_PERMANENT;
}

static unsigned int
alertwall_state_permanent(struct alertwall_object_state *state,
			  const struct alertwall_classification *class,
			  const struct alertwall_policy *policy)
{
	state->status = ALERTWALL_STATUS_PERMANENT;
	state->nature = ALERTWALL_NATURE_PERMANENT;
	if (policy->suspend && class->scope == ALERTWALL_SCOPE_MAILBOX &&
	    !state->suspended) {
		state->suspended = TRUE;
		return ALERTWALL_ACTION_SUSPEND;
	}
	return 0;
}

static unsigned int
alertwall_state_new(struct alertwall_object_state *state,
		    const struct alertwall_classification *class, time_t now,
		    const struct alertwall_policy *policy)
{
	unsigned int actions = ALERTWALL_ACTION_RAISE;

	/* counters restart, the history (total, last success) stays */
	state->first_seen = now;
	state->window_start = now;
	state->attempts = 1;
	state->consecutive = 1;
	state->last_mailed = now;
	state->reminders = 0;
	state->last_repeat_logged = now;
	state->success_since = 0;
	state->nature = class->nature;
	if (class->nature == ALERTWALL_NATURE_PERMANENT)
		actions |= alertwall_state_permanent(state, class, policy);
	else {
		state->status = ALERTWALL_STATUS_OPEN;
		/* a limit of one attempt escalates at once */
		if (class->retry_limit <= 1) {
			actions |= ALERTWALL_ACTION_ESCALATE |
				alertwall_state_permanent(state, class, policy);
		}
	}
	return actions;
}

static bool
alertwall_reminder_due(const struct alertwall_object_state *state,
		       time_t now, const struct alertwall_policy *policy)
{
	unsigned int idx;

	if (policy->reminder_count == 0)
		return FALSE;
	idx = I_MIN(state->reminders, policy->reminder_count - 1);
	return now - state->last_mailed >= (time_t)policy->reminder_secs[idx];
}

unsigned int alertwall_state_failure(struct alertwall_object_state *state,
				     const struct alertwall_classification *class,
				     time_t now,
				     const struct alertwall_policy *policy)
{
	unsigned int actions = 0;

	state->total++;
	/* a clock that jumped back must not make windows negative */
	if (now < state->last_seen)
		now = state->last_seen;
	state->last_seen = now;

	if (!alertwall_state_is_open(state))
		return alertwall_state_new(state, class, now, policy);

	state->consecutive++;
	state->success_since = 0;
	if (state->status == ALERTWALL_STATUS_OPEN) {
		if (class->retry_window_secs > 0 &&
		    now - state->window_start >= (time_t)class->retry_window_secs) {
			state->window_start = now;
			state->attempts = 1;
		} else {
			state->attempts++;
		}
		/* exactly the attempt that reaches the limit escalates */
		if (state->attempts >= class->retry_limit) {
			actions |= ALERTWALL_ACTION_ESCALATE |
				alertwall_state_permanent(state, class, policy);
			state->last_mailed = now;
			state->reminders = 0;
			state->last_repeat_logged = now;
			return actions;
		}
	} else {
		state->attempts++;
	}

	if (now - state->last_repeat_logged >=
	    (time_t)policy->repeat_log_interval_secs) {
		actions |= ALERTWALL_ACTION_LOG_REPEAT;
		state->last_repeat_logged = now;
	}
	if (alertwall_reminder_due(state, now, policy)) {
		actions |= ALERTWALL_ACTION_REMIND;
		state->last_mailed = now;
		state->reminders++;
	}
	return actions;
}

unsigned int alertwall_state_success(struct alertwall_object_state *state,
				     time_t now,
				     const struct alertwall_policy *policy)
{
	if (now < state->last_success)
		now = state->last_success;
	state->last_success = now;
	state->consecutive = 0;
	/* permanent alerts need someone to act: a success elsewhere does
	   not close them */
	if (state->status != ALERTWALL_STATUS_OPEN)
		return 0;
	if (state->success_since == 0)
		state->success_since = now;
	if (now - state->success_since < (time_t)policy->resolve_hold_secs)
		return 0;
	state->status = ALERTWALL_STATUS_RESOLVED;
	state->attempts = 0;
	state->success_since = 0;
	return ALERTWALL_ACTION_RESOLVE;
}

void alertwall_state_dismiss(struct alertwall_object_state *state, time_t now)
{
	state->status = ALERTWALL_STATUS_DISMISSED;
	state->attempts = 0;
	state->consecutive = 0;
	state->reminders = 0;
	state->success_since = 0;
	state->suspended = FALSE;
	state->last_seen = I_MAX(state->last_seen, now);
}

void alertwall_state_serialize(const struct alertwall_object_state *state,
			       string_t *dest)
{
	str_printfa(dest, "status=%s\tnature=%s\tfirst=%lld\tlast=%lld\t"
		    "window=%lld\tattempts=%u\tconsecutive=%u\ttotal=%u\t"
		    "mailed=%lld\treminders=%u\trepeat_logged=%lld\t"
		    "success_since=%lld\tlast_success=%lld\tsuspended=%d",
		    alertwall_status_name(state->status),
		    alertwall_nature_name(state->nature),
		    (long long)state->first_seen, (long long)state->last_seen,
		    (long long)state->window_start, state->attempts,
		    state->consecutive, state->total,
		    (long long)state->last_mailed, state->reminders,
		    (long long)state->last_repeat_logged,
		    (long long)state->success_since,
		    (long long)state->last_success,
		    state->suspended ? 1 : 0);
}

static int
alertwall_parse_num(const char *value, unsigned long long max,
		    unsigned long long *num_r)
{
	char *end;

	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	*num_r = strtoull(value, &end, 10);
	return errno != 0 || *end != '\0' || *num_r > max ? -1 : 0;
}

int alertwall_state_parse(const char *line,
			  struct alertwall_object_state *state_r,
			  const char **error_r)
{
	struct {
		const char *key;
		void *ptr;
		bool is_time;
	} fields[] = {
		{ "first", &state_r->first_seen, TRUE },
		{ "last", &state_r->last_seen, TRUE },
		{ "window", &state_r->window_start, TRUE },
		{ "attempts", &state_r->attempts, FALSE },
		{ "consecutive", &state_r->consecutive, FALSE },
		{ "total", &state_r->total, FALSE },
		{ "mailed", &state_r->last_mailed, TRUE },
		{ "reminders", &state_r->reminders, FALSE },
		{ "repeat_logged", &state_r->last_repeat_logged, TRUE },
		{ "success_since", &state_r->success_since, TRUE },
		{ "last_success", &state_r->last_success, TRUE },
	};
	const char *const *args, *key, *value, *p;
	unsigned long long num;
	unsigned int i;

	i_zero(state_r);
	for (args = t_strsplit_tabescaped(line); *args != NULL; args++) {
		p = strchr(*args, '=');
		if (p == NULL) {
			*error_r = t_strdup_printf("missing '=' in '%s'", *args);
			return -1;
		}
		key = t_strdup_until(*args, p);
		value = p + 1;
		if (strcmp(key, "status") == 0) {
			if (alertwall_status_parse(value, &state_r->status) < 0) {
				*error_r = t_strdup_printf("bad status '%s'", value);
				return -1;
			}
			continue;
		}
		if (strcmp(key, "nature") == 0) {
			if (alertwall_nature_parse(value, &state_r->nature) < 0) {
				*error_r = t_strdup_printf("bad nature '%s'", value);
				return -1;
			}
			continue;
		}
		if (strcmp(key, "suspended") == 0) {
			state_r->suspended = strcmp(value, "1") == 0;
			continue;
		}
		for (i = 0; i < N_ELEMENTS(fields); i++) {
			if (strcmp(fields[i].key, key) == 0)
				break;
		}
		if (i == N_ELEMENTS(fields))
			continue;
		if (alertwall_parse_num(value, fields[i].is_time ?
					(unsigned long long)INT64_MAX : UINT_MAX,
					&num) < 0) {
			*error_r = t_strdup_printf("bad number in '%s'", *args);
			return -1;
		}
		if (fields[i].is_time)
			*(time_t *)fields[i].ptr = (time_t)num;
		else
			*(unsigned int *)fields[i].ptr = (unsigned int)num;
	}
	return 0;
}

static void alertwall_key_append(string_t *dest, const char *value)
{
	str_append_c(dest, '\t');
	str_append_tabescaped(dest, value == NULL ? "" : value);
}

void alertwall_state_key(const struct alertwall_classification *class,
			 const struct alertwall_failure *failure,
			 const char *profile, string_t *dest)
{
	str_append(dest, class->code);
	switch (class->scope) {
	case ALERTWALL_SCOPE_PROFILE:
	case ALERTWALL_SCOPE_COUNT:
		str_append(dest, "\tprofile");
		alertwall_key_append(dest, profile);
		break;
	case ALERTWALL_SCOPE_MAILBOX:
		str_append(dest, "\tmailbox");
		alertwall_key_append(dest, failure->user);
		break;
	case ALERTWALL_SCOPE_EMAIL:
		str_append(dest, "\temail");
		alertwall_key_append(dest, failure->user);
		alertwall_key_append(dest, failure->mailbox);
		if (failure->message_id != NULL)
			alertwall_key_append(dest, failure->message_id);
		else if (failure->guid != NULL)
			alertwall_key_append(dest, failure->guid);
		else {
			str_append_c(dest, '\t');
			str_printfa(dest, "uid:%u", failure->uid);
		}
		break;
	}
}
