#ifndef ALERTWALL_STORAGE_H
#define ALERTWALL_STORAGE_H

struct module;

/* alertwall-storage: the mailbox vfunc wrappers that catch open, sync,
   save, copy and commit failures in every mail process. */

/* Guess the errno behind an error text from its strerror() words, e.g.
   "open(...) failed: No space left on device" gives ENOSPC. Returns 0 when
   no known errno text is found. */
int alertwall_errno_from_text(const char *text);

void alertwall_storage_init(struct module *module);
void alertwall_storage_deinit(void);

#endif
