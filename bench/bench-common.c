/* Helpers shared by the in-process benchmarks (bench-raise, bench-state). */

#include "lib.h"
#include "alertwall-failure.h"
#include "bench-common.h"

#include <time.h>

double bench_now_usecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int bench_cmp_double(const void *p1, const void *p2)
{
	const double *a = p1, *b = p2;

	return *a < *b ? -1 : (*a > *b ? 1 : 0);
}

void bench_failure_init(struct alertwall_failure *failure, const char *user)
{
	alertwall_failure_init(failure, ALERTWALL_SOURCE_DELIVERY);
	failure->mail_error = 6; /* MAIL_ERROR_NOQUOTA */
	failure->text = "Quota exceeded (mailbox for user is full)";
	failure->smtp_code = 552;
	failure->smtp_status = "5.2.2";
	failure->user = user;
	failure->mailbox = "INBOX";
	failure->message_id = "<bench.1@example.test>";
	failure->service = "lmtp";
	failure->session = "benchsession";
	failure->host = "bench";
}
