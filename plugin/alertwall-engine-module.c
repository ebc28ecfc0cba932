/* Copyright (c) 2026 alertwall authors */

/* alertwall-engine-module: the entry point of lib_alertwall_engine.so,
   the engine's functions that the mail plugin calls. */

#include "lib.h"
#include "alertwall-rules-private.h"
#include "alertwall-engine-module.h"

static void alertwall_engine_module_deinit(void)
{
	alertwall_engine_deinit();
	alertwall_rules_builtin_deinit();
}

const struct alertwall_engine_module alertwall_engine_module = {
	.abi_version = DOVECOT_ABI_VERSION,
	.failure = alertwall_engine_failure,
	.success = alertwall_engine_success,
	.is_suspended = alertwall_engine_is_suspended,
	.spool_notify = alertwall_spool_notify,
	.deinit = alertwall_engine_module_deinit,
};
