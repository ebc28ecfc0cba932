/* Copyright (c) 2026 alertwall authors */

/* alertwall-failure: the failure description's initializer. The adapters
   (storage hooks, delivery modules, log catcher) start every failure
   here and fill in what they know. */

#include "lib.h"
#include "alertwall-failure.h"

void alertwall_failure_init(struct alertwall_failure *failure_r,
			    enum alertwall_source source)
{
	i_zero(failure_r);
	failure_r->source = source;
	failure_r->mail_error = -1;
	failure_r->errno_value = 0;
}
