/* Copyright (c) 2026 alertwall authors */

/* The redis state store against a real redis-server, started by each test
   on a free loopback port: get/update/delete/iterate, hostile keys, many
   processes updating one key at once without losing a count, prefix and db
   isolation, a killed, a hung and a restarted server. A fake server feeds
   the RESP parser hostile replies. Also the URI syntax. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "sleep.h"
#include "test-alertwall.h"
#include "alertwall-store.h"

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifdef __linux__
#  include <sys/prctl.h>
#endif

/* a mail process must never wait on redis longer than this */
#define MAX_BLOCK_MSECS 2000
/* generous, for valgrind: these tests are about results, not time */
#define SLOW_TIMEOUT ":timeout_msecs=10000"

static struct {
	char *dir;
	const char *server_path;
	unsigned int port;
	pid_t pid;
} redis;

static const char *find_redis_server(void)
{
	static const char *const fallbacks[] = {
		"/usr/bin/redis-server", "/usr/sbin/redis-server",
	};
	const char *path = getenv("PATH"), *const *dirs, *file;
	unsigned int i;

	if (path != NULL) {
		for (dirs = t_strsplit(path, ":"); *dirs != NULL; dirs++) {
			if (**dirs == '\0')
				continue;
			file = t_strconcat(*dirs, "/redis-server", NULL);
			if (access(file, X_OK) == 0)
				return file;
		}
	}
	for (i = 0; i < N_ELEMENTS(fallbacks); i++) {
		if (access(fallbacks[i], X_OK) == 0)
			return fallbacks[i];
	}
	return NULL;
}

static const char *t_fill(size_t len, char c)
{
	char *str = t_malloc_no0(len + 1);

	memset(str, c, len);
	str[len] = '\0';
	return str;
}

