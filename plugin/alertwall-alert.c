/* Copyright (c) 2026 alertwall authors */

/* alertwall-alert: the alert model. Builds an alert from a classified
   failure and hands out alert ids. Called by the plugin adapters when a
   failure is caught and by doveadm when an admin acts on a mailbox. */

#include "lib.h"
#include "str.h"
#include "randgen.h"
#include "alertwall-alert.h"

#include <unistd.h>

/* 26 base32 digits: 11 for the time in microseconds (55 bits, good until
   the year 3111), 5 for the pid, 4 for a per-process counter, 6 random */
#define ID_TIME_DIGITS 11
#define ID_PID_DIGITS 5
#define ID_COUNTER_DIGITS 4
#define ID_RANDOM_DIGITS 6
#define ID_LEN (ID_TIME_DIGITS + ID_PID_DIGITS + ID_COUNTER_DIGITS + \
		ID_RANDOM_DIGITS)

/* digits sort before letters in ASCII, so ids sort like their numbers */
static const char id_digits[32] = "0123456789abcdefghijklmnopqrstuv";

static const char *const event_names[ALERTWALL_EVENT_COUNT] = {
	[ALERTWALL_EVENT_RAISED] = "raised",
	[ALERTWALL_EVENT_REPEATED] = "repeated",
	[ALERTWALL_EVENT_ESCALATED] = "escalated",
	[ALERTWALL_EVENT_RESOLVED] = "resolved",
	[ALERTWALL_EVENT_DISMISSED] = "dismissed",
	[ALERTWALL_EVENT_SUSPENDED] = "suspended",
	[ALERTWALL_EVENT_ENABLED] = "enabled",
};

static pid_t id_pid;
static uint32_t id_counter;

const char *alertwall_event_name(enum alertwall_event event)
{
	if ((unsigned int)event >= N_ELEMENTS(event_names))
		return NULL;
	return event_names[event];
}

static void
id_append_base32(string_t *dest, unsigned long long value, unsigned int digits)
{
	char buf[16];
	unsigned int i;

	i_assert(digits <= sizeof(buf));
	/* fixed width, most significant digit first; higher bits dropped */
	for (i = digits; i > 0; i--) {
		buf[i - 1] = id_digits[value & 31];
		value >>= 5;
	}
	str_append_data(dest, buf, digits);
}

void alertwall_alert_id_generate(long long time_usecs, string_t *dest)
{
	uint32_t rnd;
	pid_t pid = getpid();

	if (id_pid != pid) {
		/* first use or a forked child: the counter starts at a
		   random point so that a reused pid does not repeat ids */
		id_pid = pid;
		random_fill(&id_counter, sizeof(id_counter));
	}
	id_counter++;
	random_fill(&rnd, sizeof(rnd));

	if (time_usecs < 0)
		time_usecs = 0;
	id_append_base32(dest, (unsigned long long)time_usecs, ID_TIME_DIGITS);
	id_append_base32(dest, (unsigned long long)pid, ID_PID_DIGITS);
	id_append_base32(dest, id_counter, ID_COUNTER_DIGITS);
	id_append_base32(dest, rnd, ID_RANDOM_DIGITS);
}

void alertwall_alert_init(struct alertwall_alert *alert_r, pool_t pool,
			  const struct alertwall_failure *failure,
			  const struct alertwall_classification *class,
			  const struct alertwall_profile *profile,
			  long long time_usecs)
{
	const char *profile_name = NULL;
	string_t *str;

	i_zero(alert_r);
	if (profile != NULL)
		profile_name = alertwall_profile_get_name(profile);

	str = str_new(pool, ID_LEN + 1);
	alertwall_alert_id_generate(time_usecs, str);
	alert_r->id = str_c(str);
	alert_r->time_usecs = time_usecs;
	alert_r->event = ALERTWALL_EVENT_RAISED;

	alert_r->code = class->code;
	alert_r->nature = class->nature;
	alert_r->level = class->level;
	alert_r->scope = class->scope;
	alert_r->action = class->action;

	if (class->summary_template != NULL) T_BEGIN {
		str = t_str_new(128);
		alertwall_classification_summary(class, failure, profile_name,
						 str);
		alert_r->summary = p_strdup(pool, str_c(str));
	} T_END;

	alert_r->profile = profile_name;
	if (profile != NULL) {
		alert_r->profile_owner = alertwall_profile_get_owner(profile);
		alert_r->notify_mailbox_owners =
			alertwall_profile_notify_mailbox_owners(profile);
		alert_r->profile_alarm_mailboxes =
			alertwall_profile_alarm_mailboxes(profile);
	} else {
		alert_r->profile_owner = "";
	}
	alert_r->failure = *failure;
}
