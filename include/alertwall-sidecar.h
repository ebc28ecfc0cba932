#ifndef ALERTWALL_SIDECAR_H
#define ALERTWALL_SIDECAR_H

/* alertwall-sidecar: the JSON-lines sidecar log writer. Each record goes
   out in one write() on an O_APPEND descriptor, so that records from many
   processes never interleave (records are kept under 4 KiB by
   alertwall-record). The file is reopened when it was renamed away or
   removed (log rotation), a symlink is never followed and only regular
   files are written. Records that cannot be written wait in a small
   in-memory queue and go out, in order, before the next record. Errors
   are logged at most once a minute per process. Uses Dovecot's lib only;
   the plugin calls it for every alert. */

/* records kept in memory while the log cannot be written; when the queue
   is full the oldest record is dropped (and counted) */
#define ALERTWALL_SIDECAR_QUEUE_MAX 256
/* mode of a log file the writer creates (the umask does not apply) */
#define ALERTWALL_SIDECAR_FILE_MODE 0660
/* minimum seconds between two logged errors of one process */
#define ALERTWALL_SIDECAR_ERROR_INTERVAL_SECS 60

struct alertwall_sidecar;

/* Create a writer for the log at path. The file is opened now if
   possible; a failure is logged and retried at the next write. Never
   returns NULL. */
struct alertwall_sidecar *alertwall_sidecar_open(const char *path);
/* Close the writer. Queued records that still cannot be written are
   lost; the loss is logged. */
void alertwall_sidecar_close(struct alertwall_sidecar **_sidecar);

/* Append one record line (it should end in "\n"; one is added if not).
   Queued records are written first. Returns 0 when the line and every
   queued record were written, -1 when not: the line is then queued
   (a short write counts as a failure and the record is retried whole). */
int alertwall_sidecar_write(struct alertwall_sidecar *sidecar,
			    const char *line, size_t len);
/* Write the queued records. Returns 0 when the queue is empty afterwards,
   -1 when not. */
int alertwall_sidecar_flush(struct alertwall_sidecar *sidecar);

/* number of records waiting in the queue */
unsigned int alertwall_sidecar_queued_count(const struct alertwall_sidecar *sidecar);
/* number of records dropped because the queue was full */
unsigned int alertwall_sidecar_dropped_count(const struct alertwall_sidecar *sidecar);

#endif