static long long now_msecs(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime() failed: %m");
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* a loopback socket bound to a port the kernel picked, or listening */
union loopback_addr {
	struct sockaddr sa;
	struct sockaddr_in sin;
};

static void loopback_addr_init(union loopback_addr *addr, unsigned int port)
{
	i_zero(addr);
	addr->sin.sin_family = AF_INET;
	addr->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin.sin_port = htons(port);
}

static int loopback_socket(bool listening, unsigned int *port_r)
{
	union loopback_addr addr;
	socklen_t len = sizeof(addr.sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		i_fatal("socket() failed: %m");
	loopback_addr_init(&addr, 0);
	if (bind(fd, &addr.sa, sizeof(addr.sin)) < 0)
		i_fatal("bind() failed: %m");
	if (listening && listen(fd, 8) < 0)
		i_fatal("listen() failed: %m");
	if (getsockname(fd, &addr.sa, &len) < 0)
		i_fatal("getsockname() failed: %m");
	*port_r = ntohs(addr.sin.sin_port);
	return fd;
}

static int loopback_connect(unsigned int port)
{
	union loopback_addr addr;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		i_fatal("socket() failed: %m");
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	loopback_addr_init(&addr, port);
	if (connect(fd, &addr.sa, sizeof(addr.sin)) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	return fd;
}

/* whether the server at port answers PING */
static bool redis_pings(unsigned int port)
{
	char buf[16];
	ssize_t ret;
	int fd;

	fd = loopback_connect(port);
	if (fd == -1)
		return FALSE;
	ret = write(fd, "PING\r\n", 6);
	if (ret == 6)
		ret = read(fd, buf, sizeof(buf) - 1);
	i_close_fd(&fd);
	return ret >= 7 && memcmp(buf, "+PONG\r\n", 7) == 0;
}

static void redis_exec(unsigned int port)
{
	const char *log_path = t_strconcat(redis.dir, "/redis.log", NULL);
	const char *sock_path = t_strconcat(redis.dir, "/redis.sock", NULL);
	int fd;

#ifdef __linux__
	/* never outlive the test, even when it crashes */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd != -1) {
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
	}
	execl(redis.server_path, "redis-server",
	      "--port", dec2str(port), "--bind", "127.0.0.1",
	      "--save", "", "--appendonly", "no", "--daemonize", "no",
	      "--dir", redis.dir, "--unixsocket", sock_path,
	      "--unixsocketperm", "700", NULL);
	_exit(127);
}

/* Start redis-server on port and wait until it answers PING. Returns FALSE
   when it exited (the port was taken) or never answered. */
static bool redis_start(unsigned int port)
{
	long long give_up = now_msecs() + 10000;
	int status;

	i_assert(redis.pid == 0);
	redis.pid = fork();
	if (redis.pid < 0)
		i_fatal("fork() failed: %m");
	if (redis.pid == 0)
		redis_exec(port);

	while (now_msecs() < give_up) {
		if (redis_pings(port)) {
			redis.port = port;
			return TRUE;
		}
		if (waitpid(redis.pid, &status, WNOHANG) == redis.pid) {
			redis.pid = 0;
			return FALSE;
		}
		i_sleep_msecs(20);
	}
	return FALSE;
}

/* kill the server as a crash would: no goodbye to its clients */
static void redis_kill(void)
{
	int status;

	if (redis.pid <= 0)
		return;
	(void)kill(redis.pid, SIGKILL);
	(void)waitpid(redis.pid, &status, 0);
	redis.pid = 0;
}

static void redis_kill_atexit(void)
{
	redis_kill();
}

static void redis_setup(void)
{
	unsigned int tries, port;
	int fd;

	redis.server_path = find_redis_server();
	ck_assert_msg(redis.server_path != NULL,
		"redis-server not found in PATH, /usr/bin or /usr/sbin: "
		"the redis store tests need a real server "
		"(tools/install-deps installs redis-server)");
	redis.dir = test_tmpdir_create("redis");

	/* the port is free now; another process may take it before redis
	   binds it, so try a few */
	for (tries = 0; tries < 5; tries++) {
		fd = loopback_socket(FALSE, &port);
		i_close_fd(&fd);
		if (redis_start(port))
			return;
		redis_kill();
	}
	ck_abort_msg("redis-server (%s) did not start; see %s/redis.log",
		     redis.server_path, redis.dir);
}

static void redis_teardown(void)
{
	redis_kill();
	test_tmpdir_remove(&redis.dir);
}

static struct alertwall_store *store_open_uri(const char *uri)
{
	struct alertwall_store *store;
	const char *error = NULL;

	ck_assert_msg(alertwall_store_init(uri, &store, &error) == 0,
		      "%s: %s", uri, error);
	return store;
}

static struct alertwall_store *store_open(const char *extra_args)
{
	return store_open_uri(t_strdup_printf(
		"redis:host=127.0.0.1:port=%u%s", redis.port, extra_args));
}

static bool set_value(const char *old_value ATTR_UNUSED, string_t *new_value,
		      void *context)
{
	str_append(new_value, context);
	return TRUE;
}

static bool keep_value(const char *old_value ATTR_UNUSED,
		       string_t *new_value ATTR_UNUSED,
		       void *context ATTR_UNUSED)
{
	return FALSE;
}

static bool increment(const char *old_value, string_t *new_value,
		      void *context ATTR_UNUSED)
{
	unsigned int n = old_value == NULL ? 0 : (unsigned int)atoi(old_value);

	str_printfa(new_value, "%u", n + 1);
	return TRUE;
}

static const struct {
	const char *args;
	const char *error;	/* NULL: valid */
} uri_cases[] = {
	{ "", NULL },
	{ "host=127.0.0.1:port=6379", NULL },
	{ "host=[::1]:port=6380:prefix=[aw:prod:]:timeout_msecs=100:db=3",
	  NULL },
	{ "socket=/run/redis/redis.sock:prefix=x", NULL },
	{ "port=6379:", NULL },
	{ "hots=127.0.0.1", "Unknown argument 'hots'" },
	{ "host=127.0.0.1:password=x", "Unknown argument 'password'" },
	{ "host", "'host' is not name=value" },
	{ "host=127.0.0.1:6379", "'6379' is not name=value" },
	{ "host=redis.example.com", "not an IP address" },
	{ "host=", "not an IP address" },
	{ "host=::1", "needs brackets" },
	{ "host=[::1", "'[' without ']'" },
	{ "host=[::1]x", "':' expected after ']'" },
	{ "port=0", "port=0: not a port number" },
	{ "port=65536", "not a port number" },
	{ "port=63x", "not a port number" },
	{ "socket=relative.sock", "needs an absolute path" },
	{ "socket=/x:port=1", "socket= excludes host= and port=" },
	{ "prefix=", "prefix= must not be empty" },
	{ "timeout_msecs=0", "timeout_msecs=0: expected 1..600000" },
	{ "timeout_msecs=-5", "expected 1..600000" },
	{ "timeout_msecs=600001", "expected 1..600000" },
	{ "db=-1", "not a database number" },
	{ "port=1:port=2", "port= given twice" },
};

START_TEST(test_redis_uri)
{
	struct alertwall_store *store;
	const char *uri, *error;
	unsigned int i;
	int ret;

	for (i = 0; i < N_ELEMENTS(uri_cases); i++) {
		uri = t_strconcat("redis:", uri_cases[i].args, NULL);
		error = NULL;
		ret = alertwall_store_init(uri, &store, &error);
		if (uri_cases[i].error == NULL) {
			ck_assert_msg(ret == 0, "case %u: %s", i, error);
			ck_assert_msg(strcmp(store->uri, uri) == 0,
				      "case %u", i);
			alertwall_store_deinit(&store);
			continue;
		}
		ck_assert_msg(ret == -1, "case %u accepted", i);
		ck_assert_msg(strstr(error, uri_cases[i].error) != NULL,
			      "case %u: error '%s'", i, error);
		/* the error names what was being parsed */
		ck_assert_msg(strstr(error, "redis state store") != NULL,
			      "case %u: error '%s'", i, error);
	}
}
END_TEST

START_TEST(test_redis_basic)
{
	struct alertwall_store *store = store_open("");
	const char *value, *error;
	string_t *big;

	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	ck_assert_int_eq(alertwall_store_update(store, "k1", keep_value, NULL,
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	/* deleting what is not there writes nothing */
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value,
						"one\ntwo", &error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 1);
	ck_assert_str_eq(value, "one\ntwo");
	ck_assert_int_eq(alertwall_store_update(store, "k1", keep_value, NULL,
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 1);
	ck_assert_str_eq(value, "one\ntwo");
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "x",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 1);
	ck_assert_str_eq(value, "x");
	/* an empty value deletes */
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);

	/* a value the store could not read back is refused, not written */
	big = t_str_new(1024 * 1024 + 16);
	while (str_len(big) <= 1024 * 1024)
		str_append(big, "0123456789abcdef");
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value,
		(void *)str_c(big), &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "larger than"));
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 0);
	/* and the connection still works */
	ck_assert_int_eq(alertwall_store_update(store, "k1", set_value, "y",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k1", &value, &error), 1);
	ck_assert_str_eq(value, "y");
	alertwall_store_deinit(&store);
	ck_assert_ptr_null(store);
}
END_TEST

static const struct {
	const char *key, *value;
} hostile_cases[] = {
	{ "CODE\tmailbox\tev\nil/../x", "v" },
	{ "", "empty key" },
	{ "*?[]\\ glob", "\r\n$5\r\nhello\r\n" },
	{ "*1\r\n$4\r\nPING\r\n", "*-1\r\n" },
	{ "-ERR not an error\r\n", "+OK\r\n" },
	{ "\xc3\xbc" "n" "\xc3\xaf" "code \xe2\x9c\x93", "value\twith\ttabs\n\n" },
	{ "back\\slash\001ctrl", "\\t\\n" },
};

#define PLAIN_KEYS 1500

struct iter_ctx {
	unsigned int count, stop_after;
	bool hostile_seen[N_ELEMENTS(hostile_cases)];
	bool plain_seen[PLAIN_KEYS];
	bool long_seen, huge_seen;
	unsigned int wrong;
	const char *long_key;
	size_t huge_len;
};

static bool iter_cb(const char *key, const char *value, void *context)
{
	struct iter_ctx *ctx = context;
	unsigned int i, n;

	ctx->count++;
	for (i = 0; i < N_ELEMENTS(hostile_cases); i++) {
		if (strcmp(key, hostile_cases[i].key) == 0) {
			if (strcmp(value, hostile_cases[i].value) != 0 ||
			    ctx->hostile_seen[i])
				ctx->wrong++;
			ctx->hostile_seen[i] = TRUE;
			return ctx->count != ctx->stop_after;
		}
	}
	if (strcmp(key, ctx->long_key) == 0) {
		if (strcmp(value, "long") != 0 || ctx->long_seen)
			ctx->wrong++;
		ctx->long_seen = TRUE;
	} else if (strcmp(key, "huge") == 0) {
		if (strlen(value) != ctx->huge_len || ctx->huge_seen)
			ctx->wrong++;
		ctx->huge_seen = TRUE;
	} else if (sscanf(key, "key%u", &n) == 1 && n < PLAIN_KEYS &&
		   strcmp(key, t_strdup_printf("key%u", n)) == 0) {
		if (strcmp(value, t_strdup_printf("v%u", n)) != 0 ||
		    ctx->plain_seen[n])
			ctx->wrong++;
		ctx->plain_seen[n] = TRUE;
	} else {
		ctx->wrong++;
	}
	return ctx->count != ctx->stop_after;
}

START_TEST(test_redis_hostile_keys_and_iterate)
{
	struct alertwall_store *store = store_open(SLOW_TIMEOUT);
	struct iter_ctx ctx;
	const char *value, *error, *long_key;
	string_t *huge;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(hostile_cases); i++) {
		ck_assert_msg(alertwall_store_update(store, hostile_cases[i].key,
				set_value, (void *)hostile_cases[i].value,
				&error) == 0, "case %u: %s", i, error);
	}
	for (i = 0; i < N_ELEMENTS(hostile_cases); i++) {
		ck_assert_msg(alertwall_store_get(store, hostile_cases[i].key,
				&value, &error) == 1, "case %u", i);
		ck_assert_msg(strcmp(value, hostile_cases[i].value) == 0,
			      "case %u: '%s'", i, value);
	}
	long_key = t_fill(16 * 1024, 'k');
	ck_assert_int_eq(alertwall_store_update(store, long_key, set_value,
						"long", &error), 0);
	/* a large value arrives in many reads */
	huge = t_str_new(512 * 1024);
	while (str_len(huge) < 512 * 1024)
		str_append(huge, "0123456789\r\n$-1\r\n");
	ck_assert_int_eq(alertwall_store_update(store, "huge", set_value,
		(void *)str_c(huge), &error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "huge", &value, &error), 1);
	ck_assert_str_eq(value, str_c(huge));

	/* more keys than one SCAN step returns */
	for (i = 0; i < PLAIN_KEYS; i++) {
		ck_assert_int_eq(alertwall_store_update(store,
			t_strdup_printf("key%u", i), set_value,
			(void *)t_strdup_printf("v%u", i), &error), 0);
	}

	i_zero(&ctx);
	ctx.long_key = long_key;
	ctx.huge_len = str_len(huge);
	ck_assert_int_eq(alertwall_store_iterate(store, iter_cb, &ctx, &error), 0);
	ck_assert_uint_eq(ctx.wrong, 0);
	ck_assert_uint_eq(ctx.count, N_ELEMENTS(hostile_cases) + PLAIN_KEYS + 2);
	for (i = 0; i < N_ELEMENTS(hostile_cases); i++)
		ck_assert_msg(ctx.hostile_seen[i], "case %u not iterated", i);
	for (i = 0; i < PLAIN_KEYS; i++)
		ck_assert_msg(ctx.plain_seen[i], "key%u not iterated", i);
	ck_assert(ctx.long_seen);
	ck_assert(ctx.huge_seen);

	/* the callback stops the iteration */
	i_zero(&ctx);
	ctx.long_key = long_key;
	ctx.huge_len = str_len(huge);
	ctx.stop_after = 3;
	ck_assert_int_eq(alertwall_store_iterate(store, iter_cb, &ctx, &error), 0);
	ck_assert_uint_eq(ctx.count, 3);
	alertwall_store_deinit(&store);
}
END_TEST

