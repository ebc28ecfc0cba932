/* Copyright (c) 2026 alertwall authors */

/* alertwall-store-redis: the shared state backend, for several Dovecot
   servers that alert about one user population. Called through
   alertwall-store.c for alertwall_state = redis:ARGS.

   It speaks RESP2 itself instead of using lib-dict: an update needs
   compare-and-set, which lib-dict cannot express. An update WATCHes the
   key, GETs it, lets the caller compute the new value and writes it with
   MULTI/SET/EXEC; when another process changed the key in between, EXEC
   returns nil and the update starts over. So two processes failing at once
   count twice and escalate once.

   Each key is stored as the redis string PREFIX + hex SHA-1 of the key,
   holding the tab-escaped key, a newline and the value, so that iterate
   can return the original key and a hash collision is detected.

   All I/O is blocking with one deadline per operation (poll()), so a dead
   or hung redis costs a mail process at most timeout_msecs per get or
   update; iterate, used by doveadm, has that deadline per round trip. The
   connection is opened on first use and reopened once when it broke. Any
   error or timeout closes it: a late reply must never be taken for the
   answer to a later command. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "hash.h"
#include "hex-binary.h"
#include "sha1.h"
#include "strescape.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "net.h"
#include "fd-util.h"
#include "sleep.h"
#include "alertwall-store.h"

#include <stdarg.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define REDIS_DEFAULT_HOST "127.0.0.1"
#define REDIS_DEFAULT_PORT 6379
#define REDIS_DEFAULT_PREFIX "alertwall:"
#define REDIS_DEFAULT_TIMEOUT_MSECS 500
#define REDIS_MAX_TIMEOUT_MSECS 600000

/* how often an update starts over after a concurrent change before it
   gives up; each try is a few round trips within the one deadline */
#define REDIS_UPDATE_MAX_TRIES 50
/* alert state values are small: anything larger is damage or an attack */
#define REDIS_MAX_BULK_SIZE (1024 * 1024)
/* status, error and length lines */
#define REDIS_MAX_LINE_SIZE (64 * 1024)
/* SCAN returns about COUNT keys; nothing we send asks for more */
#define REDIS_MAX_ARRAY_COUNT 65536
/* our replies nest at most two deep (SCAN: [cursor, [keys]]) */
#define REDIS_MAX_DEPTH 3
/* unparsed input, including pipelined replies read ahead */
#define REDIS_MAX_INPUT_SIZE (16 * 1024 * 1024)
#define REDIS_SCAN_COUNT "1000"
#define REDIS_READ_SIZE 4096

enum redis_reply_type {
	REDIS_REPLY_STATUS,
	REDIS_REPLY_ERROR,
	REDIS_REPLY_INTEGER,
	REDIS_REPLY_BULK,
	REDIS_REPLY_NIL,
	REDIS_REPLY_ARRAY,
};

static const char *const redis_reply_type_names[] = {
	"status", "error", "integer", "bulk string", "nil", "array"
};

/* one parsed reply, in the data stack */
struct redis_reply {
	enum redis_reply_type type;
	/* status, error or bulk text, NUL-terminated; len is the bulk's
	   length (a bulk may contain NULs) */
	const char *str;
	size_t len;
	long long integer;
	struct redis_reply *elements;
	unsigned int count;
};

struct alertwall_store_redis {
	struct alertwall_store store;

	struct ip_addr ip;
	in_port_t port;
	/* unix socket instead of ip:port, or NULL */
	char *socket_path;
	char *prefix;
	unsigned int timeout_msecs;
	unsigned int db;
	/* ip:port or socket path, for errors */
	char *name;

	int fd;
	buffer_t *input;
	size_t input_pos;
	/* CLOCK_MONOTONIC msecs at which the current operation gives up */
	long long deadline;
	/* the server closed or reset the connection: a new connection may
	   succeed where this one failed */
	bool conn_lost;
	/* EXEC was sent: if its reply is lost, the update may have been
	   applied and must not be repeated */
	bool committing;
};

static const char *const redis_arg_names[] = {
	"host", "port", "socket", "prefix", "timeout_msecs", "db"
};

