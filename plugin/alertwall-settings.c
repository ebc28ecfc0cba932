/* Copyright (c) 2026 alertwall authors */

/* alertwall-settings: the engine settings' defaults, and plugin {}
   settings to engine settings. Called by the mail plugin for each user
   (alertwall-user.c) and by the doveadm module; it only knows a getenv
   callback, so it has no storage dependency. */

#include "lib.h"
#include "settings-parser.h"
#include "alertwall-settings.h"

static const unsigned int alertwall_default_reminders[] = {
	4 * 3600, 8 * 3600, 24 * 3600
};

const struct alertwall_policy alertwall_policy_default = {
	.repeat_log_interval_secs = 60,
	.resolve_hold_secs = 300,
	.reminder_secs = alertwall_default_reminders,
	.reminder_count = N_ELEMENTS(alertwall_default_reminders),
	.suspend = TRUE,
};

void alertwall_engine_settings_init(struct alertwall_engine_settings *set_r)
{
	i_zero(set_r);
	set_r->rules_path = "/etc/dovecot/alertwall.yaml";
	set_r->log_path = "/var/log/dovecot/alertwall.jsonl";
	set_r->state_uri = "file:/var/lib/dovecot/alertwall";
	set_r->spool.spool_dir = "/var/spool/alertwall";
	set_r->spool.admin = "postmaster";
	set_r->spool.folder_prefix = "";
	set_r->spool.folder_sep = '/';
	set_r->spool.notify_socket = "alertwall-deliver";
	set_r->policy = alertwall_policy_default;
	set_r->correlate_mailboxes = 10;
	set_r->correlate_window_secs = 3600;
}

struct alertwall_settings_reader {
	alertwall_settings_getenv_func *getenv_func;
	void *context;
};

static const char *
alertwall_settings_str(const struct alertwall_settings_reader *reader,
		       const char *name, const char *default_value)
{
	const char *value = reader->getenv_func(name, reader->context);

	return value == NULL || *value == '\0' ? default_value : value;
}

static unsigned int
alertwall_settings_secs(const struct alertwall_settings_reader *reader,
			const char *name, unsigned int default_value)
{
	const char *value = reader->getenv_func(name, reader->context);
	const char *error;
	unsigned int secs;

	if (value == NULL || *value == '\0')
		return default_value;
	if (settings_get_time(value, &secs, &error) < 0) {
		i_error("alertwall: %s: %s (using %u s)", name, error,
			default_value);
		return default_value;
	}
	return secs;
}

static unsigned int
alertwall_settings_uint(const struct alertwall_settings_reader *reader,
			const char *name, unsigned int default_value)
{
	const char *value = reader->getenv_func(name, reader->context);
	unsigned int num;

	if (value == NULL || *value == '\0')
		return default_value;
	if (str_to_uint(value, &num) < 0) {
		i_error("alertwall: %s: '%s' is not a number (using %u)",
			name, value, default_value);
		return default_value;
	}
	return num;
}

bool alertwall_settings_get_bool(alertwall_settings_getenv_func *getenv_func,
				 void *context, const char *name,
				 bool default_value)
{
	const char *value = getenv_func(name, context);

	if (value == NULL || *value == '\0')
		return default_value;
	return strcasecmp(value, "yes") == 0 || strcmp(value, "1") == 0 ||
		strcasecmp(value, "true") == 0;
}

void alertwall_settings_fill(struct alertwall_engine_settings *set_r,
			     alertwall_settings_getenv_func *getenv_func,
			     void *context, const char *base_dir)
{
	const struct alertwall_settings_reader reader = {
		.getenv_func = getenv_func,
		.context = context,
	};
	const char *state;

	alertwall_engine_settings_init(set_r);
	set_r->rules_path = alertwall_settings_str(&reader,
		ALERTWALL_SETTING_RULES, set_r->rules_path);
	set_r->log_path = alertwall_settings_str(&reader,
		ALERTWALL_SETTING_LOG, set_r->log_path);
	/* the state store's URI may be set to "" to keep no state */
	state = getenv_func(ALERTWALL_SETTING_STATE, context);
	if (state != NULL)
		set_r->state_uri = state;
	set_r->spool.spool_dir = alertwall_settings_str(&reader,
		ALERTWALL_SETTING_SPOOL, set_r->spool.spool_dir);
	set_r->spool.admin = alertwall_settings_str(&reader,
		ALERTWALL_SETTING_ADMIN, set_r->spool.admin);
	set_r->spool.from = alertwall_settings_str(&reader,
		ALERTWALL_SETTING_FROM, NULL);
	set_r->spool.notify_socket = alertwall_settings_str(&reader,
		ALERTWALL_SETTING_NOTIFY_SOCKET, set_r->spool.notify_socket);
	set_r->spool.base_dir = base_dir;
	set_r->mute = alertwall_settings_get_bool(getenv_func, context,
		ALERTWALL_SETTING_MUTE, FALSE);
	set_r->policy.suspend = alertwall_settings_get_bool(getenv_func,
		context, ALERTWALL_SETTING_SUSPEND, set_r->policy.suspend);
	set_r->policy.resolve_hold_secs = alertwall_settings_secs(&reader,
		ALERTWALL_SETTING_RESOLVE_HOLD,
		set_r->policy.resolve_hold_secs);
	set_r->correlate_mailboxes = alertwall_settings_uint(&reader,
		ALERTWALL_SETTING_CORRELATE_MAILBOXES,
		set_r->correlate_mailboxes);
	set_r->correlate_window_secs = alertwall_settings_secs(&reader,
		ALERTWALL_SETTING_CORRELATE_WINDOW,
		set_r->correlate_window_secs);
	set_r->policy.repeat_log_interval_secs = alertwall_settings_secs(&reader,
		ALERTWALL_SETTING_REPEAT_LOG_INTERVAL,
		set_r->policy.repeat_log_interval_secs);
}
