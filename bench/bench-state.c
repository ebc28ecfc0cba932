/* Copyright (c) 2026 alertwall authors */

/* bench-state: whether the cost of a failure stays flat as the state store
   grows. bench/run-dovecot runs it for the file store and for real
   redis-servers; it also runs alone:

       bench-state [-c CALLS] -s SIZE,SIZE,... STORE-URI STORE-URI ...

   One empty store ("file:DIR" or "redis:host=H:port=P") per size. Each is
   filled with that many objects shaped like the engine's own (the value
   of a real alert, under the key of another mailbox each): the file store
   through the store API, redis with SETs piped into "redis-cli --pipe" in
   the backend's format (the API's round trips would take many minutes for
   a million), checked by reading one object back through the API.

   Then the same operations are timed on every store, CALLS times each,
   taking turns operation by operation and store by store, so that the
   load of a shared machine, which changes from second to second, hits
   all sizes alike:

   - new alert: alertwall_engine_failure() for a mailbox never seen (state
     update, id and user index entries, sidecar record, spooled mails);
   - repeat: alertwall_engine_failure() for one open alert (state update);
   - success path: the user index lookup every delivery makes;
   - update: one read-modify-write of a random existing filler object.

   Medians and p99 are printed per size; the last line compares the
   largest store with the smallest. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "strescape.h"
#include "sha1.h"
#include "hex-binary.h"
#include "unlink-directory.h"
#include "alertwall-engine.h"
#include "bench-common.h"
#include "alertwall-store.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BENCH_DEFAULT_CALLS 1000
#define BENCH_MAX_STORES 8
/* the target: the largest store's median within this factor of the
   smallest's (the noise of a shared machine is about that large) */
#define BENCH_FLAT_FACTOR 1.5
/* untimed turns of all operations for this long before the timed ones */
#define BENCH_WARMUP_SECS 0.5

enum bench_op {
	BENCH_OP_NEW,
	BENCH_OP_REPEAT,
	BENCH_OP_LOOKUP,
	BENCH_OP_UPDATE,

	BENCH_OP_COUNT
};

static const char *const bench_op_names[BENCH_OP_COUNT] = {
	"new alert",
	"repeat of an open alert",
	"success path (index get)",
	"update of a filler object",
};

struct bench_store {
	const char *uri;
	unsigned int size;
	struct alertwall_engine_settings set;
	struct alertwall_store *store;
	/* redis: "redis-cli -h HOST -p PORT --pipe" and the key prefix */
	char *redis_cli;
	char *redis_prefix;
	unsigned int new_seq;
	double *samples[BENCH_OP_COUNT];
	double medians[BENCH_OP_COUNT];
};

struct bench_context {
	struct bench_store stores[BENCH_MAX_STORES];
	unsigned int store_count;
	struct alertwall_classification class;
	char *filler_value;
	unsigned int calls;
};

static void engine_failure(struct bench_store *bs, const char *user)
{
	struct alertwall_profile_subject subject;
	struct alertwall_failure failure;

	bench_failure_init(&failure, user);
	i_zero(&subject);
	subject.user = user;
	alertwall_engine_failure(&bs->set, &failure, &subject, NULL);
}

static const char *filler_key(struct bench_context *ctx, unsigned int n)
{
	struct alertwall_failure failure;
	string_t *key = t_str_new(128);

	bench_failure_init(&failure, t_strdup_printf("filler%u", n));
	alertwall_state_key(&ctx->class, &failure, "default", key);
	return str_c(key);
}

static bool set_value(const char *old_value ATTR_UNUSED, string_t *new_value,
		      void *context)
{
	str_append(new_value, context);
	return TRUE;
}

/* rewrites the value as it is, as a repeat that changes nothing would */
static bool touch_value(const char *old_value, string_t *new_value,
			void *context ATTR_UNUSED)
{
	if (old_value == NULL)
		return FALSE;
	str_append(new_value, old_value);
	return TRUE;
}