static long long redis_now_msecs(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void redis_set_deadline(struct alertwall_store_redis *r)
{
	r->deadline = redis_now_msecs() + r->timeout_msecs;
}

static void ATTR_FORMAT(3, 4)
redis_error(struct alertwall_store_redis *r, const char **error_r,
	    const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	*error_r = t_strdup_printf("redis %s: %s", r->name,
				   t_strdup_vprintf(fmt, args));
	va_end(args);
}

static void redis_disconnect(struct alertwall_store_redis *r)
{
	if (r->fd != -1)
		i_close_fd(&r->fd);
	buffer_set_used_size(r->input, 0);
	r->input_pos = 0;
}

/* the stream can no longer be trusted to line up replies with commands */
static void ATTR_FORMAT(3, 4)
redis_protocol_error(struct alertwall_store_redis *r, const char **error_r,
		     const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	*error_r = t_strdup_printf("redis %s: protocol error: %s", r->name,
				   t_strdup_vprintf(fmt, args));
	va_end(args);
	redis_disconnect(r);
}

/* Wait until fd is ready for events or the deadline passes. Returns 0, or
   -1 with the connection closed. */
static int
redis_wait(struct alertwall_store_redis *r, short events, const char *what,
	   const char **error_r)
{
	struct pollfd pfd;
	long long left;
	int ret;

	for (;;) {
		left = r->deadline - redis_now_msecs();
		if (left <= 0) {
			redis_error(r, error_r, "Timeout after %u ms %s",
				    r->timeout_msecs, what);
			redis_disconnect(r);
			return -1;
		}
		i_zero(&pfd);
		pfd.fd = r->fd;
		pfd.events = events;
		ret = poll(&pfd, 1, (int)left);
		/* errors and hangups show up in the following read/write */
		if (ret > 0)
			return 0;
		if (ret < 0 && errno != EINTR) {
			redis_error(r, error_r, "poll() failed: %m");
			redis_disconnect(r);
			return -1;
		}
	}
}

static bool redis_errno_is_lost(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ENOTCONN ||
		err == ECONNABORTED;
}

static int redis_send(struct alertwall_store_redis *r, const string_t *cmd,
		      const char **error_r)
{
	const unsigned char *data = str_data(cmd);
	size_t left = str_len(cmd);
	ssize_t ret;

	while (left > 0) {
		/* MSG_NOSIGNAL: a closed connection must not SIGPIPE the
		   mail process */
		ret = send(r->fd, data, left, MSG_NOSIGNAL);
		if (ret > 0) {
			data += ret;
			left -= ret;
		} else if (ret < 0 && errno == EINTR) {
			continue;
		} else if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (redis_wait(r, POLLOUT, "sending", error_r) < 0)
				return -1;
		} else {
			if (redis_errno_is_lost(errno))
				r->conn_lost = TRUE;
			redis_error(r, error_r, "send() failed: %m");
			redis_disconnect(r);
			return -1;
		}
	}
	return 0;
}

/* Read whatever the server has sent, at least one byte. Returns 0, or -1
   with the connection closed. */
static int redis_read_more(struct alertwall_store_redis *r,
			   const char **error_r)
{
	size_t old_used = r->input->used;
	unsigned char *data;
	ssize_t ret;

	if (old_used >= REDIS_MAX_INPUT_SIZE) {
		redis_protocol_error(r, error_r, "reply larger than %u bytes",
				     REDIS_MAX_INPUT_SIZE);
		return -1;
	}
	for (;;) {
		data = buffer_append_space_unsafe(r->input, REDIS_READ_SIZE);
		ret = recv(r->fd, data, REDIS_READ_SIZE, 0);
		buffer_set_used_size(r->input, old_used + (ret > 0 ? ret : 0));
		if (ret > 0)
			return 0;
		if (ret == 0) {
			r->conn_lost = TRUE;
			redis_error(r, error_r, "Connection closed by server");
			redis_disconnect(r);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (redis_wait(r, POLLIN, "waiting for reply",
				       error_r) < 0)
				return -1;
			continue;
		}
		if (redis_errno_is_lost(errno))
			r->conn_lost = TRUE;
		redis_error(r, error_r, "recv() failed: %m");
		redis_disconnect(r);
		return -1;
	}
}

/* Read one CRLF-terminated line, without the CRLF. */
static int redis_read_line(struct alertwall_store_redis *r,
			   const char **line_r, const char **error_r)
{
	const unsigned char *data, *lf;
	size_t scanned = r->input_pos, end;

	for (;;) {
		data = r->input->data;
		lf = memchr(data + scanned, '\n', r->input->used - scanned);
		if (lf != NULL) {
			end = lf - data;
			if (end == r->input_pos || data[end - 1] != '\r') {
				redis_protocol_error(r, error_r,
					"reply line not terminated by CRLF");
				return -1;
			}
			*line_r = t_strndup(data + r->input_pos,
					    end - 1 - r->input_pos);
			r->input_pos = end + 1;
			return 0;
		}
		scanned = r->input->used;
		if (scanned - r->input_pos > REDIS_MAX_LINE_SIZE) {
			redis_protocol_error(r, error_r,
				"reply line longer than %u bytes",
				REDIS_MAX_LINE_SIZE);
			return -1;
		}
		if (redis_read_more(r, error_r) < 0)
			return -1;
	}
}

static int redis_read_bulk(struct alertwall_store_redis *r, size_t len,
			   struct redis_reply *reply, const char **error_r)
{
	const unsigned char *data;
	char *str;

