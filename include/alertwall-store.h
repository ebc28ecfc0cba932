#ifndef ALERTWALL_STORE_H
#define ALERTWALL_STORE_H

/* alertwall-store: where alert state lives between processes and across
   Dovecot restarts. A store maps keys (printable, may contain tabs) to
   small text values, and its one write operation is an atomic
   read-modify-write, so that two processes failing at once count twice
   and escalate once. Backends: "file:DIR" (the default: one locked file
   per key under DIR, no daemon) and "redis:host=H:port=P[:prefix=S]"
   (several Dovecot servers share one redis; see alertwall-store-redis.c). */

struct alertwall_store;

/* the key of a user's alert index: the keys of the user's open alerts,
   and the suspension, if any */
#define ALERTWALL_STORE_KEY_USER "USER\t"

/* Called with the current value (NULL when the key has none) inside the
   store's lock or transaction. Returns TRUE to write new_value (an empty
   new_value deletes the key), FALSE to leave the value as it is. It may be
   called more than once for one update when a backend retries after a
   concurrent change, so it must not have side effects beyond context. */
typedef bool alertwall_store_update_func(const char *old_value,
					 string_t *new_value, void *context);
/* Called for each key and value by alertwall_store_iterate(). Return FALSE
   to stop. */
typedef bool alertwall_store_iter_func(const char *key, const char *value,
				       void *context);

struct alertwall_store_vfuncs {
	void (*deinit)(struct alertwall_store *store);
	int (*get)(struct alertwall_store *store, const char *key,
		   const char **value_r, const char **error_r);
	int (*update)(struct alertwall_store *store, const char *key,
		      alertwall_store_update_func *func, void *context,
		      const char **error_r);
	int (*iterate)(struct alertwall_store *store,
		       alertwall_store_iter_func *func, void *context,
		       const char **error_r);
};

struct alertwall_store {
	const struct alertwall_store_vfuncs *v;
	char *uri;
};

/* Open the store named by uri ("file:/var/lib/dovecot/alertwall",
   "redis:host=127.0.0.1:port=6379"). A plain path means "file:". Returns 0,
   or -1 with *error_r for a bad URI. Opening does no I/O that can block:
   backends connect on first use. */
int alertwall_store_init(const char *uri, struct alertwall_store **store_r,
			 const char **error_r);
void alertwall_store_deinit(struct alertwall_store **_store);

/* Returns 1 and the value (data stack), 0 when the key has none, -1 on
   error. */
int alertwall_store_get(struct alertwall_store *store, const char *key,
			const char **value_r, const char **error_r);
/* Atomic read-modify-write, see alertwall_store_update_func. Returns 0 or
   -1 on error. */
int alertwall_store_update(struct alertwall_store *store, const char *key,
			   alertwall_store_update_func *func, void *context,
			   const char **error_r);
/* Visit every key. Returns 0, or -1 on error. */
int alertwall_store_iterate(struct alertwall_store *store,
			    alertwall_store_iter_func *func, void *context,
			    const char **error_r);

/* backend constructors, used by alertwall_store_init() */
int alertwall_store_file_init(const char *dir, struct alertwall_store **store_r,
			      const char **error_r);
int alertwall_store_redis_init(const char *args,
			       struct alertwall_store **store_r,
			       const char **error_r);

/* The file store's path of key under dir: DIR/ab/abcdef... (the SHA-1
   of the key in hex, in a subdirectory named by its first byte). */
const char *
alertwall_store_file_key_path(const char *dir, const char *key,
			      const char **subdir_r, const char **name_r);
/* The directory of a file store URI ("file:DIR", or a plain path), or
   NULL for another backend. Not checked: the store refuses a relative
   one. */
const char *alertwall_store_uri_file_dir(const char *uri);
/* FALSE when the store named by uri certainly holds no alert index for
   user: no state is kept, or a file store has no file for it. TRUE when
   it may: the file exists, stat() failed otherwise, or the store is not
   a file store. */
bool alertwall_store_user_maybe_indexed(const char *uri, const char *user);

#endif
