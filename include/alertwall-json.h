#ifndef ALERTWALL_JSON_H
#define ALERTWALL_JSON_H

/* alertwall-json: JSON string literals from untrusted bytes. The output is
   always valid UTF-8 and safe to print on a terminal or to grep:
   - '"' and '\' are escaped with a backslash;
   - C0 controls, DEL and C1 controls (U+0080..U+009F) become \u00XX;
   - U+2028 and U+2029 become \u2028 and \u2029 (JavaScript line ends);
   - each run of invalid UTF-8 (overlong forms, surrogates, code points
     above U+10FFFF, stray or missing continuation bytes) becomes one
     U+FFFD.
   Pure: used by the sidecar record renderer. */

/* appended to a literal that was cut short: U+2026 HORIZONTAL ELLIPSIS */
#define ALERTWALL_JSON_TRUNCATED_MARKER "\xE2\x80\xA6"
/* the shortest literal a cap can ask for: quotes and the marker */
#define ALERTWALL_JSON_MIN_CAP (2 + sizeof(ALERTWALL_JSON_TRUNCATED_MARKER) - 1)

/* Append str as a JSON string literal, quotes included. */
void alertwall_json_append_string(string_t *dest, const char *str);
void alertwall_json_append_data(string_t *dest, const void *data, size_t size);
/* Append str as a literal, or null when str is NULL. */
void alertwall_json_append_string_or_null(string_t *dest, const char *str);

/* Append a literal of at most max_len bytes, quotes included. When the
   escaped data does not fit, it is cut at a character boundary (never
   inside an escape or a UTF-8 sequence) and ALERTWALL_JSON_TRUNCATED_MARKER
   is added before the closing quote. max_len must be at least
   ALERTWALL_JSON_MIN_CAP. Returns TRUE if the data was cut. */
bool alertwall_json_append_data_max(string_t *dest, const void *data,
				    size_t size, size_t max_len);
bool alertwall_json_append_string_max(string_t *dest, const char *str,
				      size_t max_len);

/* Returns the length of the literal alertwall_json_append_data() would
   write, quotes included. */
size_t alertwall_json_string_len(const void *data, size_t size);

/* Decode one UTF-8 character strictly (RFC 3629): returns its length
   (1..4) and sets *chr_r, or 0 if data does not start with a valid
   character. size must be > 0. Shared with the mail renderer. */
unsigned int alertwall_utf8_decode(const unsigned char *data, size_t size,
				   uint32_t *chr_r);

#endif
