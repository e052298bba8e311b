/*
 * Finding libc's own versions of the interposed functions.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "real_calls.h"

struct real_calls real;
bool real_resolved;

static void *find(const char *name)
{
	void *function = dlsym(RTLD_NEXT, name);

	if (function == NULL) {
		/* Without libc's function the program cannot work at all. */
		fprintf(stderr, "tas-interpose: libc has no %s: %s\n", name,
			dlerror());
		abort();
	}
	return function;
}

#define RESOLVE(name) (real.name = (__typeof__(real.name))find(#name))

void real_calls_resolve(void)
{
	/* Idempotent: two threads racing here store the same pointers. */
	RESOLVE(socket);
	RESOLVE(bind);
	RESOLVE(listen);
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(connect);
	RESOLVE(getsockname);
	RESOLVE(getpeername);
	RESOLVE(getsockopt);
	RESOLVE(setsockopt);
	RESOLVE(read);
	RESOLVE(write);
	RESOLVE(recv);
	RESOLVE(send);
	RESOLVE(recvfrom);
	RESOLVE(sendto);
	RESOLVE(recvmsg);
	RESOLVE(sendmsg);
	RESOLVE(readv);
	RESOLVE(writev);
	RESOLVE(sendfile);
	RESOLVE(shutdown);
	RESOLVE(close);
	RESOLVE(close_range);
	RESOLVE(fcntl);
	RESOLVE(ioctl);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(poll);
	RESOLVE(ppoll);
	RESOLVE(select);
	RESOLVE(pselect);
	RESOLVE(epoll_create);
	RESOLVE(epoll_create1);
	RESOLVE(epoll_ctl);
	RESOLVE(epoll_wait);
	RESOLVE(epoll_pwait);
	RESOLVE(syscall);
	__atomic_store_n(&real_resolved, true, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void resolve_at_load(void)
{
	real_calls_resolve();
}
