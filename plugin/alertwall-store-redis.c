/* Copyright (c) 2026 alertwall authors */

/* alertwall-store-redis: placeholder until the redis backend lands. */

#include "lib.h"
#include "alertwall-store.h"

int alertwall_store_redis_init(const char *args ATTR_UNUSED,
			       struct alertwall_store **store_r ATTR_UNUSED,
			       const char **error_r)
{
	*error_r = "redis state store is not available in this build";
	return -1;
}
