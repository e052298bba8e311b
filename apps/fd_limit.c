#include "fd_limit.h"

#include <sys/resource.h>

int fd_limit_raise(uint64_t wanted)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return -1;
	if (limit.rlim_cur >= wanted)
		return 0;
	limit.rlim_cur = wanted;
	if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted)
		limit.rlim_cur = limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
		return -1;
	return limit.rlim_cur >= wanted ? 0 : -1;
}