	while (r->input->used - r->input_pos < len + 2) {
		if (redis_read_more(r, error_r) < 0)
			return -1;
	}
	data = CONST_PTR_OFFSET(r->input->data, r->input_pos);
	if (data[len] != '\r' || data[len + 1] != '\n') {
		redis_protocol_error(r, error_r,
			"bulk string not terminated by CRLF");
		return -1;
	}
	str = t_malloc_no0(len + 1);
	memcpy(str, data, len);
	str[len] = '\0';
	reply->type = REDIS_REPLY_BULK;
	reply->str = str;
	reply->len = len;
	r->input_pos += len + 2;
	return 0;
}

static int redis_read_reply_at(struct alertwall_store_redis *r,
			       unsigned int depth, struct redis_reply *reply,
			       const char **error_r)
{
	const char *line;
	long long num;
	unsigned int i;

	i_zero(reply);
	if (redis_read_line(r, &line, error_r) < 0)
		return -1;
	switch (line[0]) {
	case '+':
		reply->type = REDIS_REPLY_STATUS;
		reply->str = line + 1;
		reply->len = strlen(reply->str);
		return 0;
	case '-':
		/* error texts end up in logs */
		reply->type = REDIS_REPLY_ERROR;
		reply->str = str_sanitize(line + 1, 512);
		reply->len = strlen(reply->str);
		return 0;
	case ':':
		if (str_to_llong(line + 1, &reply->integer) < 0)
			break;
		reply->type = REDIS_REPLY_INTEGER;
		return 0;
	case '$':
		if (str_to_llong(line + 1, &num) < 0 || num < -1)
			break;
		if (num == -1) {
			reply->type = REDIS_REPLY_NIL;
			return 0;
		}
		if (num > REDIS_MAX_BULK_SIZE) {
			redis_protocol_error(r, error_r,
				"bulk string of %lld bytes exceeds the "
				"limit of %u", num, REDIS_MAX_BULK_SIZE);
			return -1;
		}
		return redis_read_bulk(r, (size_t)num, reply, error_r);
	case '*':
		if (str_to_llong(line + 1, &num) < 0 || num < -1)
			break;
		if (num == -1) {
			reply->type = REDIS_REPLY_NIL;
			return 0;
		}
		if (depth >= REDIS_MAX_DEPTH) {
			redis_protocol_error(r, error_r,
				"arrays nested deeper than %u",
				REDIS_MAX_DEPTH);
			return -1;
		}
		if (num > REDIS_MAX_ARRAY_COUNT) {
			redis_protocol_error(r, error_r,
				"array of %lld elements exceeds the limit "
				"of %u", num, REDIS_MAX_ARRAY_COUNT);
			return -1;
		}
		reply->type = REDIS_REPLY_ARRAY;
		reply->count = (unsigned int)num;
		reply->elements = t_new(struct redis_reply, reply->count);
		for (i = 0; i < reply->count; i++) {
			if (redis_read_reply_at(r, depth + 1,
						&reply->elements[i],
						error_r) < 0)
				return -1;
		}
		return 0;
	default:
		break;
	}
	redis_protocol_error(r, error_r, "unexpected reply line '%s'",
			     str_sanitize(line, 80));
	return -1;
}

/* Read one top-level reply. Returns 0, or -1 with the connection closed. */
static int redis_read_reply(struct alertwall_store_redis *r,
			    struct redis_reply *reply_r, const char **error_r)
{
	/* drop the replies already parsed; the parsed ones were copied */
	buffer_delete(r->input, 0, r->input_pos);
	r->input_pos = 0;
	return redis_read_reply_at(r, 0, reply_r, error_r);
}

/* Append one command as a RESP array of bulk strings. */
static void ATTR_SENTINEL
redis_append_cmd(string_t *cmd, const char *arg, ...)
{
	const char *argv[8];
	unsigned int argc = 0, i;
	va_list args;

	va_start(args, arg);
	/* va_start() is right above: the analyzer loses it on the loop's
	   second turn */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	for (; arg != NULL; arg = va_arg(args, const char *)) {
		i_assert(argc < N_ELEMENTS(argv));
		argv[argc++] = arg;
	}
	va_end(args);

	str_printfa(cmd, "*%u\r\n", argc);
	for (i = 0; i < argc; i++) {
		str_printfa(cmd, "$%zu\r\n", strlen(argv[i]));
		str_append(cmd, argv[i]);
		str_append(cmd, "\r\n");
	}
}

/* Send cmd, which holds count commands, and read their replies. */
static int
redis_query(struct alertwall_store_redis *r, const string_t *cmd,
	    struct redis_reply *replies, unsigned int count,
	    const char **error_r)
{
	unsigned int i;

	if (redis_send(r, cmd, error_r) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (redis_read_reply(r, &replies[i], error_r) < 0)
			return -1;
	}
	return 0;
}

/* Check that a reply is +OK (or another expected status). */
static int
redis_expect_status(struct alertwall_store_redis *r,
		    const struct redis_reply *reply, const char *status,
		    const char *what, const char **error_r)
{
	if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, status) == 0)
		return 0;
	if (reply->type == REDIS_REPLY_ERROR)
		redis_error(r, error_r, "%s failed: %s", what, reply->str);
	else
		redis_error(r, error_r, "%s: unexpected %s reply",
			    what, redis_reply_type_names[reply->type]);
	return -1;
}