#define PROCS 8
#define INCREMENTS 200

/* Helper processes run this binary again (see main()): each is a fresh
   process with its own lib_init(), as Dovecot's mail processes are, and
   checks its own memory (valgrind follows forks, not execs; ASan does). */
static const char *self_path;

static pid_t spawn_self(const char *mode, const char *arg1, const char *arg2)
{
	const char *argv[] = { self_path, mode, arg1, arg2, NULL };
	pid_t pid;

	pid = fork();
	if (pid < 0)
		i_fatal("fork() failed: %m");
	if (pid == 0) {
		execv(self_path, (char *const *)argv);
		i_error("execv(%s) failed: %m", self_path);
		_exit(127);
	}
	return pid;
}

/* "--increment PORT N": N increments of "counter"; exit 0 when all
   succeeded */
static int increment_main(const char *port, const char *count)
{
	struct alertwall_store *store;
	const char *error;
	unsigned int i, n;
	int ret = 0;

	lib_init();
	if (str_to_uint(count, &n) < 0)
		i_fatal("bad count %s", count);
	if (alertwall_store_init(t_strdup_printf(
			"redis:host=127.0.0.1:port=%s"SLOW_TIMEOUT, port),
			&store, &error) < 0)
		i_fatal("%s", error);
	for (i = 0; i < n && ret == 0; i++) {
		ret = alertwall_store_update(store, "counter", increment,
					     NULL, &error);
		if (ret < 0)
			i_error("increment %u: %s", i, error);
	}
	alertwall_store_deinit(&store);
	lib_deinit();
	return ret < 0 ? 1 : 0;
}

