/* Copyright (c) 2026 alertwall authors */

/* alertwall-digest: renders the digest mail from the data that
   "doveadm alertwall digest" gathers (doveadm-alertwall-digest.c). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "crc32.h"
#include "hostpid.h"
#include "str-sanitize.h"
#include "message-date.h"
#include "qp-encoder.h"
#include "alertwall-json.h"
#include "alertwall-record.h"
#include "alertwall-report.h"
#include "alertwall-digest.h"

#include <ctype.h>

#define DIGEST_QP_LINE_LEN 76
/* code points of one value in the text part and in headers */
#define DIGEST_VALUE_MAX 120
#define DIGEST_SUMMARY_MAX 200

struct digest_code_count {
	const char *code;
	unsigned int count;
};

void alertwall_digest_init(struct alertwall_digest *digest_r, pool_t pool)
{
	i_zero(digest_r);
	p_array_init(&digest_r->open, pool, 16);
	p_array_init(&digest_r->new_alerts, pool, 16);
	p_array_init(&digest_r->silences, pool, 4);
}

unsigned int alertwall_digest_suspended_count(const struct alertwall_digest *digest)
{
	const struct alertwall_digest_open *open;
	unsigned int count = 0;

	array_foreach(&digest->open, open) {
		if (open->suspended)
			count++;
	}
	return count;
}

/* RFC 3339 UTC in whole seconds */
static const char *digest_time(time_t t)
{
	string_t *str = t_str_new(32);
	size_t len;

	alertwall_record_append_time((long long)t * 1000000LL, str);
	len = str_len(str);
	if (len > 5 && str_c(str)[len - 5] == '.')
		str_delete(str, len - 5, 4);
	return str_c(str);
}

/* one value for the text part or a header: no control characters, valid
   UTF-8, at most max code points */
static const char *digest_clean(const char *value, unsigned int max)
{
	if (value == NULL || *value == '\0')
		return "-";
	return str_sanitize_utf8(value, max);
}

/* [0-9A-Za-z] only: the id goes into Message-ID and the boundary */
static const char *digest_token(const char *id)
{
	string_t *str = t_str_new(32);

	for (; id != NULL && *id != '\0' && str_len(str) < 64; id++) {
		if (i_isalnum(*id))
			str_append_c(str, *id);
	}
	if (str_len(str) == 0)
		str_append(str, "digest");
	return str_c(str);
}

static const char *
digest_object(const char *scope, const char *user, const char *mailbox,
	      const char *profile)
{
	if (null_strcmp(scope, "profile") == 0 && profile != NULL)
		return t_strconcat("profile ", profile, NULL);
	if (user != NULL && mailbox != NULL)
		return t_strconcat(user, "/", mailbox, NULL);
	if (user != NULL)
		return user;
	return "-";
}

static int digest_code_count_cmp(const struct digest_code_count *a,
				 const struct digest_code_count *b)
{
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->code, b->code);
}

ARRAY_DEFINE_TYPE(digest_code_count_t, struct digest_code_count);

/* the codes of the new alerts, most frequent first */
static void digest_top_codes(const struct alertwall_digest *digest,
			     ARRAY_TYPE(digest_code_count_t) *codes)
{
	const struct alertwall_digest_new *rec;
	struct digest_code_count *count, new_count;
	bool found;

	array_foreach(&digest->new_alerts, rec) {
		const char *code = rec->code == NULL ? "-" : rec->code;

		found = FALSE;
		array_foreach_modifiable(codes, count) {
			if (strcmp(count->code, code) == 0) {
				count->count++;
				found = TRUE;
				break;
			}
		}
		if (!found) {
			new_count.code = code;
			new_count.count = 1;
			array_push_back(codes, &new_count);
		}
	}
	array_sort(codes, digest_code_count_cmp);
	if (array_count(codes) > ALERTWALL_DIGEST_TOP_CODES) {
		array_delete(codes, ALERTWALL_DIGEST_TOP_CODES,
			     array_count(codes) - ALERTWALL_DIGEST_TOP_CODES);
	}
}

/* ---- text ---- */

