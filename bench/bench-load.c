/* Copyright (c) 2026 alertwall authors */

/* bench-load: a small load generator for the benchmarks against a real
   Dovecot (bench/run-dovecot runs it). It forks one process per client;
   each opens one TCP connection and runs LMTP deliveries or IMAP command
   loops as fast as the server answers, for a time or for a number of
   operations, and the totals come out as one line of key=value pairs.
   It is in C so that the clients take as little of the machine's CPU
   from the Dovecot being measured as possible.

   usage: bench-load lmtp|imap -p PORT [-c CLIENTS] [-t SECS | -n COUNT]
			[-u USERFMT] [-U USERS] [-O OFFSET] [-s SIZE] [-w PASS]

   lmtp: MAIL, RCPT and DATA are pipelined (Dovecot offers PIPELINING),
   one recipient per transaction; operation k of the run goes to user
   (OFFSET + k) % USERS, so a fixed count spreads evenly over the users.
   imap: client i logs in as user (OFFSET + i) % USERS and loops over
   SELECT INBOX, FETCH 1:* (UID FLAGS RFC822.SIZE), FETCH of one message's
   header, STORE of \Seen on it (set and cleared on alternate loops) and
   NOOP; one loop is one operation. */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define BENCH_MAX_CLIENTS 256
#define BENCH_MAX_RECONNECTS 20
#define BENCH_LINE_MAX 65536
#define BENCH_CODE_MIN 200
#define BENCH_CODE_MAX 599

enum bench_mode {
	BENCH_MODE_LMTP,
	BENCH_MODE_IMAP,
};

struct bench_settings {
	enum bench_mode mode;
	unsigned int port;
	unsigned int clients;
	double secs;
	unsigned long count;
	const char *user_fmt;
	unsigned int users;
	unsigned int offset;
	unsigned int msg_size;
	const char *password;
};

/* what one client sends back to the parent through a pipe */
struct bench_result {
	unsigned long ops;
	unsigned long errors;
	double secs;
	/* final replies by code (LMTP), index code - BENCH_CODE_MIN */
	unsigned long codes[BENCH_CODE_MAX - BENCH_CODE_MIN + 1];
};

struct bench_conn {
	int fd;
	char buf[BENCH_LINE_MAX];
	size_t pos, len;
};

static struct bench_settings set;
static char *msg_body;
static size_t msg_body_len;

