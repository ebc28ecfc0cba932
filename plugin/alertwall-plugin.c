/* Copyright (c) 2026 alertwall authors */

/* alertwall-plugin: the entry point of lib90_alertwall_plugin.so, loaded
   by every mail process (imap, pop3, lmtp, lda, doveadm, indexer-worker).
   It only wires the storage hooks and the event callbacks; the engine is
   a module of its own, loaded on first need (alertwall-engine-module.h). */

#include "lib.h"
#include "alertwall-user.h"
#include "alertwall-storage.h"
#include "alertwall-events.h"
#include "alertwall-plugin.h"

const char *alertwall_plugin_version = DOVECOT_ABI_VERSION;

void alertwall_plugin_init(struct module *module)
{
	alertwall_users_init(module);
	alertwall_storage_init(module);
	alertwall_events_init();
}

void alertwall_plugin_deinit(void)
{
	alertwall_events_deinit();
	alertwall_storage_deinit();
	alertwall_users_deinit();
}