static int redis_connect(struct alertwall_store_redis *r, const char **error_r)
{
	struct redis_reply reply;
	string_t *cmd;
	int fd, err;

	i_assert(r->fd == -1);

	if (r->socket_path != NULL)
		fd = net_connect_unix(r->socket_path);
	else
		fd = net_connect_ip(&r->ip, r->port, NULL);
	if (fd == -1) {
		redis_error(r, error_r, "connect() failed: %m");
		return -1;
	}
	fd_close_on_exec(fd, TRUE);
	r->fd = fd;
	if (redis_wait(r, POLLOUT, "connecting", error_r) < 0)
		return -1;
	err = net_geterror(fd);
	if (err != 0) {
		errno = err;
		redis_error(r, error_r, "connect() failed: %m");
		redis_disconnect(r);
		return -1;
	}
	if (r->socket_path == NULL)
		(void)net_set_tcp_nodelay(fd, TRUE);

	if (r->db != 0) {
		cmd = t_str_new(64);
		redis_append_cmd(cmd, "SELECT", dec2str(r->db), NULL);
		if (redis_query(r, cmd, &reply, 1, error_r) < 0)
			return -1;
		if (redis_expect_status(r, &reply, "OK", "SELECT", error_r) < 0) {
			redis_disconnect(r);
			return -1;
		}
	}
	return 0;
}

/* Start one attempt of an operation: connect unless connected. *reused_r
   tells whether the connection was already open, and so may have been
   closed by the server since. */
static int
redis_attempt_begin(struct alertwall_store_redis *r, bool *reused_r,
		    const char **error_r)
{
	r->conn_lost = FALSE;
	r->committing = FALSE;
	*reused_r = r->fd != -1;
	if (r->fd != -1)
		return 0;
	return redis_connect(r, error_r);
}

/* After a failed attempt: whether to reconnect and try once more. Only a
   connection that was open before and then found broken qualifies, and
   only when nothing may have been written. */
static bool redis_attempt_retry(struct alertwall_store_redis *r, bool reused,
				unsigned int *attempts)
{
	if (!reused || !r->conn_lost || r->committing || *attempts > 0)
		return FALSE;
	(*attempts)++;
	redis_disconnect(r);
	return TRUE;
}

static const char *
redis_key_name(struct alertwall_store_redis *r, const char *key)
{
	unsigned char digest[SHA1_RESULTLEN];

	sha1_get_digest(key, strlen(key), digest);
	return t_strconcat(r->prefix, binary_to_hex(digest, sizeof(digest)),
			   NULL);
}

/* Split a stored value into its key and value. Returns 0, or -1 when it
   has no key line. */
static int
redis_parse_stored(const struct redis_reply *reply, const char **key_r,
		   const char **value_r)
{
	const char *p;

	/* a NUL inside would cut the value short silently */
	if (strlen(reply->str) != reply->len)
		return -1;
	p = strchr(reply->str, '\n');
	if (p == NULL)
		return -1;
	*key_r = t_str_tabunescape(t_strdup_until(reply->str, p));
	*value_r = p + 1;
	return 0;
}

/* Interpret the reply to GET of key's name. Returns 1 with the value, 0
   when there is none, -1 on error. */
static int
redis_get_reply(struct alertwall_store_redis *r, const char *name,
		const char *key, const struct redis_reply *reply,
		const char **value_r, const char **error_r)
{
	const char *stored_key;

	switch (reply->type) {
	case REDIS_REPLY_NIL:
		return 0;
	case REDIS_REPLY_BULK:
		if (redis_parse_stored(reply, &stored_key, value_r) < 0 ||
		    strcmp(stored_key, key) != 0) {
			redis_error(r, error_r, "%s holds another key", name);
			return -1;
		}
		return 1;
	case REDIS_REPLY_ERROR:
		redis_error(r, error_r, "GET %s failed: %s", name, reply->str);
		return -1;
	default:
		redis_error(r, error_r, "GET %s: unexpected %s reply",
			    name, redis_reply_type_names[reply->type]);
		return -1;
	}
}

static int
redis_get_once(struct alertwall_store_redis *r, const char *key,
	       const char **value_r, const char **error_r)
{
	struct redis_reply reply;
	const char *name = redis_key_name(r, key);
	string_t *cmd = t_str_new(128);

	redis_append_cmd(cmd, "GET", name, NULL);
	if (redis_query(r, cmd, &reply, 1, error_r) < 0)
		return -1;
	return redis_get_reply(r, name, key, &reply, value_r, error_r);
}