static void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fatal(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fputs("bench-load: ", stderr);
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
	exit(2);
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* USERFMT with its %u replaced by the user's number */
static const char *user_name(unsigned long n, char *buf, size_t size)
{
	const char *p = strstr(set.user_fmt, "%u");

	snprintf(buf, size, "%.*s%u%s", (int)(p - set.user_fmt), set.user_fmt,
		 (unsigned int)((set.offset + n) % set.users), p + 2);
	return buf;
}

/* ---- connection ---- */

static int conn_open(struct bench_conn *conn)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
	} addr;
	int one = 1;

	memset(conn, 0, sizeof(*conn));
	conn->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (conn->fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin.sin_family = AF_INET;
	addr.sin.sin_port = htons(set.port);
	addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(conn->fd, &addr.sa, sizeof(addr.sin)) < 0) {
		close(conn->fd);
		conn->fd = -1;
		return -1;
	}
	(void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static void conn_close(struct bench_conn *conn)
{
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
}

static int conn_write(struct bench_conn *conn, const void *data, size_t size)
{
	const char *p = data;
	ssize_t ret;

	while (size > 0) {
		ret = write(conn->fd, p, size);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += ret;
		size -= ret;
	}
	return 0;
}

static int conn_fill(struct bench_conn *conn)
{
	ssize_t ret;

	if (conn->pos > 0) {
		memmove(conn->buf, conn->buf + conn->pos, conn->len - conn->pos);
		conn->len -= conn->pos;
		conn->pos = 0;
	}
	if (conn->len == sizeof(conn->buf))
		return -1;
	do {
		ret = read(conn->fd, conn->buf + conn->len,
			   sizeof(conn->buf) - conn->len);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0)
		return -1;
	conn->len += ret;
	return 0;
}

/* Read one line (without CRLF) into line_r, valid until the next read.
   Returns 0, or -1 when the connection failed. */
static int conn_read_line(struct bench_conn *conn, const char **line_r,
			  size_t *len_r)
{
	char *start, *nl;

	for (;;) {
		start = conn->buf + conn->pos;
		nl = memchr(start, '\n', conn->len - conn->pos);
		if (nl != NULL)
			break;
		if (conn_fill(conn) < 0)
			return -1;
	}
	*len_r = nl - start;
	if (*len_r > 0 && start[*len_r - 1] == '\r')
		(*len_r)--;
	start[*len_r] = '\0';
	conn->pos += nl - start + 1;
	*line_r = start;
	return 0;
}

/* skip size raw bytes (an IMAP literal) */
static int conn_skip(struct bench_conn *conn, size_t size)
{
	size_t n;

	while (size > 0) {
		if (conn->pos == conn->len && conn_fill(conn) < 0)
			return -1;
		n = conn->len - conn->pos;
		if (n > size)
			n = size;
		conn->pos += n;
		size -= n;
	}
	return 0;
}

/* ---- LMTP ---- */

/* Read one (multi-line) SMTP reply. Returns its code, or -1. */
static int lmtp_read_reply(struct bench_conn *conn)
{
	const char *line;
	size_t len;

	do {
		if (conn_read_line(conn, &line, &len) < 0 || len < 3)
			return -1;
	} while (len > 3 && line[3] == '-');
	return atoi(line);
}

static int lmtp_login(struct bench_conn *conn)
{
	const char lhlo[] = "LHLO bench-load.example.test\r\n";

	if (conn_open(conn) < 0)
		return -1;
	if (lmtp_read_reply(conn) != 220 ||
	    conn_write(conn, lhlo, sizeof(lhlo) - 1) < 0 ||
	    lmtp_read_reply(conn) != 250) {
		conn_close(conn);
		return -1;
	}
	return 0;
}

static void result_code(struct bench_result *result, int code)
{
	if (code >= BENCH_CODE_MIN && code <= BENCH_CODE_MAX)
		result->codes[code - BENCH_CODE_MIN]++;
}

/* One delivery to user n. Returns 0 when it got a final reply (counted in
   result), -1 when the connection failed. */
static int lmtp_deliver(struct bench_conn *conn, unsigned long n,
			struct bench_result *result)
{
	char cmds[512], head[256], user[128];
	int len, mail_code, rcpt_code, data_code, code;

	user_name(n, user, sizeof(user));
	len = snprintf(cmds, sizeof(cmds),
		       "MAIL FROM:<bench@example.test>\r\n"
		       "RCPT TO:<%s>\r\nDATA\r\n", user);
	if (conn_write(conn, cmds, len) < 0)
		return -1;
	mail_code = lmtp_read_reply(conn);
	rcpt_code = lmtp_read_reply(conn);
	data_code = lmtp_read_reply(conn);
	if (mail_code < 0 || rcpt_code < 0 || data_code < 0)
		return -1;
	if (data_code != 354) {
		/* the recipient was refused (or the transaction): that
		   reply is the attempt's final one */
		code = rcpt_code / 100 != 2 ? rcpt_code :
			mail_code / 100 != 2 ? mail_code : data_code;
		result_code(result, code);
		if (conn_write(conn, "RSET\r\n", 6) < 0 ||
		    lmtp_read_reply(conn) < 0)
			return -1;
		return 0;
	}
	len = snprintf(head, sizeof(head),
		       "Message-ID: <bench-load.%d.%lu@example.test>\r\n"
		       "To: <%s@example.test>\r\n", (int)getpid(), n, user);
	if (conn_write(conn, head, len) < 0 ||
	    conn_write(conn, msg_body, msg_body_len) < 0)
		return -1;
	code = lmtp_read_reply(conn);
	if (code < 0)
		return -1;
	result_code(result, code);
	return 0;
}

/* ---- IMAP ---- */

/* Read until the tagged reply of tag. Returns 1 for OK, 0 for NO/BAD, -1
   when the connection failed. */
static int imap_read_tagged(struct bench_conn *conn, const char *tag)
{
	size_t taglen = strlen(tag), len;
	const char *line, *p;
	char *end;
	unsigned long lit;

	for (;;) {
		if (conn_read_line(conn, &line, &len) < 0)
			return -1;
		/* a literal follows a line ending in {N} */
		while (len > 2 && line[len - 1] == '}' &&
		       (p = strrchr(line, '{')) != NULL) {
			lit = strtoul(p + 1, &end, 10);
			if (*end != '}' || conn_skip(conn, lit) < 0 ||
			    conn_read_line(conn, &line, &len) < 0)
				return -1;
		}
		if (strncmp(line, tag, taglen) == 0 && line[taglen] == ' ')
			return strncmp(line + taglen + 1, "OK", 2) == 0 ? 1 : 0;
	}
}

static unsigned int imap_tag_seq;

static int imap_command(struct bench_conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int imap_command(struct bench_conn *conn, const char *fmt, ...)
{
	char tag[16], cmd[1024];
	va_list args;
	int len;

	snprintf(tag, sizeof(tag), "b%u", ++imap_tag_seq);
	len = snprintf(cmd, sizeof(cmd), "%s ", tag);
	va_start(args, fmt);
	len += vsnprintf(cmd + len, sizeof(cmd) - len - 2, fmt, args);
	va_end(args);
	memcpy(cmd + len, "\r\n", 2);
	if (conn_write(conn, cmd, len + 2) < 0)
		return -1;
	return imap_read_tagged(conn, tag);
}

static int imap_login(struct bench_conn *conn, unsigned int client)
{
	const char *line;
	char user[128];
	size_t len;

	if (conn_open(conn) < 0)
		return -1;
	if (conn_read_line(conn, &line, &len) < 0 ||
	    strncmp(line, "* OK", 4) != 0 ||
	    imap_command(conn, "LOGIN %s %s", user_name(client, user,
		    sizeof(user)), set.password) != 1) {
		conn_close(conn);
		return -1;
	}
	return 0;
}

static unsigned int imap_exists;

/* SELECT, remembering EXISTS for the loop's message numbers */
static int imap_select(struct bench_conn *conn)
{
	const char *line;
	char tag[16], cmd[64];
	size_t len;
	int n;

	snprintf(tag, sizeof(tag), "b%u", ++imap_tag_seq);
	n = snprintf(cmd, sizeof(cmd), "%s SELECT INBOX\r\n", tag);
	if (conn_write(conn, cmd, n) < 0)
		return -1;
	for (;;) {
		if (conn_read_line(conn, &line, &len) < 0)
			return -1;
		if (line[0] == '*' && strstr(line, " EXISTS") != NULL)
			imap_exists = strtoul(line + 2, NULL, 10);
		if (strncmp(line, tag, strlen(tag)) == 0)
			return strstr(line, " OK") != NULL ? 1 : 0;
	}
}

/* One loop. Returns 1 when every command said OK, 0 when one did not,
   -1 when the connection failed. */
static int imap_loop(struct bench_conn *conn, unsigned long n)
{
	unsigned int seq;
	int ret, all_ok = 1;

	if ((ret = imap_select(conn)) < 0)
		return -1;
	all_ok &= ret;
	if (imap_exists == 0) {
		ret = imap_command(conn, "NOOP");
		return ret < 0 ? -1 : 0;
	}
	seq = n % imap_exists + 1;
	if ((ret = imap_command(conn, "FETCH 1:* (UID FLAGS RFC822.SIZE)")) < 0)
		return -1;
	all_ok &= ret;
	if ((ret = imap_command(conn, "FETCH %u (BODY.PEEK[HEADER])", seq)) < 0)
		return -1;
	all_ok &= ret;
	if ((ret = imap_command(conn, "STORE %u %cFLAGS.SILENT (\\Seen)", seq,
				(n / imap_exists) % 2 == 0 ? '+' : '-')) < 0)
		return -1;
	all_ok &= ret;
	if ((ret = imap_command(conn, "NOOP")) < 0)
		return -1;
	return all_ok & ret;
}

/* ---- clients ---- */

static int client_login(struct bench_conn *conn, unsigned int client)
{
	return set.mode == BENCH_MODE_LMTP ? lmtp_login(conn) :
		imap_login(conn, client);
}

static void client_logout(struct bench_conn *conn)
{
	if (conn->fd < 0)
		return;
	if (set.mode == BENCH_MODE_LMTP) {
		if (conn_write(conn, "QUIT\r\n", 6) == 0)
			(void)lmtp_read_reply(conn);
	} else {
		(void)imap_command(conn, "LOGOUT");
	}
	conn_close(conn);
}

static void client_run(unsigned int client, int ready_fd, int go_fd,
		       int result_fd)
{
	struct bench_result result;
	struct bench_conn conn;
	unsigned long n, step = set.clients;
	unsigned int reconnects = 0;
	double start, deadline;
	char c;
	int ret;

	memset(&result, 0, sizeof(result));
	if (client_login(&conn, client) < 0)
		fatal("client %u: connecting or logging in failed: %s",
		      client, strerror(errno));
	/* all clients connected, then all start at once */
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) < 0)
		fatal("client %u: start pipe failed", client);

	start = now_secs();
	deadline = start + set.secs;
	for (n = client; ; n += step) {
		if (set.count > 0 ? n >= set.count : now_secs() >= deadline)
			break;
		if (conn.fd < 0) {
			if (++reconnects > BENCH_MAX_RECONNECTS)
				fatal("client %u: too many reconnects", client);
			if (client_login(&conn, client) < 0) {
				result.errors++;
				usleep(10000);
				n -= step;
				continue;
			}
		}
		ret = set.mode == BENCH_MODE_LMTP ?
			lmtp_deliver(&conn, n, &result) :
			imap_loop(&conn, n / step);
		if (ret < 0) {
			/* the attempt is lost: count it, reconnect */
			result.errors++;
			conn_close(&conn);
			continue;
		}
		if (set.mode == BENCH_MODE_IMAP && ret == 0)
			result.errors++;
		result.ops++;
	}
	result.secs = now_secs() - start;
	client_logout(&conn);
	if (write(result_fd, &result, sizeof(result)) != sizeof(result))
		fatal("client %u: result pipe failed", client);
	exit(0);
}

