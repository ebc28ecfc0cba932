/* Copyright (c) 2026 alertwall authors */

/* alertwall-common: name tables for nature, scope, level, source, enum
   mail_error and errno. The rules loader parses names with them; the alert
   writers (sidecar, mail, doveadm) print them. The names are part of the
   rules file and sidecar log formats: never rename one, only add. */

#include "lib.h"
#include "alertwall-common.h"

#include <errno.h>

static const char *const nature_names[ALERTWALL_NATURE_COUNT] = {
	[ALERTWALL_NATURE_TRANSIENT] = "transient",
	[ALERTWALL_NATURE_PERMANENT] = "permanent",
};

static const char *const scope_names[ALERTWALL_SCOPE_COUNT] = {
	[ALERTWALL_SCOPE_EMAIL] = "email",
	[ALERTWALL_SCOPE_MAILBOX] = "mailbox",
	[ALERTWALL_SCOPE_PROFILE] = "profile",
};

static const char *const level_names[ALERTWALL_LEVEL_COUNT] = {
	[ALERTWALL_LEVEL_INFO] = "info",
	[ALERTWALL_LEVEL_WARNING] = "warning",
	[ALERTWALL_LEVEL_ERROR] = "error",
};

static const char *const source_names[ALERTWALL_SOURCE_COUNT] = {
	[ALERTWALL_SOURCE_DELIVERY] = "delivery",
	[ALERTWALL_SOURCE_SYNC] = "sync",
	[ALERTWALL_SOURCE_OPEN] = "open",
	[ALERTWALL_SOURCE_SAVE] = "save",
	[ALERTWALL_SOURCE_COPY] = "copy",
	[ALERTWALL_SOURCE_INDEX] = "index",
	[ALERTWALL_SOURCE_CACHE] = "cache",
	[ALERTWALL_SOURCE_AUTH] = "auth",
	[ALERTWALL_SOURCE_OTHER] = "other",
};

/* in enum mail_error order (mail-error.h); the header's count must follow */
static const char *const mail_error_names[ALERTWALL_MAIL_ERROR_COUNT] = {
	"NONE", "TEMP", "UNAVAILABLE", "NOTPOSSIBLE", "PARAMS", "PERM",
	"NOQUOTA", "NOTFOUND", "EXISTS", "EXPUNGED", "INUSE", "CONVERSION",
	"INVALIDDATA", "LIMIT", "LOOKUP_ABORTED",
};

struct errno_name {
	int value;
	const char *name;
};

/* The first entry of a value is its canonical name; later entries with
   the same value (EWOULDBLOCK, EOPNOTSUPP, EDEADLOCK) are aliases that
   only parse. Each name is guarded: not every system has all of them. */
