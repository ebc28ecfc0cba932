#ifndef ALERTWALL_PLUGIN_H
#define ALERTWALL_PLUGIN_H

struct module;

extern const char *alertwall_plugin_version;

void alertwall_plugin_init(struct module *module);
void alertwall_plugin_deinit(void);

#endif