static int
alertwall_store_redis_get(struct alertwall_store *store, const char *key,
			  const char **value_r, const char **error_r)
{
	struct alertwall_store_redis *r =
		container_of(store, struct alertwall_store_redis, store);
	unsigned int attempts = 0;
	bool reused;
	int ret;

	redis_set_deadline(r);
	do {
		if (redis_attempt_begin(r, &reused, error_r) < 0)
			return -1;
		ret = redis_get_once(r, key, value_r, error_r);
	} while (ret < 0 && redis_attempt_retry(r, reused, &attempts));
	return ret;
}

/* Drop the WATCH of an update that writes nothing, so that it cannot abort
   the next transaction on this connection. */
static void redis_unwatch(struct alertwall_store_redis *r)
{
	struct redis_reply reply;
	const char *error;
	string_t *cmd = t_str_new(32);

	redis_append_cmd(cmd, "UNWATCH", NULL);
	if (redis_query(r, cmd, &reply, 1, &error) < 0)
		return;
	/* closing the connection drops the WATCH too */
	if (redis_expect_status(r, &reply, "OK", "UNWATCH", &error) < 0)
		redis_disconnect(r);
}

/* Wait a little before trying again, so that processes that collided do
   not collide again in lockstep. Never past the deadline. */
static void redis_update_backoff(struct alertwall_store_redis *r,
				 unsigned int tries)
{
	unsigned int max_usecs = 100U << I_MIN(tries, 6U);
	unsigned int usecs = i_rand_limit(max_usecs) + 1;
	long long left_msecs = r->deadline - redis_now_msecs();

	if (left_msecs * 1000 > usecs)
		i_sleep_usecs(usecs);
}

/* Interpret the replies to MULTI, SET/DEL and EXEC. Returns 1 when the
   transaction was applied, 0 when EXEC was aborted by a concurrent change,
   -1 on error. */
static int
redis_update_exec_replies(struct alertwall_store_redis *r, const char *name,
			  const struct redis_reply replies[3],
			  const char **error_r)
{
	const struct redis_reply *exec = &replies[2];

	if (exec->type == REDIS_REPLY_NIL)
		return 0;
	if (redis_expect_status(r, &replies[0], "OK", "MULTI", error_r) < 0 ||
	    redis_expect_status(r, &replies[1], "QUEUED", "SET", error_r) < 0)
		return -1;
	if (exec->type == REDIS_REPLY_ERROR) {
		redis_error(r, error_r, "EXEC for %s failed: %s",
			    name, exec->str);
		return -1;
	}
	if (exec->type != REDIS_REPLY_ARRAY || exec->count != 1) {
		redis_error(r, error_r, "EXEC for %s: unexpected reply", name);
		return -1;
	}
	if (exec->elements[0].type == REDIS_REPLY_ERROR) {
		redis_error(r, error_r, "write of %s failed: %s",
			    name, exec->elements[0].str);
		return -1;
	}
	return 1;
}

static int
redis_update_once(struct alertwall_store_redis *r, const char *key,
		  alertwall_store_update_func *func, void *context,
		  const char **error_r)
{
	struct redis_reply replies[3];
	const char *name = redis_key_name(r, key);
	const char *old_value;
	string_t *cmd, *new_value, *stored;
	unsigned int tries, i;
	int ret;

	cmd = t_str_new(256);
	new_value = t_str_new(256);
	stored = t_str_new(256);
	for (tries = 0; tries < REDIS_UPDATE_MAX_TRIES; tries++) {
		str_truncate(cmd, 0);
		redis_append_cmd(cmd, "WATCH", name, NULL);
		redis_append_cmd(cmd, "GET", name, NULL);
		if (redis_query(r, cmd, replies, 2, error_r) < 0)
			return -1;
		if (redis_expect_status(r, &replies[0], "OK", "WATCH",
					error_r) < 0) {
			redis_unwatch(r);
			return -1;
		}
		old_value = NULL;
		ret = redis_get_reply(r, name, key, &replies[1], &old_value,
				      error_r);
		if (ret < 0) {
			redis_unwatch(r);
			return -1;
		}

		str_truncate(new_value, 0);
		if (!func(old_value, new_value, context) ||
		    (str_len(new_value) == 0 && old_value == NULL)) {
			/* nothing to write */
			redis_unwatch(r);
			return 0;
		}

		str_truncate(cmd, 0);
		redis_append_cmd(cmd, "MULTI", NULL);
		if (str_len(new_value) == 0)
			redis_append_cmd(cmd, "DEL", name, NULL);
		else {
			str_truncate(stored, 0);
			str_append_tabescaped(stored, key);
			str_append_c(stored, '\n');
			str_append_str(stored, new_value);
			if (str_len(stored) > REDIS_MAX_BULK_SIZE) {
				redis_error(r, error_r,
					"value for %s is larger than %u bytes",
					name, REDIS_MAX_BULK_SIZE);
				redis_unwatch(r);
				return -1;
			}
			redis_append_cmd(cmd, "SET", name, str_c(stored), NULL);
		}
		redis_append_cmd(cmd, "EXEC", NULL);
		/* a failed send never delivered all of EXEC, so nothing was
		   applied; once it is sent, a lost reply leaves it open */
		if (redis_send(r, cmd, error_r) < 0)
			return -1;
		r->committing = TRUE;
		for (i = 0; i < 3; i++) {
			if (redis_read_reply(r, &replies[i], error_r) < 0)
				return -1;
		}
		r->committing = FALSE;

		ret = redis_update_exec_replies(r, name, replies, error_r);
		if (ret != 0)
			return ret < 0 ? -1 : 0;
		/* another process changed the key after our WATCH */
		redis_update_backoff(r, tries);
	}
	redis_error(r, error_r, "update of %s gave up after %u tries: "
		    "the key keeps changing", name, REDIS_UPDATE_MAX_TRIES);
	return -1;
}