/* A real alert's stored value, to be copied under the filler keys. */
static void bench_template_init(struct bench_context *ctx)
{
	struct bench_store *bs = &ctx->stores[0];
	struct alertwall_failure failure;
	const char *value, *error;
	string_t *key = t_str_new(128);

	engine_failure(bs, "template");
	bench_failure_init(&failure, "template");
	alertwall_rules_classify(alertwall_engine_rules(&bs->set), &failure,
				 &ctx->class);
	alertwall_state_key(&ctx->class, &failure, "default", key);
	if (alertwall_store_get(bs->store, str_c(key), &value, &error) <= 0)
		i_fatal("the template alert was not stored: %s", error);
	ctx->filler_value = i_strdup(value);
}

static void redis_args_parse(struct bench_store *bs, const char *args)
{
	const char *const *p, *host = "127.0.0.1", *port = "6379";
	const char *prefix = "alertwall:";

	for (p = t_strsplit(args, ":"); *p != NULL; p++) {
		if (str_begins(*p, "host="))
			host = *p + 5;
		else if (str_begins(*p, "port="))
			port = *p + 5;
		else if (str_begins(*p, "prefix="))
			prefix = *p + 7;
		else
			i_fatal("bench-state handles only host, port and prefix "
				"in a redis URI, not '%s'", *p);
	}
	bs->redis_cli = i_strdup_printf(
		"redis-cli -h %s -p %s --pipe >/dev/null", host, port);
	bs->redis_prefix = i_strdup(prefix);
}

static void resp_append_bulk(string_t *dest, const char *data, size_t size)
{
	str_printfa(dest, "$%zu\r\n", size);
	str_append_data(dest, data, size);
	str_append(dest, "\r\n");
}

/* SET each filler as the redis backend stores it: PREFIX + hex SHA-1 of
   the key, holding the tab-escaped key, a newline and the value */
static void bench_fill_redis(struct bench_context *ctx, struct bench_store *bs)
{
	unsigned char digest[SHA1_RESULTLEN];
	const char *key, *name, *value, *error;
	string_t *cmd, *stored;
	unsigned int n;
	FILE *pipe;

	pipe = popen(bs->redis_cli, "w");
	if (pipe == NULL)
		i_fatal("popen(%s) failed: %m", bs->redis_cli);
	for (n = 0; n < bs->size; n++) T_BEGIN {
		key = filler_key(ctx, n);
		sha1_get_digest(key, strlen(key), digest);
		name = t_strconcat(bs->redis_prefix,
				   binary_to_hex(digest, sizeof(digest)), NULL);
		stored = t_str_new(512);
		str_append_tabescaped(stored, key);
		str_append_c(stored, '\n');
		str_append(stored, ctx->filler_value);
		cmd = t_str_new(1024);
		str_append(cmd, "*3\r\n");
		resp_append_bulk(cmd, "SET", 3);
		resp_append_bulk(cmd, name, strlen(name));
		resp_append_bulk(cmd, str_c(stored), str_len(stored));
		if (fwrite(str_data(cmd), str_len(cmd), 1, pipe) != 1)
			i_fatal("writing to %s failed: %m", bs->redis_cli);
	} T_END;
	if (pclose(pipe) != 0)
		i_fatal("%s failed", bs->redis_cli);
	/* the backend must read them as its own */
	if (alertwall_store_get(bs->store, filler_key(ctx, bs->size - 1),
				&value, &error) <= 0 ||
	    strcmp(value, ctx->filler_value) != 0) {
		i_fatal("the store does not read back the piped fillers: "
			"bench-state's redis format is out of date");
	}
}

