/* Copyright (c) 2026 alertwall authors */

/* doveadm-alertwall-summary: "doveadm alertwall summary [-s SINCE]", the
   monitoring dashboard in text. Counts the sidecar log's records of the
   period by event, and the alerts raised or escalated in it by level,
   scope and code; adds what the state store holds now: the open alerts
   by code, the suspended mailboxes and the active silences. One row per
   number (section, name, count, detail), through doveadm's formatter.
   Registered by doveadm-alertwall.c. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "doveadm.h"
#include "doveadm-cmd.h"
#include "doveadm-print.h"
#include "alertwall-silence.h"
#include "doveadm-alertwall.h"

#define SUMMARY_DEFAULT_SINCE "24h"

struct summary_count {
	const char *name;
	unsigned int count;
	/* suspended rows: what suspends it */
	const char *detail;
};
ARRAY_DEFINE_TYPE(summary_count, struct summary_count);

struct summary_ctx {
	pool_t pool;
	unsigned int records;
	unsigned int alerts;
	ARRAY_TYPE(summary_count) events;
	ARRAY_TYPE(summary_count) levels;
	ARRAY_TYPE(summary_count) scopes;
	ARRAY_TYPE(summary_count) codes;

	/* from the state store */
	ARRAY_TYPE(summary_count) open_codes;
	ARRAY_TYPE(summary_count) suspended;
	ARRAY(struct alertwall_open_alert) open;
	unsigned int open_total;
};

/* these rows are always printed, in this order, also when 0 */
static const char *const summary_events[] = {
	"raised", "repeated", "escalated", "suspended", "resolved",
	"dismissed", "enabled", "undeliverable"
};
static const char *const summary_levels[] = { "error", "warning", "info" };
static const char *const summary_scopes[] = { "email", "mailbox", "profile" };

static void summary_counts_init(struct summary_ctx *ctx,
				ARRAY_TYPE(summary_count) *counts,
				const char *const *names, unsigned int count)
{
	struct summary_count *row;
	unsigned int i;

	p_array_init(counts, ctx->pool, 16);
	for (i = 0; i < count; i++) {
		row = array_append_space(counts);
		row->name = names[i];
	}
}

static struct summary_count *
summary_count_add(struct summary_ctx *ctx, ARRAY_TYPE(summary_count) *counts,
		  const char *name, unsigned int n)
{
	struct summary_count *row;

	array_foreach_modifiable(counts, row) {
		if (strcmp(row->name, name) == 0) {
			row->count += n;
			return row;
		}
	}
	row = array_append_space(counts);
	row->name = p_strdup(ctx->pool, name);
	row->count = n;
	return row;
}