static int
alertwall_store_redis_update(struct alertwall_store *store, const char *key,
			     alertwall_store_update_func *func, void *context,
			     const char **error_r)
{
	struct alertwall_store_redis *r =
		container_of(store, struct alertwall_store_redis, store);
	unsigned int attempts = 0;
	bool reused;
	int ret;

	redis_set_deadline(r);
	do {
		if (redis_attempt_begin(r, &reused, error_r) < 0)
			return -1;
		ret = redis_update_once(r, key, func, context, error_r);
	} while (ret < 0 && redis_attempt_retry(r, reused, &attempts));
	if (ret < 0 && r->committing) {
		*error_r = t_strdup_printf("%s (the update may or may not "
					   "have been applied)", *error_r);
	}
	return ret;
}

struct redis_iter_context {
	struct alertwall_store_redis *r;
	pool_t pool;
	/* SCAN may return a key more than once: visit it once */
	HASH_TABLE(char *, void *) seen;
	const char *pattern;
	char *cursor;
	alertwall_store_iter_func *func;
	void *func_context;
	bool stop;
};

/* the SCAN pattern matching names under prefix, glob characters escaped */
static const char *redis_scan_pattern(const char *prefix)
{
	string_t *pattern = t_str_new(strlen(prefix) + 8);

	for (; *prefix != '\0'; prefix++) {
		if (strchr("*?[]\\", *prefix) != NULL)
			str_append_c(pattern, '\\');
		str_append_c(pattern, *prefix);
	}
	str_append_c(pattern, '*');
	return str_c(pattern);
}

/* whether name is one of ours: prefix and 40 lowercase hex digits */
static bool redis_is_our_name(struct alertwall_store_redis *r,
			      const struct redis_reply *name)
{
	size_t prefix_len = strlen(r->prefix);
	unsigned int i;

	if (name->type != REDIS_REPLY_BULK ||
	    name->len != prefix_len + SHA1_RESULTLEN * 2 ||
	    strncmp(name->str, r->prefix, prefix_len) != 0)
		return FALSE;
	for (i = prefix_len; i < name->len; i++) {
		if (!((name->str[i] >= '0' && name->str[i] <= '9') ||
		      (name->str[i] >= 'a' && name->str[i] <= 'f')))
			return FALSE;
	}
	return TRUE;
}

/* One SCAN step and the GETs of the names it returned. Returns 0 with the
   names and values, -1 on error. */
static int
redis_iterate_fetch(struct redis_iter_context *ctx,
		    const char **next_cursor_r,
		    ARRAY_TYPE(const_string) *names,
		    struct redis_reply **values_r, const char **error_r)
{
	struct alertwall_store_redis *r = ctx->r;
	struct redis_reply reply, *keys;
	const char *name;
	string_t *cmd = t_str_new(256);
	unsigned int i, count;

	redis_append_cmd(cmd, "SCAN", ctx->cursor, "MATCH", ctx->pattern,
			 "COUNT", REDIS_SCAN_COUNT, NULL);
	if (redis_query(r, cmd, &reply, 1, error_r) < 0)
		return -1;
	if (reply.type == REDIS_REPLY_ERROR) {
		redis_error(r, error_r, "SCAN failed: %s", reply.str);
		return -1;
	}
	if (reply.type != REDIS_REPLY_ARRAY || reply.count != 2 ||
	    reply.elements[0].type != REDIS_REPLY_BULK ||
	    reply.elements[1].type != REDIS_REPLY_ARRAY) {
		redis_error(r, error_r, "SCAN: unexpected reply");
		return -1;
	}
	*next_cursor_r = reply.elements[0].str;
	keys = reply.elements[1].elements;

	str_truncate(cmd, 0);
	for (i = 0; i < reply.elements[1].count; i++) {
		if (!redis_is_our_name(r, &keys[i]))
			continue;
		name = keys[i].str;
		array_push_back(names, &name);
		redis_append_cmd(cmd, "GET", name, NULL);
	}
	count = array_count(names);
	*values_r = t_new(struct redis_reply, count + 1);
	if (count == 0)
		return 0;
	return redis_query(r, cmd, *values_r, count, error_r);
}

