#ifndef ALERTWALL_SPOOL_H
#define ALERTWALL_SPOOL_H

#include "alertwall-alert.h"

/* alertwall-spool: the walls' outbox. Each alert mail (one per recipient)
   is written to SPOOL/new/ with tmp+rename, then the alertwall-deliver
   script service is nudged; it delivers the mails with dovecot-lda as
   another process, so the failing session is never touched. Mails wait in
   the spool until they are delivered, which is how no alert is lost. */

struct alertwall_spool_settings {
	const char *spool_dir;
	/* the user whose walls get every alert */
	const char *admin;
	/* From: of alert mails, NULL for the default */
	const char *from;
	/* the inbox namespace's prefix ("" or e.g. "INBOX.") and hierarchy
	   separator: the walls are PREFIX "Alerts" SEP NAME */
	const char *folder_prefix;
	char folder_sep;
	/* script service socket, relative to base_dir unless absolute */
	const char *notify_socket;
	const char *base_dir;
};

/* A deliver run that was stopped (Dovecot's stop or reload) while alert
   mails waited leaves this in the spool; the next run removes it. */
#define ALERTWALL_SPOOL_PENDING ".pending"

/* Wake the deliver service. Best effort and never blocking: when the
   service is down the mails wait in the spool for its next run. The mail
   plugin calls it once per mail process when a stopped run left mails
   waiting (ALERTWALL_SPOOL_PENDING), so that after a restart they go out
   without waiting for the next alert. */
void alertwall_spool_notify(const struct alertwall_spool_settings *set);

/* Spool the alert's mails for everyone its scope tells. record_json is the
   sidecar record, orig_headers the failed message's headers or NULL.
   Returns the number of mails spooled, or -1 on error (logged). */
int alertwall_spool_alert(const struct alertwall_spool_settings *set,
			  const struct alertwall_alert *alert,
			  const char *record_json, const char *orig_headers);

/* The wall folder NAME ("Warnings", "Digest", ...) of the settings'
   namespace: PREFIX "Alerts" SEP NAME, allocated from the data stack. */
const char *alertwall_spool_folder(const struct alertwall_spool_settings *set,
				   const char *name);

/* Spool one finished mail (a digest) for recipient into folder, a full
   folder name such as "Alerts/Digest", and nudge the deliver service.
   name must be unique in the spool (an alert id and a suffix). Returns 0,
   or -1 on error (logged, at most once a minute). */
int alertwall_spool_mail(const struct alertwall_spool_settings *set,
			 const char *name, const char *recipient,
			 const char *folder, const char *mail);

#endif