static void digest_text_more(string_t *text, unsigned int shown,
			     unsigned int total)
{
	if (total > shown)
		str_printfa(text, "  ... and %u more\n", total - shown);
}

static void digest_text(const struct alertwall_digest *digest,
			const ARRAY_TYPE(digest_code_count_t) *codes,
			string_t *text)
{
	const struct alertwall_digest_open *open;
	const struct alertwall_digest_new *rec;
	const struct digest_code_count *count;
	const struct alertwall_silence *silence;
	unsigned int n, suspended = alertwall_digest_suspended_count(digest);

	str_printfa(text, "alertwall %s digest for %s on %s\n",
		    digest->kind, digest_clean(digest->recipient,
					       DIGEST_VALUE_MAX),
		    alertwall_report_hostname(digest->hostname));
	str_printfa(text, "Period: %s .. %s (%s)\n", digest_time(digest->since),
		    digest_time(digest->now), digest->since_last ?
		    "since the last digest" : "no earlier digest");
	if (digest->profiles == NULL)
		str_append(text, "Covers: every alert\n");
	else {
		str_printfa(text, "Covers: the alerts of profile(s) %s\n",
			    digest_clean(digest->profiles, DIGEST_VALUE_MAX));
	}

	str_printfa(text, "\nOpen alerts: %u\n", array_count(&digest->open));
	n = 0;
	array_foreach(&digest->open, open) {
		if (n++ == ALERTWALL_DIGEST_LINES_MAX)
			break;
		str_printfa(text, "  %s %s %s %s %s total=%u last_seen=%s%s\n",
			    digest_clean(open->code, DIGEST_VALUE_MAX),
			    digest_clean(open->status, 20),
			    digest_clean(open->scope, 20),
			    digest_clean(digest_object(open->scope, open->user,
						       open->mailbox,
						       open->profile),
					 DIGEST_VALUE_MAX),
			    digest_clean(open->id, 64), open->total,
			    digest_time(open->last_seen),
			    open->suspended ? " SUSPENDED" : "");
	}
	digest_text_more(text, n, array_count(&digest->open));

	str_printfa(text, "\nSuspended mailboxes: %u\n", suspended);
	n = 0;
	array_foreach(&digest->open, open) {
		if (!open->suspended)
			continue;
		if (n++ == ALERTWALL_DIGEST_LINES_MAX)
			break;
		str_printfa(text, "  %s %s (alert %s)\n",
			    digest_clean(open->user, DIGEST_VALUE_MAX),
			    digest_clean(open->code, DIGEST_VALUE_MAX),
			    digest_clean(open->id, 64));
	}
	digest_text_more(text, n, suspended);
	if (suspended > 0) {
		str_append(text, "  Deliveries wait at the sender; after the "
			   "fix: doveadm alertwall enable -u USER\n");
	}

	str_printfa(text, "\nNew alerts in the period: %u\n",
		    array_count(&digest->new_alerts));
	n = 0;
	array_foreach(&digest->new_alerts, rec) {
		if (n++ == ALERTWALL_DIGEST_LINES_MAX)
			break;
		str_printfa(text, "  %s %s %s %s %s: %s\n",
			    digest_clean(rec->time, 40),
			    digest_clean(rec->event, 20),
			    digest_clean(rec->level, 20),
			    digest_clean(rec->code, DIGEST_VALUE_MAX),
			    digest_clean(digest_object(rec->scope, rec->user,
						       rec->mailbox,
						       rec->profile),
					 DIGEST_VALUE_MAX),
			    digest_clean(rec->summary, DIGEST_SUMMARY_MAX));
	}
	digest_text_more(text, n, array_count(&digest->new_alerts));

	str_append(text, "\nTop codes in the period:\n");
	array_foreach(codes, count) {
		str_printfa(text, "  %6u %s\n", count->count,
			    digest_clean(count->code, DIGEST_VALUE_MAX));
	}
	if (array_count(codes) == 0)
		str_append(text, "  none\n");

	str_printfa(text, "\nActive silences: %u\n",
		    array_count(&digest->silences));
	array_foreach(&digest->silences, silence) {
		str_printfa(text, "  %s %s until %s%s%s\n",
			    digest_clean(silence->id, 64),
			    digest_clean(alertwall_silence_selector(silence),
					 DIGEST_VALUE_MAX),
			    digest_time(silence->expires),
			    *silence->reason == '\0' ? "" : ": ",
			    digest_clean(silence->reason, DIGEST_VALUE_MAX));
	}
	str_printfa(text, "\nDigest id: %s\n", digest_token(digest->id));
}

