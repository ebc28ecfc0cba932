#ifndef ALERTWALL_USER_H
#define ALERTWALL_USER_H

#endif