/* Visit the keys of one SCAN step. Returns 0, or -1 on error. */
static int redis_iterate_step(struct redis_iter_context *ctx,
			      const char **error_r)
{
	struct alertwall_store_redis *r = ctx->r;
	ARRAY_TYPE(const_string) names;
	struct redis_reply *values;
	const char *next_cursor, *const *namep, *key, *value;
	char *seen_name;
	unsigned int attempts = 0, i;
	bool reused;
	int ret;

	redis_set_deadline(r);
	t_array_init(&names, 64);
	do {
		array_clear(&names);
		if (redis_attempt_begin(r, &reused, error_r) < 0)
			return -1;
		/* SCAN cursors live in the client: a new connection
		   continues where the broken one stopped */
		ret = redis_iterate_fetch(ctx, &next_cursor, &names, &values,
					  error_r);
	} while (ret < 0 && redis_attempt_retry(r, reused, &attempts));
	if (ret < 0)
		return -1;

	array_foreach(&names, namep) {
		i = array_foreach_idx(&names, namep);
		/* gone since SCAN, damaged or not a string: not state */
		if (values[i].type != REDIS_REPLY_BULK ||
		    redis_parse_stored(&values[i], &key, &value) < 0 ||
		    strcmp(redis_key_name(r, key), *namep) != 0)
			continue;
		if (hash_table_lookup(ctx->seen, *namep) != NULL)
			continue;
		seen_name = p_strdup(ctx->pool, *namep);
		hash_table_insert(ctx->seen, seen_name, POINTER_CAST(1));
		if (!ctx->func(key, value, ctx->func_context)) {
			ctx->stop = TRUE;
			break;
		}
	}
	i_free(ctx->cursor);
	ctx->cursor = i_strdup(next_cursor);
	return 0;
}

static int
alertwall_store_redis_iterate(struct alertwall_store *store,
			      alertwall_store_iter_func *func, void *context,
			      const char **error_r)
{
	struct alertwall_store_redis *r =
		container_of(store, struct alertwall_store_redis, store);
	struct redis_iter_context ctx;
	char *error_dup = NULL;
	int ret = 0;

	i_zero(&ctx);
	ctx.r = r;
	ctx.pool = pool_alloconly_create("alertwall redis iterate", 4096);
	hash_table_create(&ctx.seen, ctx.pool, 0, str_hash, strcmp);
	ctx.pattern = redis_scan_pattern(r->prefix);
	ctx.cursor = i_strdup("0");
	ctx.func = func;
	ctx.func_context = context;
	do {
		T_BEGIN {
			const char *error;

			if (redis_iterate_step(&ctx, &error) < 0) {
				error_dup = i_strdup(error);
				ret = -1;
			}
		} T_END;
	} while (ret == 0 && !ctx.stop && strcmp(ctx.cursor, "0") != 0);

	if (error_dup != NULL) {
		*error_r = t_strdup(error_dup);
		i_free(error_dup);
	}
	hash_table_destroy(&ctx.seen);
	pool_unref(&ctx.pool);
	i_free(ctx.cursor);
	return ret;
}

static void alertwall_store_redis_deinit(struct alertwall_store *store)
{
	struct alertwall_store_redis *r =
		container_of(store, struct alertwall_store_redis, store);

	redis_disconnect(r);
	buffer_free(&r->input);
	i_free(r->socket_path);
	i_free(r->prefix);
	i_free(r->name);
	i_free(r->store.uri);
	i_free(r);
}

static const struct alertwall_store_vfuncs alertwall_store_redis_vfuncs = {
	.deinit = alertwall_store_redis_deinit,
	.get = alertwall_store_redis_get,
	.update = alertwall_store_redis_update,
	.iterate = alertwall_store_redis_iterate,
};

struct redis_settings {
	const char *host, *port, *socket_path, *prefix;
	unsigned int timeout_msecs, db;
};

static int
redis_parse_arg(struct redis_settings *set, const char *name,
		const char *value, const char **error_r)
{
	if (strcmp(name, "host") == 0)
		set->host = value;
	else if (strcmp(name, "port") == 0)
		set->port = value;
	else if (strcmp(name, "socket") == 0) {
		if (value[0] != '/') {
			*error_r = t_strdup_printf(
				"socket=%s: needs an absolute path", value);
			return -1;
		}
		if (strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			*error_r = t_strdup_printf(
				"socket=%s: path too long", value);
			return -1;
		}
		set->socket_path = value;
	} else if (strcmp(name, "prefix") == 0) {
		if (value[0] == '\0') {
			/* the prefix keeps alertwall's keys apart from the
			   rest of the database */
			*error_r = "prefix= must not be empty";
			return -1;
		}
		set->prefix = value;
	} else if (strcmp(name, "timeout_msecs") == 0) {
		if (str_to_uint(value, &set->timeout_msecs) < 0 ||
		    set->timeout_msecs == 0 ||
		    set->timeout_msecs > REDIS_MAX_TIMEOUT_MSECS) {
			*error_r = t_strdup_printf(
				"timeout_msecs=%s: expected 1..%u", value,
				REDIS_MAX_TIMEOUT_MSECS);
			return -1;
		}
	} else if (strcmp(name, "db") == 0) {
		if (str_to_uint(value, &set->db) < 0 || set->db > INT_MAX) {
			*error_r = t_strdup_printf(
				"db=%s: not a database number", value);
			return -1;
		}
	} else
		i_unreached();
	return 0;
}

