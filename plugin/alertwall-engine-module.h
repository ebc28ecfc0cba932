#ifndef ALERTWALL_ENGINE_MODULE_H
#define ALERTWALL_ENGINE_MODULE_H

#include "alertwall-engine.h"

/* alertwall-engine-module: the engine as a module of its own,
   lib_alertwall_engine.so in the "alertwall" directory beside the mail
   plugin. The mail plugin loads it when it first needs it
   (alertwall-engine-load.c): most of alertwall's code, and libyaml, are
   then not loaded into a mail process that meets no failure and no user
   with an alert. Dovecot loads mail plugins with RTLD_NOW, so each of
   their symbols costs every process a lookup at start, and a dovecot-lda
   run is a process per message. */

#define ALERTWALL_ENGINE_MODULE_DIR "alertwall"
#define ALERTWALL_ENGINE_MODULE_NAME "lib_alertwall_engine.so"
#define ALERTWALL_ENGINE_MODULE_SYMBOL "alertwall_engine_module"

struct alertwall_engine_module {
	/* the DOVECOT_ABI_VERSION it was built for */
	const char *abi_version;

	void (*failure)(const struct alertwall_engine_settings *set,
			const struct alertwall_failure *failure,
			const struct alertwall_profile_subject *subject,
			const char *orig_headers);
	void (*success)(const struct alertwall_engine_settings *set,
			const char *user);
	bool (*is_suspended)(const struct alertwall_engine_settings *set,
			     const char *user, const char **reason_r,
			     bool *indexed_r);
	void (*spool_notify)(const struct alertwall_spool_settings *set);
	void (*deinit)(void);
};

extern const struct alertwall_engine_module alertwall_engine_module;

/* The engine, loaded by the first call. Returns NULL when it cannot be
   loaded: the first call logs why, and failures are then only logged by
   Dovecot, never alerted; mail is not affected. */
const struct alertwall_engine_module *alertwall_engine_get(void);
/* Deinitialize and unload the engine if it was loaded. */
void alertwall_engine_unload(void);

#endif
