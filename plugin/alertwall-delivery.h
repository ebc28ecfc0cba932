#ifndef ALERTWALL_DELIVERY_H
#define ALERTWALL_DELIVERY_H

/* alertwall-delivery: what the lmtp and lda adapters share. Given the final
   outcome of one recipient's delivery, it raises the delivery failure with
   the storage failure behind it and the message's identity, or lets a
   success pass. */

struct mail;
struct mail_user;

struct alertwall_delivery_outcome {
	/* final reply as the client sees it (LMTP), or its equivalent for
	   dovecot-lda's exit status */
	unsigned int smtp_code;
	const char *smtp_status;
	const char *reply_text;
	/* the mailbox the delivery was going to */
	const char *mailbox;
	/* the message being delivered, or its Message-ID and headers read
	   earlier when the mail is gone by the time the outcome is known */
	struct mail *src_mail;
	const char *message_id;
	const char *headers;

	/* dovecot-lda: no reply exists, so smtp_code is 0 and the outcome
	   is derived from the held failure the way dovecot-lda derives its
	   exit status */
	bool lda;
	bool quota_full_tempfail;
};

/* the largest header block copied into an alert mail */
#define ALERTWALL_DELIVERY_MAX_HEADERS_SIZE (16 * 1024)

/* End the delivery bracket opened with alertwall_user_delivery_begin() and
   raise what failed. */
void alertwall_delivery_finish(struct mail_user *user,
			       const struct alertwall_delivery_outcome *outcome);

/* Return the message's header block (at most max_size bytes, cut at a line
   end), or NULL if it cannot be read. */
const char *alertwall_mail_get_headers(struct mail *mail, size_t max_size);

#endif
