/* Copyright (c) 2026 alertwall authors */

/* alertwall-json: escape untrusted bytes into JSON string literals. Called
   by the record renderer (alertwall-record.c); the UTF-8 decoder is also
   used by the mail renderer (alertwall-report.c). */

#include "lib.h"
#include "str.h"
#include "alertwall-json.h"

#define REPLACEMENT_CHAR_UTF8 "\xEF\xBF\xBD"
/* the longest output of one input character: \u00XX or \u2028 */
#define UNIT_MAX_LEN 6

struct json_escaper {
	const unsigned char *data;
	size_t size, pos;
	/* inside a run of invalid bytes: only its first byte is replaced */
	bool invalid_run;
};

unsigned int alertwall_utf8_decode(const unsigned char *data, size_t size,
				   uint32_t *chr_r)
{
	unsigned char c = data[0];
	unsigned char lo = 0x80, hi = 0xbf;
	unsigned int len, i;
	uint32_t chr;

	i_assert(size > 0);
	if (c < 0x80) {
		*chr_r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		chr = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		chr = c & 0x0f;
		/* no overlong forms, no UTF-16 surrogates */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		chr = c & 0x07;
		/* no overlong forms, nothing above U+10FFFF */
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (size < len)
		return 0;
	if (data[1] < lo || data[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if ((data[i] & 0xc0) != 0x80)
			return 0;
		chr = (chr << 6) | (data[i] & 0x3f);
	}
	*chr_r = chr;
	return len;
}

static void
json_escaper_init(struct json_escaper *esc, const void *data, size_t size)
{
	i_zero(esc);
	esc->data = data;
	esc->size = size;
}

/* Escape the next input character into out. Returns the output length,
   which is 0 only for the tail of an invalid run; esc->pos advances. */
static unsigned int
json_escaper_next(struct json_escaper *esc, char out[UNIT_MAX_LEN])
{
	const unsigned char *p = esc->data + esc->pos;
	uint32_t chr;
	unsigned int len;

	len = alertwall_utf8_decode(p, esc->size - esc->pos, &chr);
	if (len == 0) {
		esc->pos++;
		if (esc->invalid_run)
			return 0;
		esc->invalid_run = TRUE;
		/* out holds bytes and their count, not a C string */
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
		memcpy(out, REPLACEMENT_CHAR_UTF8, 3);
		return 3;
	}
	esc->invalid_run = FALSE;
	esc->pos += len;

	if (chr == '"' || chr == '\\') {
		out[0] = '\\';
		out[1] = (char)chr;
		return 2;
	}
	if (chr < 0x20 || (chr >= 0x7f && chr <= 0x9f) ||
	    chr == 0x2028 || chr == 0x2029) {
		/* snprintf needs room for its NUL */
		char buf[UNIT_MAX_LEN + 1];

		i_snprintf(buf, sizeof(buf), "\\u%04x", (unsigned int)chr);
		memcpy(out, buf, UNIT_MAX_LEN);
		return UNIT_MAX_LEN;
	}
	memcpy(out, p, len);
	return len;
}

size_t alertwall_json_string_len(const void *data, size_t size)
{
	struct json_escaper esc;
	char out[UNIT_MAX_LEN];
	size_t len = 2;

	json_escaper_init(&esc, data, size);
	while (esc.pos < esc.size)
		len += json_escaper_next(&esc, out);
	return len;
}

static bool
json_append(string_t *dest, const void *data, size_t size, size_t max_len)
{
	const size_t marker_len = strlen(ALERTWALL_JSON_TRUNCATED_MARKER);
	struct json_escaper esc;
	char out[UNIT_MAX_LEN];
	size_t start, used = 1, cut_pos;
	unsigned int len;

	i_assert(max_len >= ALERTWALL_JSON_MIN_CAP);

	start = str_len(dest);
	str_append_c(dest, '"');
	/* the last place where the marker and the quote still fit */
	cut_pos = str_len(dest);

	json_escaper_init(&esc, data, size);
	while (esc.pos < esc.size) {
		len = json_escaper_next(&esc, out);
		if (used + len + 1 > max_len) {
			str_truncate(dest, cut_pos);
			str_append(dest, ALERTWALL_JSON_TRUNCATED_MARKER);
			str_append_c(dest, '"');
			i_assert(str_len(dest) - start <= max_len);
			return TRUE;
		}
		str_append_data(dest, out, len);
		used += len;
		if (used + marker_len + 1 <= max_len)
			cut_pos = str_len(dest);
	}
	str_append_c(dest, '"');
	return FALSE;
}

void alertwall_json_append_data(string_t *dest, const void *data, size_t size)
{
	(void)json_append(dest, data, size, SIZE_MAX);
}

void alertwall_json_append_string(string_t *dest, const char *str)
{
	(void)json_append(dest, str, strlen(str), SIZE_MAX);
}

void alertwall_json_append_string_or_null(string_t *dest, const char *str)
{
	if (str == NULL)
		str_append(dest, "null");
	else
		alertwall_json_append_string(dest, str);
}

bool alertwall_json_append_data_max(string_t *dest, const void *data,
				    size_t size, size_t max_len)
{
	return json_append(dest, data, size, max_len);
}

bool alertwall_json_append_string_max(string_t *dest, const char *str,
				      size_t max_len)
{
	return json_append(dest, str, strlen(str), max_len);
}
