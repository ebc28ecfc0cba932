/* Copyright (c) 2026 alertwall authors */

/* fuzz-record: libFuzzer harness for the sidecar record renderer. Every
   field of an alert comes from the input, strings included (control
   bytes, CRLF, invalid UTF-8, anything up to -max_len), and the line
   alertwall_record_render() makes of it must keep the promises of
   alertwall-record.h: at most ALERTWALL_RECORD_MAX_SIZE bytes, one line
   ending in "\n", no raw control byte, valid UTF-8, a flat JSON object
   with the documented fields in order. A field that is not cut must
   come out whole. Built by fuzz/run.

   Input layout: time (8 bytes), event, nature, level, scope, source (1
   byte each; one value past the last is allowed), notify (1), mail_error
   (4, signed), errno (4, signed), SMTP code (4), uid (4), then
   NUL-separated strings: id, code, summary, action, profile,
   profile_owner, user, mailbox, guid, message_id, service, session, host,
   smtp_status, event_name, text. A string past the end is NULL. */

#include "lib.h"
#include "str.h"
#include "alertwall-json.h"
#include "alertwall-record.h"
#include "fuzz-common.h"

static void fuzz_record(struct fuzz_input *input)
{
	struct alertwall_alert alert;
	struct alertwall_failure *f = &alert.failure;
	string_t *record, *literal;

	i_zero(&alert);
	alert.time_usecs = (long long)fuzz_input_u64(input);
	alert.event = fuzz_input_u8(input) % (ALERTWALL_EVENT_COUNT + 1);
	alert.nature = fuzz_input_u8(input) % (ALERTWALL_NATURE_COUNT + 1);
	alert.level = fuzz_input_u8(input) % (ALERTWALL_LEVEL_COUNT + 1);
	alert.scope = fuzz_input_u8(input) % (ALERTWALL_SCOPE_COUNT + 1);
	f->source = fuzz_input_u8(input) % (ALERTWALL_SOURCE_COUNT + 1);
	alert.notify_mailbox_owners = (fuzz_input_u8(input) & 1) != 0;
	f->mail_error = (int32_t)fuzz_input_u32(input);
	f->errno_value = (int32_t)fuzz_input_u32(input);
	f->smtp_code = fuzz_input_u32(input);
	f->uid = fuzz_input_u32(input);

	alert.id = fuzz_input_string(input);
	alert.code = fuzz_input_string(input);
	alert.summary = fuzz_input_string(input);
	alert.action = fuzz_input_string(input);
	alert.profile = fuzz_input_string(input);
	alert.profile_owner = fuzz_input_string(input);
	f->user = fuzz_input_string(input);
	f->mailbox = fuzz_input_string(input);
	f->guid = fuzz_input_string(input);
	f->message_id = fuzz_input_string(input);
	f->service = fuzz_input_string(input);
	f->session = fuzz_input_string(input);
	f->host = fuzz_input_string(input);
	f->smtp_status = fuzz_input_string(input);
	f->event_name = fuzz_input_string(input);
	f->text = fuzz_input_string(input);

	/* the record is appended: what is in dest already stays */
	record = t_str_new(1024);
	str_append(record, "kept");
	alertwall_record_render(&alert, record);
	FUZZ_CHECK(str_len(record) > 4 &&
		   memcmp(str_data(record), "kept", 4) == 0,
		   "render touched what was in dest");
	fuzz_check_record_line(str_data(record) + 4, str_len(record) - 4);

	/* text is cut first: when the line has room, it is there whole */
	if (f->text != NULL) {
		literal = t_str_new(256);
		str_append(literal, "\"text\":");
		alertwall_json_append_string(literal, f->text);
		str_append_c(literal, ',');
		FUZZ_CHECK(str_len(record) - 4 + str_len(literal) * 2 >
			   ALERTWALL_RECORD_MAX_SIZE ||
			   strstr(str_c(record), str_c(literal)) != NULL,
			   "short text was cut or changed");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size, fuzz_record);
	return 0;
}
