#ifndef ALERTWALL_RULES_PRIVATE_H
#define ALERTWALL_RULES_PRIVATE_H

#include "alertwall-rules.h"

/* the shipped rules file, embedded at build time (embed-rules.sh) */
extern const char alertwall_builtin_rules_text[];

#endif
