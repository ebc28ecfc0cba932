/* Copyright (c) 2026 alertwall authors */

/* fuzz-common: input reader, checks and output validators shared by the
   libFuzzer harnesses (fuzz-*.c). Linked into each harness by fuzz/run. */

#include "lib.h"
#include "alertwall-record.h"
#include "fuzz-common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const record_field_names[] = {
	"time", "id", "event", "code", "nature", "level", "scope", "user",
	"mailbox", "uid", "guid", "message_id", "profile", "service",
	"session", "host", "source", "mail_error", "errno", "smtp", "text",
	"action", "summary"
};

void fuzz_fail(const char *file, unsigned int line, const char *cond,
	       const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "\nFUZZ CHECK FAILED at %s:%u: %s\n  ", file, line,
		cond);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\n");
	abort();
}

void fuzz_init(void)
{
	static bool initialized = FALSE;

	if (initialized)
		return;
	initialized = TRUE;
	lib_init();
}

void fuzz_input_init(struct fuzz_input *input, const uint8_t *data,
		     size_t size)
{
	i_zero(input);
	input->data = data;
	input->size = size;
}

void fuzz_run(const uint8_t *data, size_t size,
	      void (*harness)(struct fuzz_input *input))
{
	struct fuzz_input input;

	fuzz_input_init(&input, data, size);
	T_BEGIN {
		harness(&input);
	} T_END;
}

unsigned int fuzz_input_u8(struct fuzz_input *input)
{
	if (input->pos >= input->size)
		return 0;
	return input->data[input->pos++];
}

unsigned int fuzz_input_u16(struct fuzz_input *input)
{
	unsigned int lo = fuzz_input_u8(input);

	return lo | (fuzz_input_u8(input) << 8);
}

uint32_t fuzz_input_u32(struct fuzz_input *input)
{
	uint32_t lo = fuzz_input_u16(input);

	return lo | ((uint32_t)fuzz_input_u16(input) << 16);
}

uint64_t fuzz_input_u64(struct fuzz_input *input)
{
	uint64_t lo = fuzz_input_u32(input);

	return lo | ((uint64_t)fuzz_input_u32(input) << 32);
}

const char *fuzz_input_string(struct fuzz_input *input)
{
	const unsigned char *start, *end;

	if (input->pos >= input->size)
		return NULL;
	start = input->data + input->pos;
	end = memchr(start, '\0', input->size - input->pos);
	if (end == NULL) {
		input->pos = input->size;
		return t_strndup(start, input->data + input->size - start);
	}
	input->pos += end - start + 1;
	return t_strndup(start, end - start);
}

bool fuzz_utf8_is_valid(const unsigned char *data, size_t size,
			size_t *pos_r)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < size) {
		unsigned char c = data[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			*pos_r = i;
			return FALSE;
		}
		if (size - i <= n) {
			*pos_r = i;
			return FALSE;
		}
		for (k = 1; k <= n; k++) {
			if ((data[i + k] & 0xc0) != 0x80) {
				*pos_r = i;
				return FALSE;
			}
			cp = (cp << 6) | (data[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			*pos_r = i;
			return FALSE;
		}
		i += n + 1;
	}
	return TRUE;
}

/* Skip a JSON string literal at *p (at its opening quote). Returns NULL
   when it is valid, else what is wrong. The escapes are the ones JSON
   has; raw controls (C0, DEL, C1, U+2028, U+2029) are refused because
   alertwall-json.h promises to escape them. */
static const char *
json_skip_string(const unsigned char **_p, const unsigned char *end)
{
	const unsigned char *p = *_p;
	unsigned int i;

	if (p == end || *p != '"')
		return "no opening quote";
	for (p++; p < end && *p != '"'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "raw control byte in a string";
		if (*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f)
			return "raw C1 control in a string";
		if (*p == 0xe2 && p + 2 < end && p[1] == 0x80 &&
		    (p[2] == 0xa8 || p[2] == 0xa9))
			return "raw U+2028/U+2029 in a string";
		if (*p != '\\')
			continue;
		if (++p == end)
			return "backslash at the end";
		if (strchr("\"\\/bfnrt", *p) != NULL)
			continue;
		if (*p != 'u')
			return "unknown escape";
		for (i = 0; i < 4; i++) {
			if (++p == end || !i_isxdigit(*p))
				return "short \\u escape";
		}
	}
	if (p == end)
		return "unterminated string";
	*_p = p + 1;
	return NULL;
}

void fuzz_check_record_line(const unsigned char *line, size_t size)
{
	const unsigned char *p = line, *end = line + size, *start;
	const char *error;
	size_t i, bad_pos, name_len;

	FUZZ_CHECK(size <= ALERTWALL_RECORD_MAX_SIZE,
		   "record is %zu bytes, the limit is %u", size,
		   ALERTWALL_RECORD_MAX_SIZE);
	FUZZ_CHECK(size >= 3 && line[size - 1] == '\n',
		   "record does not end in a newline");
	FUZZ_CHECK(memchr(line, '\n', size - 1) == NULL,
		   "record has a newline before its end");
	for (i = 0; i + 1 < size; i++) {
		FUZZ_CHECK(line[i] >= 0x20 && line[i] != 0x7f,
			   "raw control byte 0x%02x at %zu", line[i], i);
	}
	FUZZ_CHECK(fuzz_utf8_is_valid(line, size, &bad_pos),
		   "invalid UTF-8 at byte %zu", bad_pos);

	/* a flat object with the documented fields in order */
	end--;
	FUZZ_CHECK(*p++ == '{', "record does not start with {");
	for (i = 0; i < N_ELEMENTS(record_field_names); i++) {
		if (i > 0)
			FUZZ_CHECK(p < end && *p++ == ',', "no comma before "
				   "field %s", record_field_names[i]);
		start = p;
		error = json_skip_string(&p, end);
		FUZZ_CHECK(error == NULL, "key of field %zu: %s", i, error);
		name_len = strlen(record_field_names[i]);
		FUZZ_CHECK((size_t)(p - start) == name_len + 2 &&
			   memcmp(start + 1, record_field_names[i],
				  name_len) == 0,
			   "field %zu is not %s", i, record_field_names[i]);
		FUZZ_CHECK(p < end && *p++ == ':', "no colon after %s",
			   record_field_names[i]);
		if (p < end && *p == '"') {
			error = json_skip_string(&p, end);
			FUZZ_CHECK(error == NULL, "value of %s: %s",
				   record_field_names[i], error);
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			p += 4;
		} else {
			FUZZ_CHECK(p < end && i_isdigit(*p), "value of %s is "
				   "no string, number or null",
				   record_field_names[i]);
			while (p < end && i_isdigit(*p))
				p++;
		}
	}
	FUZZ_CHECK(p < end && *p++ == '}', "no } after the last field");
	FUZZ_CHECK(p == end, "bytes after the object");
}