static const struct errno_name errno_names[] = {
#define ERRNO_NAME(name) { name, #name }
#ifdef EPERM
	ERRNO_NAME(EPERM),
#endif
#ifdef ENOENT
	ERRNO_NAME(ENOENT),
#endif
#ifdef ESRCH
	ERRNO_NAME(ESRCH),
#endif
#ifdef EINTR
	ERRNO_NAME(EINTR),
#endif
#ifdef EIO
	ERRNO_NAME(EIO),
#endif
#ifdef ENXIO
	ERRNO_NAME(ENXIO),
#endif
#ifdef E2BIG
	ERRNO_NAME(E2BIG),
#endif
#ifdef ENOEXEC
	ERRNO_NAME(ENOEXEC),
#endif
#ifdef EBADF
	ERRNO_NAME(EBADF),
#endif
#ifdef ECHILD
	ERRNO_NAME(ECHILD),
#endif
#ifdef EAGAIN
	ERRNO_NAME(EAGAIN),
#endif
#ifdef EWOULDBLOCK
	ERRNO_NAME(EWOULDBLOCK),
#endif
#ifdef ENOMEM
	ERRNO_NAME(ENOMEM),
#endif
#ifdef EACCES
	ERRNO_NAME(EACCES),
#endif
#ifdef EFAULT
	ERRNO_NAME(EFAULT),
#endif
#ifdef EBUSY
	ERRNO_NAME(EBUSY),
#endif
#ifdef EEXIST
	ERRNO_NAME(EEXIST),
#endif
#ifdef EXDEV
	ERRNO_NAME(EXDEV),
#endif
#ifdef ENODEV
	ERRNO_NAME(ENODEV),
#endif
#ifdef ENOTDIR
	ERRNO_NAME(ENOTDIR),
#endif
#ifdef EISDIR
	ERRNO_NAME(EISDIR),
#endif
#ifdef EINVAL
	ERRNO_NAME(EINVAL),
#endif
#ifdef ENFILE
	ERRNO_NAME(ENFILE),
#endif
#ifdef EMFILE
	ERRNO_NAME(EMFILE),
#endif
#ifdef ENOTTY
	ERRNO_NAME(ENOTTY),
#endif
#ifdef ETXTBSY
	ERRNO_NAME(ETXTBSY),
#endif
#ifdef EFBIG
	ERRNO_NAME(EFBIG),
#endif
#ifdef ENOSPC
	ERRNO_NAME(ENOSPC),
#endif
#ifdef ESPIPE
	ERRNO_NAME(ESPIPE),
#endif
#ifdef EROFS
	ERRNO_NAME(EROFS),
#endif
#ifdef EMLINK
	ERRNO_NAME(EMLINK),
#endif
#ifdef EPIPE
	ERRNO_NAME(EPIPE),
#endif
#ifdef EDOM
	ERRNO_NAME(EDOM),
#endif
#ifdef ERANGE
	ERRNO_NAME(ERANGE),
#endif
#ifdef EDEADLK
	ERRNO_NAME(EDEADLK),
#endif
#ifdef EDEADLOCK
	ERRNO_NAME(EDEADLOCK),
#endif
#ifdef ENAMETOOLONG
	ERRNO_NAME(ENAMETOOLONG),
#endif
#ifdef ENOLCK
	ERRNO_NAME(ENOLCK),
#endif
#ifdef ENOSYS
	ERRNO_NAME(ENOSYS),
#endif
#ifdef ENOTEMPTY
	ERRNO_NAME(ENOTEMPTY),
#endif
#ifdef ELOOP
	ERRNO_NAME(ELOOP),
#endif
#ifdef ENOMSG
	ERRNO_NAME(ENOMSG),
#endif
#ifdef EIDRM
	ERRNO_NAME(EIDRM),
#endif
#ifdef ENOSTR
	ERRNO_NAME(ENOSTR),
#endif
#ifdef ENODATA
	ERRNO_NAME(ENODATA),
#endif
#ifdef ETIME
	ERRNO_NAME(ETIME),
#endif
#ifdef ENOSR
	ERRNO_NAME(ENOSR),
#endif
#ifdef ENOLINK
	ERRNO_NAME(ENOLINK),
#endif
#ifdef EPROTO
	ERRNO_NAME(EPROTO),
#endif
#ifdef EBADMSG
	ERRNO_NAME(EBADMSG),
#endif
#ifdef EOVERFLOW
	ERRNO_NAME(EOVERFLOW),
#endif
#ifdef EILSEQ
	ERRNO_NAME(EILSEQ),
#endif
#ifdef EUSERS
	ERRNO_NAME(EUSERS),
#endif
#ifdef ENOTSOCK
	ERRNO_NAME(ENOTSOCK),
#endif
#ifdef EDESTADDRREQ
	ERRNO_NAME(EDESTADDRREQ),
#endif
#ifdef EMSGSIZE
	ERRNO_NAME(EMSGSIZE),
#endif
#ifdef EPROTOTYPE
	ERRNO_NAME(EPROTOTYPE),
#endif
#ifdef ENOPROTOOPT
	ERRNO_NAME(ENOPROTOOPT),
#endif
#ifdef EPROTONOSUPPORT
	ERRNO_NAME(EPROTONOSUPPORT),
#endif
#ifdef ENOTSUP
	ERRNO_NAME(ENOTSUP),
#endif
#ifdef EOPNOTSUPP
	ERRNO_NAME(EOPNOTSUPP),
#endif
#ifdef EAFNOSUPPORT
	ERRNO_NAME(EAFNOSUPPORT),
#endif
#ifdef EADDRINUSE
	ERRNO_NAME(EADDRINUSE),
#endif
#ifdef EADDRNOTAVAIL
	ERRNO_NAME(EADDRNOTAVAIL),
#endif
#ifdef ENETDOWN
	ERRNO_NAME(ENETDOWN),
#endif
#ifdef ENETUNREACH
	ERRNO_NAME(ENETUNREACH),
#endif
#ifdef ENETRESET
	ERRNO_NAME(ENETRESET),
#endif
#ifdef ECONNABORTED
	ERRNO_NAME(ECONNABORTED),
#endif
#ifdef ECONNRESET
	ERRNO_NAME(ECONNRESET),
#endif
#ifdef ENOBUFS
	ERRNO_NAME(ENOBUFS),
#endif
#ifdef EISCONN
	ERRNO_NAME(EISCONN),
#endif
#ifdef ENOTCONN
	ERRNO_NAME(ENOTCONN),
#endif
#ifdef ESHUTDOWN
	ERRNO_NAME(ESHUTDOWN),
#endif
#ifdef ETIMEDOUT
	ERRNO_NAME(ETIMEDOUT),
#endif
#ifdef ECONNREFUSED
	ERRNO_NAME(ECONNREFUSED),
#endif
#ifdef EHOSTDOWN
	ERRNO_NAME(EHOSTDOWN),
#endif
#ifdef EHOSTUNREACH
	ERRNO_NAME(EHOSTUNREACH),
#endif
#ifdef EALREADY
	ERRNO_NAME(EALREADY),
#endif
#ifdef EINPROGRESS
	ERRNO_NAME(EINPROGRESS),
#endif
#ifdef ESTALE
	ERRNO_NAME(ESTALE),
#endif
#ifdef EREMOTEIO
	ERRNO_NAME(EREMOTEIO),
#endif
#ifdef EDQUOT
	ERRNO_NAME(EDQUOT),
#endif
#ifdef ENOMEDIUM
	ERRNO_NAME(ENOMEDIUM),
#endif
#ifdef ECANCELED
	ERRNO_NAME(ECANCELED),
#endif
#ifdef ENOKEY
	ERRNO_NAME(ENOKEY),
#endif
#ifdef EKEYEXPIRED
	ERRNO_NAME(EKEYEXPIRED),
#endif
#ifdef EKEYREVOKED
	ERRNO_NAME(EKEYREVOKED),
#endif
#ifdef EKEYREJECTED
	ERRNO_NAME(EKEYREJECTED),
#endif
#ifdef EOWNERDEAD
	ERRNO_NAME(EOWNERDEAD),
#endif
#ifdef ENOTRECOVERABLE
	ERRNO_NAME(ENOTRECOVERABLE),
#endif
#ifdef EUCLEAN
	ERRNO_NAME(EUCLEAN),
#endif
#ifdef ECOMM
	ERRNO_NAME(ECOMM),
#endif
#undef ERRNO_NAME
};

