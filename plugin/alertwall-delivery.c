/* Copyright (c) 2026 alertwall authors */

/* alertwall-delivery: turns one recipient's delivery outcome into a
   delivery failure. Shared by the lmtp and lda adapters, which only know
   how to read their outcome. */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "message-size.h"
#include "mail-storage.h"
#include "mail-user.h"
#include "alertwall-user.h"
#include "alertwall-delivery.h"

/* dovecot-lda's exit statuses (sysexits.h) */
#define ALERTWALL_EX_TEMPFAIL 75

const char *alertwall_mail_get_headers(struct mail *mail, size_t max_size)
{
	struct message_size hdr_size;
	struct istream *input;
	const unsigned char *data;
	size_t size;
	string_t *str;

	if (mail_get_hdr_stream(mail, &hdr_size, &input) < 0)
		return NULL;
	str = t_str_new(I_MIN(hdr_size.physical_size, max_size) + 1);
	while (str_len(str) < max_size &&
	       str_len(str) < hdr_size.physical_size &&
	       i_stream_read_more(input, &data, &size) > 0) {
		size = I_MIN(size, hdr_size.physical_size - str_len(str));
		size = I_MIN(size, max_size - str_len(str));
		str_append_data(str, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0)
		return NULL;
	if (str_len(str) >= max_size) {
		/* keep whole lines only */
		const char *p = strrchr(str_c(str), '\n');
		if (p != NULL)
			str_truncate(str, p - str_c(str) + 1);
	}
	return str_c(str);
}

/* dovecot-lda has no reply: derive the one an SMTP server would have sent
   from the failure, the way dovecot-lda derives its exit status */
static void
alertwall_delivery_lda_reply(const struct alertwall_delivery_outcome *outcome,
			     const struct alertwall_held_failure *held,
			     struct alertwall_failure *failure)
{
	if (held->mail_error == MAIL_ERROR_NOQUOTA) {
		if (outcome->quota_full_tempfail) {
			failure->smtp_code = 452;
			failure->smtp_status = "4.2.2";
		} else {
			failure->smtp_code = 552;
			failure->smtp_status = "5.2.2";
		}
	} else {
		failure->smtp_code = 451;
		failure->smtp_status = "4.2.0";
	}
}

void alertwall_delivery_finish(struct mail_user *user,
			       const struct alertwall_delivery_outcome *outcome)
{
	struct alertwall_held_failure held;
	struct alertwall_failure failure;
	const char *headers = NULL, *message_id = NULL;
	bool have_held, saved;

	have_held = alertwall_user_delivery_end(user, &held, &saved);
	if (alertwall_user_is_muted(user)) {
		/* an alert mail: the deliver service retries or logs it.
		   Counted, its retries would escalate the very alert it
		   carries with no real delivery, and its success (it is
		   small) would resolve an alert about a full mailbox */
		return;
	}
	if (outcome->lda ? saved || !have_held :
	    outcome->smtp_code / 100 == 2) {
		/* delivered: what failed on the way was healed by Dovecot
		   itself (a missing INBOX created, a folder falling back to
		   INBOX), so it is nobody's problem; and the mailbox works,
		   which may resolve its open alerts */
		alertwall_user_success(user, TRUE);
		return;
	}

	T_BEGIN {
		alertwall_failure_init(&failure, ALERTWALL_SOURCE_DELIVERY);
		if (outcome->lda)
			alertwall_delivery_lda_reply(outcome, &held, &failure);
		else {
			failure.smtp_code = outcome->smtp_code;
			failure.smtp_status = outcome->smtp_status;
		}
		if (have_held) {
			failure.mail_error = held.mail_error;
			failure.errno_value = held.errno_value;
			failure.text = held.text;
			failure.mailbox = held.mailbox;
		}
		if (failure.text == NULL)
			failure.text = outcome->reply_text;
		if (failure.mailbox == NULL)
			failure.mailbox = outcome->mailbox;
		failure.message_id = outcome->message_id;
		headers = outcome->headers;
		if (outcome->src_mail != NULL) {
			if (mail_get_first_header(outcome->src_mail, "Message-ID",
						  &message_id) > 0)
				failure.message_id = message_id;
			headers = alertwall_mail_get_headers(outcome->src_mail,
				ALERTWALL_DELIVERY_MAX_HEADERS_SIZE);
		}
		alertwall_user_raise(user, &failure, headers);
	} T_END;
}