/* ---- json ---- */

static void digest_json_member(string_t *json, const char *key,
			       const char *value)
{
	if (str_data(json)[str_len(json) - 1] != '{')
		str_append_c(json, ',');
	alertwall_json_append_string(json, key);
	str_append_c(json, ':');
	alertwall_json_append_string_or_null(json, value);
}

static void digest_json_number(string_t *json, const char *key,
			       unsigned int value)
{
	str_append_c(json, ',');
	alertwall_json_append_string(json, key);
	str_printfa(json, ":%u", value);
}

static void digest_json(const struct alertwall_digest *digest,
			const ARRAY_TYPE(digest_code_count_t) *codes,
			string_t *json)
{
	const struct alertwall_digest_open *open;
	const struct alertwall_digest_new *rec;
	const struct digest_code_count *count;
	const struct alertwall_silence *silence;
	const char *sep;

	str_append_c(json, '{');
	digest_json_member(json, "digest", digest->kind);
	digest_json_member(json, "recipient", digest->recipient);
	if (digest->profiles == NULL)
		str_append(json, ",\"profiles\":null");
	else {
		str_append(json, ",\"profiles\":[");
		sep = "";
		const char *const *names = t_strsplit(digest->profiles, ", ");
		for (; *names != NULL; names++) {
			if (**names == '\0')
				continue;
			str_append(json, sep);
			alertwall_json_append_string(json, *names);
			sep = ",";
		}
		str_append_c(json, ']');
	}
	digest_json_member(json, "since", digest_time(digest->since));
	digest_json_member(json, "until", digest_time(digest->now));
	str_printfa(json, ",\"since_last\":%s",
		    digest->since_last ? "true" : "false");

	str_append(json, ",\n\"open\":[");
	sep = "\n";
	array_foreach(&digest->open, open) {
		str_append(json, sep);
		str_append_c(json, '{');
		digest_json_member(json, "id", open->id);
		digest_json_member(json, "code", open->code);
		digest_json_member(json, "status", open->status);
		digest_json_member(json, "nature", open->nature);
		digest_json_member(json, "scope", open->scope);
		digest_json_member(json, "user", open->user);
		digest_json_member(json, "mailbox", open->mailbox);
		digest_json_member(json, "profile", open->profile);
		digest_json_number(json, "total", open->total);
		digest_json_member(json, "first_seen",
				   digest_time(open->first_seen));
		digest_json_member(json, "last_seen",
				   digest_time(open->last_seen));
		str_printfa(json, ",\"suspended\":%s}",
			    open->suspended ? "true" : "false");
		sep = ",\n";
	}
	str_append(json, "],\n\"suspended\":[");
	sep = "\n";
	array_foreach(&digest->open, open) {
		if (!open->suspended)
			continue;
		str_append(json, sep);
		str_append_c(json, '{');
		digest_json_member(json, "user", open->user);
		digest_json_member(json, "code", open->code);
		digest_json_member(json, "id", open->id);
		str_append_c(json, '}');
		sep = ",\n";
	}
	str_append(json, "],\n\"new\":[");
	sep = "\n";
	array_foreach(&digest->new_alerts, rec) {
		str_append(json, sep);
		str_append_c(json, '{');
		digest_json_member(json, "time", rec->time);
		digest_json_member(json, "id", rec->id);
		digest_json_member(json, "event", rec->event);
		digest_json_member(json, "level", rec->level);
		digest_json_member(json, "code", rec->code);
		digest_json_member(json, "scope", rec->scope);
		digest_json_member(json, "user", rec->user);
		digest_json_member(json, "mailbox", rec->mailbox);
		digest_json_member(json, "profile", rec->profile);
		digest_json_member(json, "summary", rec->summary);
		str_append_c(json, '}');
		sep = ",\n";
	}
	str_printfa(json, "],\n\"new_total\":%u,\n\"top_codes\":[",
		    array_count(&digest->new_alerts));
	sep = "\n";
	array_foreach(codes, count) {
		str_append(json, sep);
		str_append_c(json, '{');
		digest_json_member(json, "code", count->code);
		digest_json_number(json, "count", count->count);
		str_append_c(json, '}');
		sep = ",\n";
	}
	str_append(json, "],\n\"silences\":[");
	sep = "\n";
	array_foreach(&digest->silences, silence) {
		str_append(json, sep);
		str_append_c(json, '{');
		digest_json_member(json, "id", silence->id);
		digest_json_member(json, "selector",
				   alertwall_silence_selector(silence));
		digest_json_member(json, "expires",
				   digest_time(silence->expires));
		digest_json_member(json, "reason", silence->reason);
		str_append_c(json, '}');
		sep = ",\n";
	}
	str_append(json, "]}\n");
}