#define PROCS 8
#define INCREMENTS 200

START_TEST(test_redis_concurrent_increments)
{
	struct alertwall_store *store;
	const char *value, *error;
	pid_t pids[PROCS];
	unsigned int i;
	int status;

	for (i = 0; i < PROCS; i++) {
		pids[i] = spawn_self("--increment", dec2str(redis.port),
				     dec2str(INCREMENTS));
	}
	for (i = 0; i < PROCS; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "child %u failed", i);
	}
	store = store_open("");
	ck_assert_int_eq(alertwall_store_get(store, "counter", &value, &error), 1);
	ck_assert_str_eq(value, dec2str(PROCS * INCREMENTS));
	alertwall_store_deinit(&store);
}
END_TEST

struct count_ctx {
	unsigned int count;
	const char *last_key, *last_value;
};

static bool count_cb(const char *key, const char *value, void *context)
{
	struct count_ctx *ctx = context;

	ctx->count++;
	ctx->last_key = t_strdup(key);
	ctx->last_value = t_strdup(value);
	return TRUE;
}

static const struct {
	const char *args, *value;
} isolation_cases[] = {
	{ "", "default prefix" },
	{ ":prefix=t1", "t1" },
	/* starts like t1: its names match t1's SCAN pattern */
	{ ":prefix=t1x", "t1x" },
	{ ":prefix=[t1:sub:]", "t1:sub:" },
	{ ":prefix=[*?]", "glob" },
	{ ":db=1", "db 1" },
	{ ":db=1:prefix=t1", "db 1 t1" },
};

