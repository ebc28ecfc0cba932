/* Copyright (c) 2026 alertwall authors */

/* alertwall-store: picks the state backend named by alertwall_state and
   forwards to it. */

#include "lib.h"
#include "alertwall-store.h"

int alertwall_store_init(const char *uri, struct alertwall_store **store_r,
			 const char **error_r)
{
	const char *dir = alertwall_store_uri_file_dir(uri);

	if (dir != NULL)
		return alertwall_store_file_init(dir, store_r, error_r);
	if (str_begins(uri, "redis:"))
		return alertwall_store_redis_init(uri + 6, store_r, error_r);
	*error_r = t_strdup_printf("Unknown state store '%s' "
		"(expected file:DIR or redis:host=HOST:port=PORT)", uri);
	return -1;
}

void alertwall_store_deinit(struct alertwall_store **_store)
{
	struct alertwall_store *store = *_store;

	if (store == NULL)
		return;
	*_store = NULL;
	store->v->deinit(store);
}

int alertwall_store_get(struct alertwall_store *store, const char *key,
			const char **value_r, const char **error_r)
{
	return store->v->get(store, key, value_r, error_r);
}

int alertwall_store_update(struct alertwall_store *store, const char *key,
			   alertwall_store_update_func *func, void *context,
			   const char **error_r)
{
	return store->v->update(store, key, func, context, error_r);
}

int alertwall_store_iterate(struct alertwall_store *store,
			    alertwall_store_iter_func *func, void *context,
			    const char **error_r)
{
	return store->v->iterate(store, func, context, error_r);
}
