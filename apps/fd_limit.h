/* Open-file limit: many-connection runs need more than the default 1024. */
#ifndef TAS_APPS_FD_LIMIT_H
#define TAS_APPS_FD_LIMIT_H

#include <stdint.h>

/* Raise the soft RLIMIT_NOFILE towards `wanted`, as far as the hard
 * limit allows.  Returns 0 if it is now at least `wanted`, else -1. */
int fd_limit_raise(uint64_t wanted);

#endif /* TAS_APPS_FD_LIMIT_H */