/* ---- the mail ---- */

static void digest_qp(string_t *dest, const char *data)
{
	struct qp_encoder *qp;
	size_t len = strlen(data);

	qp = qp_encoder_init(dest, DIGEST_QP_LINE_LEN, 0);
	qp_encoder_more(qp, data, len);
	qp_encoder_finish(qp);
	qp_encoder_deinit(&qp);
	if (len == 0 || data[len - 1] != '\n')
		str_append(dest, "\r\n");
}

void alertwall_digest_render(const struct alertwall_digest *digest,
			     string_t *dest)
{
	ARRAY_TYPE(digest_code_count_t) codes;
	const char *token = digest_token(digest->id);
	const char *hostname = alertwall_report_hostname(digest->hostname);
	const char *recipient, *from, *boundary;
	string_t *text, *json;

	t_array_init(&codes, 16);
	digest_top_codes(digest, &codes);
	text = t_str_new(4096);
	digest_text(digest, &codes, text);
	json = t_str_new(4096);
	digest_json(digest, &codes, json);

	/* header values: no control characters, so no header injection */
	recipient = str_sanitize(digest->recipient, 200);
	from = digest->from == NULL || *digest->from == '\0' ?
		t_strdup_printf("alertwall <MAILER-DAEMON@%s>", hostname) :
		str_sanitize(digest->from, 200);
	boundary = t_strdup_printf("=_alertwall_digest_%s", token);

	str_printfa(dest, "From: %s\r\n", from);
	str_printfa(dest, "To: %s\r\n", recipient);
	str_printfa(dest, "Subject: [alertwall] %s digest: %u open, "
		    "%u suspended, %u new\r\n", digest_token(digest->kind),
		    array_count(&digest->open),
		    alertwall_digest_suspended_count(digest),
		    array_count(&digest->new_alerts));
	str_printfa(dest, "Date: %s\r\n", message_date_create(digest->now));
	str_printfa(dest, "Message-ID: <%s.digest.%08x@alertwall>\r\n", token,
		    crc32_str(digest->recipient));
	str_append(dest, "Auto-Submitted: auto-generated\r\n");
	str_printfa(dest, "X-Alertwall-Id: %s\r\n", token);
	str_append(dest, "X-Alertwall-Event: digest\r\n");
	str_printfa(dest, "X-Alertwall-Digest: %s\r\n",
		    digest_token(digest->kind));
	str_append(dest, "MIME-Version: 1.0\r\n");
	str_printfa(dest, "Content-Type: multipart/mixed;\r\n"
		    "\tboundary=\"%s\"\r\n\r\n", boundary);
	str_append(dest, "This is a MIME-formatted message.\r\n");

	str_printfa(dest, "\r\n--%s\r\n", boundary);
	str_append(dest, "Content-Type: text/plain; charset=utf-8\r\n"
		   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	digest_qp(dest, str_c(text));

	str_printfa(dest, "\r\n--%s\r\n", boundary);
	str_printfa(dest, "Content-Type: application/json\r\n"
		    "Content-Disposition: attachment;\r\n"
		    "\tfilename=\"alertwall-digest-%s.json\"\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
		    token);
	digest_qp(dest, str_c(json));
	str_printfa(dest, "\r\n--%s--\r\n", boundary);
}