static const char *
name_lookup(const char *const *names, unsigned int count, unsigned int idx)
{
	return idx < count ? names[idx] : NULL;
}

static int
name_parse(const char *const *names, unsigned int count, const char *name,
	   unsigned int *idx_r)
{
	unsigned int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		if (strcasecmp(names[i], name) == 0) {
			*idx_r = i;
			return 0;
		}
	}
	return -1;
}

const char *alertwall_nature_name(enum alertwall_nature nature)
{
	return name_lookup(nature_names, N_ELEMENTS(nature_names), nature);
}

const char *alertwall_scope_name(enum alertwall_scope scope)
{
	return name_lookup(scope_names, N_ELEMENTS(scope_names), scope);
}

const char *alertwall_level_name(enum alertwall_level level)
{
	return name_lookup(level_names, N_ELEMENTS(level_names), level);
}

const char *alertwall_source_name(enum alertwall_source source)
{
	return name_lookup(source_names, N_ELEMENTS(source_names), source);
}

const char *alertwall_mail_error_name(int mail_error)
{
	if (mail_error < 0)
		return NULL;
	return name_lookup(mail_error_names, N_ELEMENTS(mail_error_names),
			   (unsigned int)mail_error);
}

const char *alertwall_errno_name(int err)
{
	unsigned int i;

	if (err == 0)
		return NULL;
	for (i = 0; i < N_ELEMENTS(errno_names); i++) {
		if (errno_names[i].value == err)
			return errno_names[i].name;
	}
	return NULL;
}

int alertwall_nature_parse(const char *name, enum alertwall_nature *nature_r)
{
	unsigned int idx;

	if (name_parse(nature_names, N_ELEMENTS(nature_names), name, &idx) < 0)
		return -1;
	*nature_r = (enum alertwall_nature)idx;
	return 0;
}

int alertwall_scope_parse(const char *name, enum alertwall_scope *scope_r)
{
	unsigned int idx;

	if (name_parse(scope_names, N_ELEMENTS(scope_names), name, &idx) < 0)
		return -1;
	*scope_r = (enum alertwall_scope)idx;
	return 0;
}

int alertwall_level_parse(const char *name, enum alertwall_level *level_r)
{
	unsigned int idx;

	if (name_parse(level_names, N_ELEMENTS(level_names), name, &idx) < 0)
		return -1;
	*level_r = (enum alertwall_level)idx;
	return 0;
}

int alertwall_source_parse(const char *name, enum alertwall_source *source_r)
{
	unsigned int idx;

	/* userdb lookups fail in the auth source: admins think of them by
	   the setting's name */
	if (name != NULL && strcasecmp(name, "userdb") == 0) {
		*source_r = ALERTWALL_SOURCE_AUTH;
		return 0;
	}
	if (name_parse(source_names, N_ELEMENTS(source_names), name, &idx) < 0)
		return -1;
	*source_r = (enum alertwall_source)idx;
	return 0;
}

int alertwall_mail_error_parse(const char *name, int *mail_error_r)
{
	unsigned int idx;

	if (name != NULL && strncasecmp(name, "MAIL_ERROR_", 11) == 0)
		name += 11;
	if (name_parse(mail_error_names, N_ELEMENTS(mail_error_names),
		       name, &idx) < 0)
		return -1;
	*mail_error_r = (int)idx;
	return 0;
}

int alertwall_errno_parse(const char *name, int *err_r)
{
	unsigned int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < N_ELEMENTS(errno_names); i++) {
		if (strcasecmp(errno_names[i].name, name) == 0) {
			*err_r = errno_names[i].value;
			return 0;
		}
	}
	return -1;
}
