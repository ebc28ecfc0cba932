#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

/* fuzz-common: what the libFuzzer harnesses in fuzz/ share: Dovecot's lib
   set up once, a reader that turns the fuzzer's bytes into numbers and
   strings, checks that abort with a message (libFuzzer then saves the
   input), and independent validators for the renderers' output. */

#include "lib.h"

#include <stdint.h>

/* the fuzzer's input, read from the front */
struct fuzz_input {
	const unsigned char *data;
	size_t size, pos;
};

/* Abort with the message when cond is false: libFuzzer reports the
   abort as a crash and writes the input as an artifact. */
#define FUZZ_CHECK(cond, ...) STMT_START { \
	if (unlikely(!(cond))) \
		fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} STMT_END

void fuzz_fail(const char *file, unsigned int line, const char *cond,
	       const char *fmt, ...) ATTR_FORMAT(4, 5) ATTR_NORETURN;

/* lib_init() once per process; every harness calls it first */
void fuzz_init(void);

void fuzz_input_init(struct fuzz_input *input, const uint8_t *data,
		     size_t size);
/* Fixed-size numbers, little endian. Past the end of the input they read
   as 0, so that a short input is still a valid one. */
unsigned int fuzz_input_u8(struct fuzz_input *input);
unsigned int fuzz_input_u16(struct fuzz_input *input);
uint32_t fuzz_input_u32(struct fuzz_input *input);
uint64_t fuzz_input_u64(struct fuzz_input *input);
/* Run one harness over one input, in a data stack frame of its own. */
void fuzz_run(const uint8_t *data, size_t size,
	      void (*harness)(struct fuzz_input *input));

/* The next field, up to a NUL byte or the end of the input, as a t_
   string. Returns NULL when the input is used up: a harness maps that to
   "unknown" (NULL) in its struct, and "" stays an empty string. */
const char *fuzz_input_string(struct fuzz_input *input);

/* Returns TRUE if data is valid UTF-8 (RFC 3629: no overlong forms, no
   surrogates, nothing above U+10FFFF). Written apart from alertwall's own
   decoder so that a bug there does not hide itself. On FALSE *pos_r is
   the offset of the first bad byte. */
bool fuzz_utf8_is_valid(const unsigned char *data, size_t size,
			size_t *pos_r);

/* Check a sidecar record line as alertwall_record_render() promises it
   (alertwall-record.h): at most ALERTWALL_RECORD_MAX_SIZE bytes, one line
   ending in "\n", no raw control byte, valid UTF-8, and a flat JSON
   object with exactly the documented fields in their order, each value a
   valid string literal, a number or null. Aborts on a violation. */
void fuzz_check_record_line(const unsigned char *line, size_t size);

#endif
