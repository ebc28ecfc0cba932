#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

struct alertwall_failure;

/* CLOCK_MONOTONIC in microseconds */
double bench_now_usecs(void);
/* qsort() comparison of doubles, ascending */
int bench_cmp_double(const void *p1, const void *p2);
/* The failure every in-process benchmark raises: an LMTP delivery to the
   user's INBOX refused for a full quota (552 5.2.2). */
void bench_failure_init(struct alertwall_failure *failure, const char *user);

#endif
