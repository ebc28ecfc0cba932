#ifndef ALERTWALL_SPOOL_H
#define ALERTWALL_SPOOL_H

#endif
