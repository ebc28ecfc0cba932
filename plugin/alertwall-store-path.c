/* Copyright (c) 2026 alertwall authors */

/* alertwall-store-path: where the file store keeps a key, and which
   state URIs name it. The mail plugin
   uses it without the engine to tell that a user has no alert at all, the
   common case of every delivery, without loading the engine module. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "sha1.h"
#include "alertwall-store.h"

#include <sys/stat.h>

const char *
alertwall_store_file_key_path(const char *dir, const char *key,
			      const char **subdir_r, const char **name_r)
{
	unsigned char digest[SHA1_RESULTLEN];
	size_t dir_len = strlen(dir);
	const char *path;
	string_t *str;

	/* one buffer for DIR/ab/abcdef...: the success path looks up a
	   path per delivery, and two printf calls were a third of its
	   instructions */
	sha1_get_digest(key, strlen(key), digest);
	str = t_str_new(dir_len + 5 + SHA1_RESULTLEN * 2);
	str_append_data(str, dir, dir_len);
	str_append_c(str, '/');
	binary_to_hex_append(str, digest, 1);
	*subdir_r = t_strdup_until(str_data(str), str_data(str) + str_len(str));
	str_append_c(str, '/');
	binary_to_hex_append(str, digest, sizeof(digest));
	path = str_c(str);
	*name_r = path + str_len(str) - SHA1_RESULTLEN * 2;
	return path;
}

const char *alertwall_store_uri_file_dir(const char *uri)
{
	if (str_begins(uri, "file:"))
		return uri + 5;
	if (*uri == '/')
		return uri;
	return NULL;
}

bool alertwall_store_user_maybe_indexed(const char *uri, const char *user)
{
	const char *dir, *subdir, *name;
	struct stat st;

	if (*uri == '\0')
		return FALSE;
	dir = alertwall_store_uri_file_dir(uri);
	/* another backend, or a relative dir the store refuses (and logs) */
	if (dir == NULL || *dir != '/')
		return TRUE;
	if (stat(alertwall_store_file_key_path(dir,
			t_strconcat(ALERTWALL_STORE_KEY_USER, user, NULL),
			&subdir, &name), &st) < 0 && errno == ENOENT)
		return FALSE;
	return TRUE;
}