/* ---- main ---- */

static void msg_body_init(void)
{
	const char head[] =
		"From: <bench@example.test>\r\n"
		"Subject: bench-load\r\n"
		"Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"\r\n";
	size_t pos;

	msg_body = malloc(set.msg_size + sizeof(head) + 128);
	if (msg_body == NULL)
		fatal("out of memory");
	memcpy(msg_body, head, sizeof(head) - 1);
	pos = sizeof(head) - 1;
	/* lines of 78 x's; none starts with a dot */
	while (pos < set.msg_size) {
		size_t n = set.msg_size - pos > 80 ? 78 : 1;

		memset(msg_body + pos, 'x', n);
		pos += n;
		memcpy(msg_body + pos, "\r\n", 2);
		pos += 2;
	}
	memcpy(msg_body + pos, ".\r\n", 3);
	msg_body_len = pos + 3;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-load lmtp|imap -p PORT [-c CLIENTS] "
		"[-t SECS | -n COUNT] [-u USERFMT] [-U USERS] [-O OFFSET] "
		"[-s SIZE] [-w PASSWORD]\n");
	exit(2);
}

static void print_totals(const struct bench_result *total, double secs)
{
	unsigned int i;
	bool first = true;

	printf("mode=%s clients=%u ops=%lu secs=%.4f rate=%.2f errors=%lu "
	       "codes=", set.mode == BENCH_MODE_LMTP ? "lmtp" : "imap",
	       set.clients, total->ops, secs,
	       secs > 0 ? total->ops / secs : 0.0, total->errors);
	for (i = 0; i < BENCH_CODE_MAX - BENCH_CODE_MIN + 1; i++) {
		if (total->codes[i] == 0)
			continue;
		printf("%s%u:%lu", first ? "" : ",", i + BENCH_CODE_MIN,
		       total->codes[i]);
		first = false;
	}
	printf("%s\n", first ? "-" : "");
}

