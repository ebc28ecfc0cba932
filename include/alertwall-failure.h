#ifndef ALERTWALL_FAILURE_H
#define ALERTWALL_FAILURE_H

#include "alertwall-common.h"

/* alertwall-failure: the description of one failure as the adapters catch
   it. It is what the classifier matches and what the alert records carry.
   All strings are borrowed: the caller keeps them alive while the struct
   is used. NULL means unknown. */

struct alertwall_failure {
	enum alertwall_source source;
	/* enum mail_error value, or -1 when unknown */
	int mail_error;
	/* errno value, or 0 when unknown */
	int errno_value;
	/* the error text as Dovecot produced it (untrusted) */
	const char *text;

	/* final SMTP reply seen by the client (LMTP/LDA), 0 when none */
	unsigned int smtp_code;
	/* enhanced status code, e.g. "4.2.2" */
	const char *smtp_status;

	/* Dovecot event name and categories, for log-caught failures;
	   categories is NULL-terminated */
	const char *event_name;
	const char *const *categories;

	/* the object the failure is about */
	const char *user;
	const char *mailbox;
	unsigned int uid;
	const char *guid;
	const char *message_id;

	/* where it happened */
	const char *service;
	const char *session;
	const char *host;
};

/* Initialize a failure with everything unknown. */
void alertwall_failure_init(struct alertwall_failure *failure_r,
			    enum alertwall_source source);

#endif
