/*
 * Valgrind 3.19 (Debian 12) does not implement the epoll_pwait2 system
 * call (441): under it the fast path's sleep would fail with ENOSYS at
 * once and spin.  Preloaded into tas for the callgrind measurement only,
 * this turns the call into epoll_pwait with the timeout rounded up to
 * whole milliseconds.  Only how long an idle core sleeps changes; the
 * receive and transmit code being measured is untouched.
 */
#include <sys/epoll.h>
#include <time.h>

static int milliseconds_rounded_up(const struct timespec *timeout)
{
	long long ms = (long long)timeout->tv_sec * 1000 +
		       (timeout->tv_nsec + 999999) / 1000000;

	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
		 const struct timespec *timeout, const sigset_t *sigmask)
{
	int ms = timeout == NULL ? -1 : milliseconds_rounded_up(timeout);

	return epoll_pwait(epfd, events, maxevents, ms, sigmask);
}
