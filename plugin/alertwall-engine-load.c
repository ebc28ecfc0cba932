/* Copyright (c) 2026 alertwall authors */

/* alertwall-engine-load: loads lib_alertwall_engine.so into a mail
   process when it first needs the engine (see alertwall-engine-module.h). */

/* dladdr() needs _GNU_SOURCE, which plugin/Makefile.am defines for the
   plugin */
#include "lib.h"
#include "alertwall-engine-module.h"

#include <dlfcn.h>

static void *engine_handle;
static const struct alertwall_engine_module *engine;
static bool engine_failed;

/* The engine's path: in the "alertwall" directory beside this module, so
   that a mail_plugin_dir of its own (a test's) brings its own engine. */
static const char *alertwall_engine_path(void)
{
	Dl_info info;
	const char *p;

	if (dladdr((void *)alertwall_engine_path, &info) == 0 ||
	    info.dli_fname == NULL ||
	    (p = strrchr(info.dli_fname, '/')) == NULL)
		return ALERTWALL_ENGINE_MODULE_NAME;
	return t_strdup_printf("%s/"ALERTWALL_ENGINE_MODULE_DIR"/"
			       ALERTWALL_ENGINE_MODULE_NAME,
			       t_strdup_until(info.dli_fname, p));
}

static const char *alertwall_engine_open(void)
{
	const char *path = alertwall_engine_path();
	const struct alertwall_engine_module *module;

	engine_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (engine_handle == NULL)
		return t_strdup_printf("dlopen() failed: %s", dlerror());
	module = dlsym(engine_handle, ALERTWALL_ENGINE_MODULE_SYMBOL);
	if (module == NULL) {
		return t_strdup_printf("%s has no %s", path,
				       ALERTWALL_ENGINE_MODULE_SYMBOL);
	}
	if (strcmp(module->abi_version, DOVECOT_ABI_VERSION) != 0) {
		return t_strdup_printf("%s was built for Dovecot %s, "
				       "this is %s", path,
				       module->abi_version,
				       DOVECOT_ABI_VERSION);
	}
	engine = module;
	return NULL;
}

const struct alertwall_engine_module *alertwall_engine_get(void)
{
	const char *error;

	if (engine != NULL || engine_failed)
		return engine;
	T_BEGIN {
		error = alertwall_engine_open();
		if (error != NULL) {
			engine_failed = TRUE;
			i_error("alertwall: Cannot load the alertwall engine: "
				"%s (failures are not alerted by this "
				"process)", error);
		}
	} T_END;
	if (engine == NULL && engine_handle != NULL) {
		(void)dlclose(engine_handle);
		engine_handle = NULL;
	}
	return engine;
}

void alertwall_engine_unload(void)
{
	if (engine != NULL) {
		engine->deinit();
		engine = NULL;
	}
	if (engine_handle != NULL) {
		(void)dlclose(engine_handle);
		engine_handle = NULL;
	}
	engine_failed = FALSE;
}
