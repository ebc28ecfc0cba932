#ifndef ALERTWALL_SETTINGS_H
#define ALERTWALL_SETTINGS_H

#include "alertwall-engine.h"

/* alertwall-settings: the plugin {} setting names and how they fill the
   engine's settings. The mail plugin reads them per user
   (mail_user_plugin_getenv), the doveadm module from doveadm's global
   plugin {} or, in its mail commands, per user too: one function, so that
   both see the same names with the same defaults. */

#define ALERTWALL_SETTING_ENABLE "alertwall"
#define ALERTWALL_SETTING_RULES "alertwall_rules"
#define ALERTWALL_SETTING_LOG "alertwall_log"
#define ALERTWALL_SETTING_ADMIN "alertwall_admin"
#define ALERTWALL_SETTING_STATE "alertwall_state"
#define ALERTWALL_SETTING_SPOOL "alertwall_spool"
#define ALERTWALL_SETTING_FROM "alertwall_from"
#define ALERTWALL_SETTING_MUTE "alertwall_mute"
#define ALERTWALL_SETTING_NOTIFY_SOCKET "alertwall_notify_socket"
#define ALERTWALL_SETTING_SUSPEND "alertwall_suspend"
#define ALERTWALL_SETTING_RESOLVE_HOLD "alertwall_resolve_hold"
#define ALERTWALL_SETTING_REPEAT_LOG_INTERVAL "alertwall_repeat_log_interval"
#define ALERTWALL_SETTING_CORRELATE_MAILBOXES "alertwall_correlate_mailboxes"
#define ALERTWALL_SETTING_CORRELATE_WINDOW "alertwall_correlate_window"
#define ALERTWALL_SETTING_IGNORE_MAIL_ERRORS "alertwall_ignore_mail_errors"

/* Returns the value of a plugin {} setting, or NULL when it is unset. */
typedef const char *
alertwall_settings_getenv_func(const char *name, void *context);

/* Fill set_r from the settings that getenv_func returns. An unset or
   empty setting keeps the engine's default, except alertwall_state, which
   may be set to "" to keep no state. base_dir is where a relative
   alertwall_notify_socket lives. A bad time or number is logged and its
   default used. The strings are borrowed from getenv_func's answers. */
void alertwall_settings_fill(struct alertwall_engine_settings *set_r,
			     alertwall_settings_getenv_func *getenv_func,
			     void *context, const char *base_dir);

/* Returns the setting as a boolean: "yes", "true" (any case) and "1" are
   TRUE, any other value FALSE, and unset or empty default_value. */
bool alertwall_settings_get_bool(alertwall_settings_getenv_func *getenv_func,
				 void *context, const char *name,
				 bool default_value);

#endif