static void bench_fill(struct bench_context *ctx, struct bench_store *bs)
{
	const char *error;
	double start = bench_now_usecs();
	unsigned int n;

	if (bs->redis_cli != NULL)
		bench_fill_redis(ctx, bs);
	else {
		for (n = 0; n < bs->size; n++) T_BEGIN {
			if (alertwall_store_update(bs->store,
					filler_key(ctx, n), set_value,
					ctx->filler_value, &error) < 0)
				i_fatal("filling the store failed: %s", error);
		} T_END;
	}
	printf("  filled %s with %u objects in %.1f s\n", bs->uri, bs->size,
	       (bench_now_usecs() - start) / 1e6);
}

static void bench_op(struct bench_context *ctx, struct bench_store *bs,
		     enum bench_op op, unsigned int i)
{
	const char *value, *error;

	switch (op) {
	case BENCH_OP_NEW:
		engine_failure(bs, t_strdup_printf("new%u", bs->new_seq++));
		break;
	case BENCH_OP_REPEAT:
		engine_failure(bs, "repeater");
		break;
	case BENCH_OP_LOOKUP:
		/* what alertwall_engine_is_suspended() and _success() read
		   for a user with no alert: most deliveries */
		if (alertwall_store_get(bs->store, t_strdup_printf(
				"USER\thealthy%u", i), &value, &error) < 0)
			i_fatal("store get failed: %s", error);
		break;
	case BENCH_OP_UPDATE:
		if (alertwall_store_update(bs->store,
				filler_key(ctx, random() % bs->size),
				touch_value, NULL, &error) < 0)
			i_fatal("store update failed: %s", error);
		break;
	case BENCH_OP_COUNT:
		i_unreached();
	}
}

static void bench_measure(struct bench_context *ctx)
{
	struct bench_store *bs;
	enum bench_op op;
	unsigned int i, s;
	double start, *v;

	start = bench_now_usecs();
	for (i = 0; bench_now_usecs() - start < BENCH_WARMUP_SECS * 1e6; i++) T_BEGIN {
		bs = &ctx->stores[i % ctx->store_count];
		bench_op(ctx, bs, (i / ctx->store_count) % BENCH_OP_COUNT,
			 ctx->calls + i);
	} T_END;
	for (i = 0; i < ctx->calls; i++) {
		for (op = 0; op < BENCH_OP_COUNT; op++) {
			for (s = 0; s < ctx->store_count; s++) T_BEGIN {
				bs = &ctx->stores[s];
				start = bench_now_usecs();
				bench_op(ctx, bs, op, i);
				bs->samples[op][i] = bench_now_usecs() - start;
			} T_END;
		}
	}
	for (s = 0; s < ctx->store_count; s++) {
		bs = &ctx->stores[s];
		printf("%u objects:\n", bs->size);
		for (op = 0; op < BENCH_OP_COUNT; op++) {
			v = bs->samples[op];
			qsort(v, ctx->calls, sizeof(double), bench_cmp_double);
			bs->medians[op] = v[ctx->calls / 2];
			printf("  %-28s median %8.1f us  p99 %8.1f us\n",
			       bench_op_names[op], v[ctx->calls / 2],
			       v[ctx->calls * 99 / 100]);
		}
	}
}

static unsigned int parse_sizes(const char *arg, unsigned int *sizes)
{
	const char *const *p;
	unsigned int count = 0;

	for (p = t_strsplit(arg, ","); *p != NULL; p++) {
		if (count == BENCH_MAX_STORES || str_to_uint(*p, &sizes[count]) < 0 ||
		    sizes[count] == 0 || (count > 0 && sizes[count] <= sizes[count - 1]))
			i_fatal("-s: ascending sizes, at most %u", BENCH_MAX_STORES);
		count++;
	}
	return count;
}

static void ATTR_NORETURN usage(void)
{
	i_fatal("usage: bench-state [-c CALLS] -s SIZE,... STORE-URI...");
}