START_TEST(test_redis_isolation)
{
	struct alertwall_store *stores[N_ELEMENTS(isolation_cases)];
	struct alertwall_store *sock_store;
	struct count_ctx ctx;
	const char *value, *error;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(isolation_cases); i++) {
		stores[i] = store_open(isolation_cases[i].args);
		ck_assert_msg(alertwall_store_update(stores[i], "shared",
				set_value, (void *)isolation_cases[i].value,
				&error) == 0, "case %u: %s", i, error);
	}
	for (i = 0; i < N_ELEMENTS(isolation_cases); i++) {
		ck_assert_msg(alertwall_store_get(stores[i], "shared", &value,
						  &error) == 1, "case %u", i);
		ck_assert_msg(strcmp(value, isolation_cases[i].value) == 0,
			      "case %u: '%s'", i, value);
		i_zero(&ctx);
		ck_assert_int_eq(alertwall_store_iterate(stores[i], count_cb,
							 &ctx, &error), 0);
		ck_assert_msg(ctx.count == 1, "case %u: %u keys", i, ctx.count);
		ck_assert_msg(strcmp(ctx.last_key, "shared") == 0 &&
			      strcmp(ctx.last_value, isolation_cases[i].value) == 0,
			      "case %u: %s=%s", i, ctx.last_key,
			      ctx.last_value);
	}
	/* deleting in one leaves the others */
	ck_assert_int_eq(alertwall_store_update(stores[1], "shared", set_value,
						"", &error), 0);
	ck_assert_int_eq(alertwall_store_get(stores[1], "shared", &value,
					     &error), 0);
	for (i = 0; i < N_ELEMENTS(isolation_cases); i++) {
		if (i != 1) {
			ck_assert_msg(alertwall_store_get(stores[i], "shared",
					&value, &error) == 1, "case %u", i);
		}
	}

	/* the unix socket reaches the same data */
	sock_store = store_open_uri(t_strdup_printf("redis:socket=%s/redis.sock",
						    redis.dir));
	ck_assert_int_eq(alertwall_store_get(sock_store, "shared", &value,
					     &error), 1);
	ck_assert_str_eq(value, isolation_cases[0].value);
	ck_assert_int_eq(alertwall_store_update(sock_store, "via-socket",
						set_value, "s", &error), 0);
	ck_assert_int_eq(alertwall_store_get(stores[0], "via-socket", &value,
					     &error), 1);
	ck_assert_str_eq(value, "s");
	alertwall_store_deinit(&sock_store);

	for (i = 0; i < N_ELEMENTS(isolation_cases); i++)
		alertwall_store_deinit(&stores[i]);
}
END_TEST

/* Run a get, an update and an iterate that must all fail, each within
   MAX_BLOCK_MSECS and not faster than min_msecs, with an error naming the
   server and containing expect. */
static void
assert_ops_fail(struct alertwall_store *store, const char *expect,
		long long min_msecs, const char *what)
{
	const char *value, *error, *server;
	struct count_ctx ctx;
	long long start, elapsed;
	unsigned int op;
	int ret;

	server = t_strdup_printf("redis 127.0.0.1:%u: ", redis.port);
	for (op = 0; op < 3; op++) {
		error = NULL;
		i_zero(&ctx);
		start = now_msecs();
		if (op == 0)
			ret = alertwall_store_get(store, "k", &value, &error);
		else if (op == 1) {
			ret = alertwall_store_update(store, "k", increment,
						     NULL, &error);
		} else {
			ret = alertwall_store_iterate(store, count_cb, &ctx,
						      &error);
		}
		elapsed = now_msecs() - start;
		if (getenv("ALERTWALL_TEST_VERBOSE") != NULL) {
			i_info("%s: op %u failed after %lld ms: %s",
			       what, op, elapsed, error);
		}
		ck_assert_msg(ret == -1, "%s: op %u returned %d", what, op, ret);
		ck_assert_msg(elapsed < MAX_BLOCK_MSECS && elapsed >= min_msecs,
			      "%s: op %u took %lld ms", what, op, elapsed);
		ck_assert_msg(strstr(error, server) != NULL &&
			      strstr(error, expect) != NULL,
			      "%s: op %u: error '%s'", what, op, error);
	}
}