int main(int argc, char *argv[])
{
	struct bench_result total, result;
	int ready[2], go[2], results[2], opt, status;
	unsigned int i, j;
	double secs = 0;
	pid_t pid;
	char c;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "lmtp") == 0)
		set.mode = BENCH_MODE_LMTP;
	else if (strcmp(argv[1], "imap") == 0)
		set.mode = BENCH_MODE_IMAP;
	else
		usage();
	set.clients = 4;
	set.secs = 5;
	set.user_fmt = "bench%u";
	set.users = 1;
	set.msg_size = 4096;
	set.password = "pass";
	optind = 2;
	while ((opt = getopt(argc, argv, "p:c:t:n:u:U:O:s:w:")) != -1) {
		switch (opt) {
		case 'p': set.port = strtoul(optarg, NULL, 10); break;
		case 'c': set.clients = strtoul(optarg, NULL, 10); break;
		case 't': set.secs = strtod(optarg, NULL); break;
		case 'n': set.count = strtoul(optarg, NULL, 10); break;
		case 'u': set.user_fmt = optarg; break;
		case 'U': set.users = strtoul(optarg, NULL, 10); break;
		case 'O': set.offset = strtoul(optarg, NULL, 10); break;
		case 's': set.msg_size = strtoul(optarg, NULL, 10); break;
		case 'w': set.password = optarg; break;
		default: usage();
		}
	}
	if (set.port == 0 || set.clients == 0 ||
	    set.clients > BENCH_MAX_CLIENTS || set.users == 0 ||
	    strstr(set.user_fmt, "%u") == NULL)
		usage();
	msg_body_init();
	signal(SIGPIPE, SIG_IGN);

	if (pipe(ready) < 0 || pipe(go) < 0 || pipe(results) < 0)
		fatal("pipe() failed: %s", strerror(errno));
	for (i = 0; i < set.clients; i++) {
		pid = fork();
		if (pid < 0)
			fatal("fork() failed: %s", strerror(errno));
		if (pid == 0) {
			close(go[1]);
			close(ready[0]);
			close(results[0]);
			client_run(i, ready[1], go[0], results[1]);
		}
	}
	/* only the clients write: a client that dies makes reads fail */
	close(go[0]);
	close(ready[1]);
	close(results[1]);
	for (i = 0; i < set.clients; i++) {
		if (read(ready[0], &c, 1) != 1)
			fatal("a client failed before the start");
	}
	/* EOF on the go pipe starts them all */
	close(go[1]);

	memset(&total, 0, sizeof(total));
	for (i = 0; i < set.clients; i++) {
		if (read(results[0], &result, sizeof(result)) != sizeof(result))
			fatal("a client failed during the run");
		total.ops += result.ops;
		total.errors += result.errors;
		for (j = 0; j < sizeof(total.codes) / sizeof(total.codes[0]); j++)
			total.codes[j] += result.codes[j];
		/* the slowest client's time, its logout not included */
		if (result.secs > secs)
			secs = result.secs;
	}
	for (i = 0; i < set.clients; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			fatal("a client exited abnormally");
	}
	print_totals(&total, secs);
	return 0;
}