int main(int argc, char *argv[])
{
	struct bench_context ctx;
	struct bench_store *bs, *first, *last;
	unsigned int sizes[BENCH_MAX_STORES], s;
	char template[] = "/tmp/alertwall-bench-state.XXXXXX";
	const char *sizes_arg = NULL, *error;
	enum bench_op op;
	bool flat = TRUE;
	int opt;

	lib_init();
	i_zero(&ctx);
	ctx.calls = BENCH_DEFAULT_CALLS;
	while ((opt = getopt(argc, argv, "c:s:")) != -1) {
		switch (opt) {
		case 'c':
			if (str_to_uint(optarg, &ctx.calls) < 0 || ctx.calls < 10)
				i_fatal("-c: at least 10 calls");
			break;
		case 's':
			sizes_arg = optarg;
			break;
		default:
			usage();
		}
	}
	if (sizes_arg == NULL)
		usage();
	ctx.store_count = parse_sizes(sizes_arg, sizes);
	if (argc - optind != (int)ctx.store_count)
		i_fatal("one store URI per size");
	/* the log lines go where a mail process's would not: nowhere */
	i_set_failure_file("/dev/null", "bench-state: ");
	if (mkdtemp(template) == NULL)
		i_fatal("mkdtemp() failed: %m");

	for (s = 0; s < ctx.store_count; s++) {
		bs = &ctx.stores[s];
		bs->uri = argv[optind + s];
		bs->size = sizes[s];
		alertwall_engine_settings_init(&bs->set);
		bs->set.rules_path = TOP_SRCDIR"/conf.d/alertwall.yaml";
		bs->set.log_path = t_strconcat(template, "/alertwall.jsonl", NULL);
		bs->set.state_uri = bs->uri;
		bs->set.spool.spool_dir = t_strconcat(template, "/spool", NULL);
		bs->set.spool.admin = "admin";
		bs->set.spool.notify_socket =
			t_strconcat(template, "/no-such-socket", NULL);
		/* one profile's correlation list would grow with every new
		   mailbox measured here; its cost is a matter of mailboxes,
		   not of objects */
		bs->set.correlate_mailboxes = 0;
		if (alertwall_store_init(bs->uri, &bs->store, &error) < 0)
			i_fatal("%s: %s", bs->uri, error);
		if (str_begins(bs->uri, "redis:"))
			redis_args_parse(bs, bs->uri + 6);
		for (op = 0; op < BENCH_OP_COUNT; op++)
			bs->samples[op] = i_new(double, ctx.calls);
	}
	srandom(1);

	printf("bench-state: %u calls per operation and store\n", ctx.calls);
	bench_template_init(&ctx);
	for (s = 0; s < ctx.store_count; s++)
		bench_fill(&ctx, &ctx.stores[s]);
	bench_measure(&ctx);

	first = &ctx.stores[0];
	last = &ctx.stores[ctx.store_count - 1];
	printf("bench-state %s: %u -> %u objects:",
	       last->redis_cli != NULL ? "redis" : "file", first->size,
	       last->size);
	for (op = 0; op < BENCH_OP_COUNT; op++) {
		double ratio = last->medians[op] / first->medians[op];

		printf("%s %s %.0f -> %.0f us (x%.2f)", op == 0 ? "" : ";",
		       bench_op_names[op], first->medians[op],
		       last->medians[op], ratio);
		if (ratio > BENCH_FLAT_FACTOR)
			flat = FALSE;
	}
	printf("; target flat (x%.1f at most): %s\n", BENCH_FLAT_FACTOR,
	       flat ? "met" : "MISSED");

	for (s = 0; s < ctx.store_count; s++) {
		bs = &ctx.stores[s];
		alertwall_store_deinit(&bs->store);
		for (op = 0; op < BENCH_OP_COUNT; op++)
			i_free(bs->samples[op]);
		i_free(bs->redis_cli);
		i_free(bs->redis_prefix);
	}
	alertwall_engine_deinit();
	i_free(ctx.filler_value);
	if (unlink_directory(template, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	lib_deinit();
	return 0;
}