START_TEST(test_redis_server_down)
{
	struct alertwall_store *store = store_open("");
	struct alertwall_store *fresh;
	const char *value, *error;
	unsigned int port = redis.port;

	ck_assert_int_eq(alertwall_store_update(store, "k", set_value, "1",
						&error), 0);
	/* the store's connection is open when the server dies */
	redis_kill();
	assert_ops_fail(store, "Connection refused", 0, "killed");
	fresh = store_open("");
	assert_ops_fail(fresh, "Connection refused", 0, "killed, fresh store");
	alertwall_store_deinit(&fresh);

	/* back on the same port, empty (no persistence) */
	ck_assert(redis_start(port));
	ck_assert_int_eq(alertwall_store_get(store, "k", &value, &error), 0);
	ck_assert_int_eq(alertwall_store_update(store, "k", set_value, "2",
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k", &value, &error), 1);
	ck_assert_str_eq(value, "2");
	alertwall_store_deinit(&store);
}
END_TEST

START_TEST(test_redis_reconnect_once)
{
	struct alertwall_store *store = store_open("");
	const char *value, *error;
	unsigned int port = redis.port;

	ck_assert_int_eq(alertwall_store_update(store, "k", set_value, "1",
						&error), 0);
	/* a restart the store does not see: its connection is stale, the
	   first command fails and a new connection succeeds */
	redis_kill();
	ck_assert(redis_start(port));
	ck_assert_msg(alertwall_store_get(store, "k", &value, &error) == 0,
		      "get after restart: %s", error);

	ck_assert_int_eq(alertwall_store_update(store, "k", set_value, "2",
						&error), 0);
	redis_kill();
	ck_assert(redis_start(port));
	ck_assert_msg(alertwall_store_update(store, "k", increment, NULL,
					     &error) == 0,
		      "update after restart: %s", error);
	ck_assert_int_eq(alertwall_store_get(store, "k", &value, &error), 1);
	ck_assert_str_eq(value, "1");
	alertwall_store_deinit(&store);
}
END_TEST

#define HUNG_TIMEOUT_MSECS 300

START_TEST(test_redis_hung_server)
{
	struct alertwall_store *store, *fresh;
	const char *value, *error;
	const char *args = t_strdup_printf(":timeout_msecs=%u",
					   HUNG_TIMEOUT_MSECS);

	store = store_open(args);
	ck_assert_int_eq(alertwall_store_update(store, "k", set_value, "1",
						&error), 0);
	/* alive but not answering: connected, waiting for replies */
	ck_assert_int_eq(kill(redis.pid, SIGSTOP), 0);
	assert_ops_fail(store, "Timeout after 300 ms", HUNG_TIMEOUT_MSECS - 20,
			"hung");
	fresh = store_open(args);
	assert_ops_fail(fresh, "Timeout after 300 ms", HUNG_TIMEOUT_MSECS - 20,
			"hung, fresh store");
	ck_assert_int_eq(kill(redis.pid, SIGCONT), 0);

	/* the late replies went to closed connections, not to these */
	ck_assert_int_eq(alertwall_store_get(store, "k", &value, &error), 1);
	ck_assert_str_eq(value, "1");
	ck_assert_int_eq(alertwall_store_update(fresh, "k", increment, NULL,
						&error), 0);
	ck_assert_int_eq(alertwall_store_get(store, "k", &value, &error), 1);
	ck_assert_str_eq(value, "2");
	alertwall_store_deinit(&fresh);
	alertwall_store_deinit(&store);
}
END_TEST

/* What a fake server answers, and what get or update of "k" must make of
   it. The server reads once before sending each '|'-separated part; a
   trailing '|' makes it read once more and close without answering. The
   stored form of k=val is "k\nval". */
static const struct {
	/* g: get k, u: update k to "new", on one connection; the last
	   one's result is checked */
	const char *ops;
	const char *reply;	/* NULL: a 100 KB line without CRLF */
	size_t len;		/* 0: strlen(reply) */
	int ret;
	const char *expect;	/* the value, or a part of the error */
} reply_cases[] = {
	{ "g", "$-1\r\n", 0, 0, NULL },
	{ "g", "$5\r\nk\nval\r\n", 0, 1, "val" },
	{ "g", "$4\r\nk\n\r\n\r\n", 0, 1, "\r\n" },
	{ "g", "$5\r\nx\nval\r\n", 0, -1, "holds another key" },
	{ "g", "$3\r\nval\r\n", 0, -1, "holds another key" },
	{ "g", "$5\r\nk\nv\0l\r\n", 11, -1, "holds another key" },
	{ "g", "-ERR boom\r\n", 0, -1, "failed: ERR boom" },
	{ "g", "-WRONGTYPE Operation\r\n", 0, -1, "WRONGTYPE Operation" },
	/* control characters from the server never reach the log raw */
	{ "g", "-ERR a\033[2Jb\r\n", 0, -1, "ERR a?[2Jb" },
	{ "g", "$2000000\r\n", 0, -1, "bulk string of 2000000 bytes exceeds" },
	{ "g", "$5\r\nk\nv", 0, -1, "Connection closed by server" },
	{ "g", "", 0, -1, "Connection closed by server" },
	{ "g", "$3\r\nk\nvX\r\n", 0, -1, "bulk string not terminated by CRLF" },
	{ "g", "$x\r\n", 0, -1, "unexpected reply line '$x'" },
	{ "g", "$-2\r\n", 0, -1, "unexpected reply line" },
	{ "g", "$99999999999999999999\r\n", 0, -1, "unexpected reply line" },
	{ "g", "$\r\n", 0, -1, "unexpected reply line" },
	{ "g", ":5\r\n", 0, -1, "unexpected integer reply" },
	{ "g", "+OK\r\n", 0, -1, "unexpected status reply" },
	{ "g", "*1\r\n$5\r\nk\nval\r\n", 0, -1, "unexpected array reply" },
	{ "g", "hello\r\n", 0, -1, "unexpected reply line 'hello'" },
	{ "g", "\r\n", 0, -1, "unexpected reply line ''" },
	{ "g", "+OK\n", 0, -1, "not terminated by CRLF" },
	{ "g", "\n", 0, -1, "not terminated by CRLF" },
	{ "g", "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0, -1, "nested deeper than" },
	{ "g", "*99999999\r\n", 0, -1, "array of 99999999 elements exceeds" },
	{ "g", "*-7\r\n", 0, -1, "unexpected reply line" },
	{ "g", NULL, 0, -1, "longer than 65536 bytes" },

	/* WATCH+GET, then MULTI+SET+EXEC */
	{ "u", "+OK\r\n$-1\r\n|+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n", 0, 0, NULL },
	/* EXEC aborted by a concurrent change: the update starts over */
	{ "u", "+OK\r\n$-1\r\n|+OK\r\n+QUEUED\r\n*-1\r\n|"
		"+OK\r\n$5\r\nk\nold\r\n|+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n",
	  0, 0, NULL },
	/* the EXEC reply is lost: no second try, although the connection
	   was open before, and the error says so */
	{ "gu", "$-1\r\n|+OK\r\n$-1\r\n|", 0, -1, "Connection closed by "
	  "server (the update may or may not have been applied)" },
	{ "u", "+OK\r\n$-1\r\n|+OK\r\n+QUEUED\r\n"
		"-EXECABORT Transaction discarded\r\n", 0, -1,
	  "EXEC for alertwall:" },
	{ "u", "+OK\r\n$-1\r\n|+OK\r\n+QUEUED\r\n*1\r\n-OOM no memory\r\n",
	  0, -1, "failed: OOM no memory" },
	{ "u", "+OK\r\n$-1\r\n|+OK\r\n-ERR queue\r\n-EXECABORT x\r\n",
	  0, -1, "SET failed: ERR queue" },
	{ "u", "+OK\r\n$-1\r\n|+OK\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n",
	  0, -1, "unexpected reply" },
	/* errors before the write drop the WATCH (answered by +OK) */
	{ "u", "-ERR no watch\r\n$-1\r\n|+OK\r\n", 0, -1,
	  "WATCH failed: ERR no watch" },
	{ "u", "+OK\r\n$5\r\nx\nval\r\n|+OK\r\n", 0, -1, "holds another key" },
	{ "u", "+OK\r\n-WRONGTYPE w\r\n|+OK\r\n", 0, -1, "WRONGTYPE w" },
};

/* "--fake-server FD CASE": accept one connection on the listening FD and
   answer as the case says, then read until the client closes (so that
   closing never resets unread data). */
static int fake_server_main(const char *fd_arg, const char *case_arg)
{
	struct pollfd pfd;
	char buf[4096], *long_line = NULL;
	const char *reply, *part_end;
	unsigned int listen_fd, i;
	size_t len, part_len;
	ssize_t ret;
	int fd, exit_code = 0;

	if (str_to_uint(fd_arg, &listen_fd) < 0 ||
	    str_to_uint(case_arg, &i) < 0 || i >= N_ELEMENTS(reply_cases))
		return 2;
	reply = reply_cases[i].reply;
	if (reply == NULL) {
		len = 100 * 1024;
		reply = long_line = malloc(len + 1);
		if (long_line == NULL)
			return 2;
		memset(long_line, 'a', len);
		long_line[len] = '\0';
	}
	len = reply_cases[i].len != 0 ? reply_cases[i].len : strlen(reply);

	alarm(20);
	fd = accept(listen_fd, NULL, NULL);
	if (fd == -1) {
		free(long_line);
		return 3;
	}
	do {
		part_end = memchr(reply, '|', len);
		part_len = part_end == NULL ? len : (size_t)(part_end - reply);
		if (read(fd, buf, sizeof(buf)) <= 0) {
			exit_code = 4;
			break;
		}
		len -= part_len;
		while (part_len > 0) {
			/* the client may close first: no SIGPIPE */
			ret = send(fd, reply, part_len, MSG_NOSIGNAL);
			if (ret <= 0)
				break;
			reply += ret;
			part_len -= ret;
		}
		if (part_end != NULL) {
			reply = part_end + 1;
			len--;
		}
	} while (part_end != NULL);
	(void)shutdown(fd, SHUT_WR);
	memset(&pfd, 0, sizeof(pfd));
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 10000) > 0 && read(fd, buf, sizeof(buf)) > 0) ;
	(void)close(fd);
	free(long_line);
	return exit_code;
}

START_TEST(test_redis_hostile_replies)
{
	struct alertwall_store *store;
	const char *value, *error, *op;
	unsigned int i, port;
	pid_t pid;
	int listen_fd, status, ret = 0;

	for (i = 0; i < N_ELEMENTS(reply_cases); i++) {
		listen_fd = loopback_socket(TRUE, &port);
		pid = spawn_self("--fake-server", dec2str(listen_fd),
				 dec2str(i));
		i_close_fd(&listen_fd);

		store = store_open_uri(t_strdup_printf(
			"redis:host=127.0.0.1:port=%u:timeout_msecs=5000",
			port));
		for (op = reply_cases[i].ops; *op != '\0'; op++) {
			value = error = NULL;
			if (*op == 'u') {
				ret = alertwall_store_update(store, "k",
					set_value, "new", &error);
			} else {
				ret = alertwall_store_get(store, "k", &value,
							  &error);
			}
		}
		alertwall_store_deinit(&store);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "case %u: fake server failed", i);

		ck_assert_msg(ret == reply_cases[i].ret, "case %u: %d (%s)",
			      i, ret, error == NULL ? "" : error);
		if (ret == 1) {
			ck_assert_msg(strcmp(value, reply_cases[i].expect) == 0,
				      "case %u: '%s'", i, value);
		} else if (ret < 0) {
			ck_assert_msg(strstr(error, reply_cases[i].expect) != NULL,
				      "case %u: '%s'", i, error);
		}
	}
}
END_TEST