/* Parse NAME=VALUE[:NAME=VALUE...]. A value containing ':' (an IPv6
   address, a prefix like "aw:prod:") is written in brackets: [VALUE]. */
static int
redis_parse_args(const char *args, struct redis_settings *set,
		 const char **error_r)
{
	const char *p = args, *name, *value, *end;
	unsigned int i, seen = 0;

	while (*p != '\0') {
		end = p + strcspn(p, "=:");
		if (end == p) {
			*error_r = "empty argument (a value containing ':' "
				"needs brackets: name=[value])";
			return -1;
		}
		if (*end != '=') {
			*error_r = t_strdup_printf("'%s' is not name=value",
						   t_strdup_until(p, end));
			return -1;
		}
		name = t_strdup_until(p, end);
		p = end + 1;
		if (*p == '[') {
			end = strchr(p, ']');
			if (end == NULL) {
				*error_r = t_strdup_printf(
					"%s=: '[' without ']'", name);
				return -1;
			}
			value = t_strdup_until(p + 1, end);
			p = end + 1;
			if (*p != ':' && *p != '\0') {
				*error_r = t_strdup_printf(
					"%s=: ':' expected after ']'", name);
				return -1;
			}
		} else {
			end = p + strcspn(p, ":");
			value = t_strdup_until(p, end);
			p = end;
		}
		if (*p == ':')
			p++;

		for (i = 0; i < N_ELEMENTS(redis_arg_names); i++) {
			if (strcmp(name, redis_arg_names[i]) == 0)
				break;
		}
		if (i == N_ELEMENTS(redis_arg_names)) {
			*error_r = t_strdup_printf("Unknown argument '%s' "
				"(known: host, port, socket, prefix, "
				"timeout_msecs, db)", name);
			return -1;
		}
		if ((seen & (1U << i)) != 0) {
			*error_r = t_strdup_printf("%s= given twice", name);
			return -1;
		}
		seen |= 1U << i;
		if (redis_parse_arg(set, name, value, error_r) < 0)
			return -1;
	}
	if (set->socket_path != NULL &&
	    (set->host != NULL || set->port != NULL)) {
		*error_r = "socket= excludes host= and port=";
		return -1;
	}
	return 0;
}

int alertwall_store_redis_init(const char *args,
			       struct alertwall_store **store_r,
			       const char **error_r)
{
	struct alertwall_store_redis *r;
	struct redis_settings set;
	struct ip_addr ip;
	in_port_t port = REDIS_DEFAULT_PORT;
	const char *error, *name;

	i_zero(&set);
	set.prefix = REDIS_DEFAULT_PREFIX;
	set.timeout_msecs = REDIS_DEFAULT_TIMEOUT_MSECS;
	if (redis_parse_args(args, &set, &error) < 0) {
		*error_r = t_strdup_printf("redis state store '%s': %s",
					   args, error);
		return -1;
	}
	i_zero(&ip);
	if (set.socket_path == NULL) {
		if (set.host == NULL)
			set.host = REDIS_DEFAULT_HOST;
		/* no name lookups: DNS could block longer than the timeout */
		if (net_addr2ip(set.host, &ip) < 0) {
			*error_r = t_strdup_printf("redis state store '%s': "
				"host=%s: not an IP address (a name lookup "
				"could block past the timeout; give the "
				"address, [IPv6] in brackets, or socket=)",
				args, set.host);
			return -1;
		}
		if (set.port != NULL && net_str2port(set.port, &port) < 0) {
			*error_r = t_strdup_printf("redis state store '%s': "
				"port=%s: not a port number", args, set.port);
			return -1;
		}
		if (net_ipport2str(&ip, port, &name) < 0)
			i_unreached();
	} else {
		name = set.socket_path;
	}

	r = i_new(struct alertwall_store_redis, 1);
	r->store.v = &alertwall_store_redis_vfuncs;
	r->store.uri = i_strconcat("redis:", args, NULL);
	r->ip = ip;
	r->port = port;
	r->socket_path = i_strdup(set.socket_path);
	r->prefix = i_strdup(set.prefix);
	r->timeout_msecs = set.timeout_msecs;
	r->db = set.db;
	r->name = i_strdup(name);
	r->fd = -1;
	r->input = buffer_create_dynamic(default_pool, REDIS_READ_SIZE);
	*store_r = &r->store;
	return 0;
}