static int summary_count_cmp(const struct summary_count *a,
			     const struct summary_count *b)
{
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void summary_record(const struct doveadm_alertwall_record *rec,
			   void *context)
{
	struct summary_ctx *ctx = context;

	if (rec->event == NULL)
		return;
	ctx->records++;
	(void)summary_count_add(ctx, &ctx->events, rec->event, 1);
	/* the other counts are of alerts: a repeat or a follow-up is not
	   another alert */
	if (strcmp(rec->event, "raised") != 0 &&
	    strcmp(rec->event, "escalated") != 0)
		return;
	ctx->alerts++;
	if (rec->level != NULL)
		(void)summary_count_add(ctx, &ctx->levels, rec->level, 1);
	if (rec->scope != NULL)
		(void)summary_count_add(ctx, &ctx->scopes, rec->scope, 1);
	if (rec->code != NULL)
		(void)summary_count_add(ctx, &ctx->codes, rec->code, 1);
}

static bool summary_alert(const struct alertwall_open_alert *alert,
			  void *context)
{
	struct summary_ctx *ctx = context;
	struct summary_count *row;
	struct alertwall_open_alert *copy;

	if (alert->id == NULL || alert->code == NULL ||
	    !doveadm_alertwall_status_is_open(alert->state.status))
		return TRUE;
	ctx->open_total++;
	(void)summary_count_add(ctx, &ctx->open_codes, alert->code, 1);
	copy = array_append_space(&ctx->open);
	doveadm_alertwall_alert_copy(ctx->pool, alert, copy);
	if (alert->state.suspended && alert->user != NULL) {
		row = summary_count_add(ctx, &ctx->suspended, alert->user,
					alert->state.total);
		row->detail = p_strdup_printf(ctx->pool, "%s %s", alert->code,
					      alert->id);
	}
	return TRUE;
}

static void summary_row(const char *section, const char *name,
			unsigned int count, const char *detail)
{
	doveadm_print(section);
	doveadm_print(name);
	doveadm_print_num(count);
	doveadm_print(detail == NULL ? "" : detail);
}

static void summary_rows(const char *section,
			 const ARRAY_TYPE(summary_count) *counts)
{
	const struct summary_count *row;

	array_foreach(counts, row)
		summary_row(section, row->name, row->count, row->detail);
}

/* the open alerts that a silence selects */
static unsigned int
summary_silenced(const struct summary_ctx *ctx,
		 const struct alertwall_silence *silence, time_t now)
{
	const struct alertwall_open_alert *alert;
	unsigned int count = 0;

	array_foreach(&ctx->open, alert) {
		if (alertwall_silence_matches(silence, alert->code,
					      alert->user, alert->profile,
					      now))
			count++;
	}
	return count;
}

static void cmd_alertwall_summary(struct doveadm_cmd_context *cctx)
{
	struct alertwall_engine_settings set;
	struct alertwall_store *store;
	struct summary_ctx ctx;
	ARRAY_TYPE(alertwall_silence) silences;
	const struct alertwall_silence *silence;
	const char *since_arg = SUMMARY_DEFAULT_SINCE, *error;
	time_t now = ioloop_time, since;

	(void)doveadm_cmd_param_str(cctx, "since", &since_arg);
	if (doveadm_alertwall_parse_since(since_arg, now, &since,
					  &error) < 0) {
		i_error("%s", error);
		doveadm_exit_code = EX_USAGE;
		return;
	}
	doveadm_alertwall_settings(&set);
	store = alertwall_engine_store(&set, &error);
	if (store == NULL) {
		i_error("Reading the alert state failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		return;
	}

	i_zero(&ctx);
	ctx.pool = pool_alloconly_create("alertwall summary", 4096);
	summary_counts_init(&ctx, &ctx.events, summary_events,
			    N_ELEMENTS(summary_events));
	summary_counts_init(&ctx, &ctx.levels, summary_levels,
			    N_ELEMENTS(summary_levels));
	summary_counts_init(&ctx, &ctx.scopes, summary_scopes,
			    N_ELEMENTS(summary_scopes));
	p_array_init(&ctx.codes, ctx.pool, 16);
	p_array_init(&ctx.open_codes, ctx.pool, 16);
	p_array_init(&ctx.suspended, ctx.pool, 16);
	p_array_init(&ctx.open, ctx.pool, 32);
	p_array_init(&silences, ctx.pool, 4);

	if (doveadm_alertwall_read_log(set.log_path,
				       (long long)since * 1000000LL,
				       summary_record, &ctx) < 0) {
		/* logged */
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&ctx.pool);
		return;
	}
	if (alertwall_engine_iterate(&set, summary_alert, &ctx, &error) < 0 ||
	    alertwall_silence_list(store, now, ctx.pool, &silences,
				   &error) < 0) {
		i_error("Reading the alert state failed: %s", error);
		doveadm_exit_code = EX_TEMPFAIL;
		pool_unref(&ctx.pool);
		return;
	}
	array_sort(&ctx.codes, summary_count_cmp);
	array_sort(&ctx.open_codes, summary_count_cmp);
	array_sort(&ctx.suspended, summary_count_cmp);

	doveadm_alertwall_print_init(DOVEADM_PRINT_TYPE_TABLE);
	doveadm_print_header_simple("section");
	doveadm_print_header_simple("name");
	doveadm_print_header("count", "count",
			     DOVEADM_PRINT_HEADER_FLAG_NUMBER |
			     DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
	doveadm_print_header_simple("detail");

	summary_row("period", doveadm_alertwall_time(since), ctx.records,
		    t_strconcat("until ", doveadm_alertwall_time(now), NULL));
	summary_row("total", "alerts", ctx.alerts, "raised or escalated "
		    "in the period");
	summary_row("total", "open", ctx.open_total, "now");
	summary_row("total", "suspended", array_count(&ctx.suspended), "now");
	summary_row("total", "silences", array_count(&silences), "now");
	summary_rows("event", &ctx.events);
	summary_rows("level", &ctx.levels);
	summary_rows("scope", &ctx.scopes);
	summary_rows("code", &ctx.codes);
	summary_rows("open", &ctx.open_codes);
	summary_rows("suspended", &ctx.suspended);
	array_foreach(&silences, silence) {
		summary_row("silence", alertwall_silence_selector(silence),
			    summary_silenced(&ctx, silence, now),
			    t_strdup_printf("%s until %s%s%s", silence->id,
				doveadm_alertwall_time(silence->expires),
				*silence->reason == '\0' ? "" : ": ",
				silence->reason));
	}
	pool_unref(&ctx.pool);
}

static struct doveadm_cmd_ver2 alertwall_summary_command = {
	.name = "alertwall summary",
	.cmd = cmd_alertwall_summary,
	.usage = "[-s <since>]",
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_PARAM('s', "since", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAMS_END
};

void doveadm_alertwall_summary_register(void)
{
	doveadm_cmd_register_ver2(&alertwall_summary_command);
}