int main(int argc, char *argv[])
{
	Suite *s;
	TCase *tc_uri, *tc;

	if (argc == 4 && strcmp(argv[1], "--increment") == 0)
		return increment_main(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "--fake-server") == 0)
		return fake_server_main(argv[2], argv[3]);
	self_path = strchr(argv[0], '/') != NULL ? argv[0] : "/proc/self/exe";

	s = suite_create("store-redis");
	tc_uri = tcase_create("uri");
	tc = tcase_create("server");

	/* the server dies with the test, however the test ends */
	if (atexit(redis_kill_atexit) != 0)
		i_fatal("atexit() failed");

	tcase_add_test(tc_uri, test_redis_uri);
	tcase_add_test(tc_uri, test_redis_hostile_replies);
	suite_add_tcase(s, tc_uri);

	tcase_add_checked_fixture(tc, redis_setup, redis_teardown);
	tcase_add_test(tc, test_redis_basic);
	tcase_add_test(tc, test_redis_hostile_keys_and_iterate);
	tcase_add_test(tc, test_redis_concurrent_increments);
	tcase_add_test(tc, test_redis_isolation);
	tcase_add_test(tc, test_redis_server_down);
	tcase_add_test(tc, test_redis_reconnect_once);
	tcase_add_test(tc, test_redis_hung_server);
	suite_add_tcase(s, tc);
	return test_alertwall_run(s);
}
