/*
 * Descriptor numbers -> shim objects.  Two arrays indexed by descriptor:
 * the tas socket a placeholder stands for, and the shim's side of an
 * epoll instance that holds tas sockets.  Lookups are lock-free (a signal
 * handler's write() to a pipe must not wait for the shim's lock); changes
 * happen under shim.lock.  The arrays are mapped at their full size once:
 * untouched pages cost nothing.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "shim.h"

#define FD_TABLE_MIN 1024u
#define FD_TABLE_MAX (1u << 22)

static struct shim_socket **sockets;
static struct shim_epoll **epolls;
static unsigned capacity;
static int high_water;

static void *map_array(size_t bytes)
{
	void *array = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return array == MAP_FAILED ? NULL : array;
}

int fd_table_init(void)
{
	struct rlimit limit;
	unsigned size = FD_TABLE_MAX;

	if (sockets != NULL)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
	    limit.rlim_max != RLIM_INFINITY && limit.rlim_max < FD_TABLE_MAX)
		size = limit.rlim_max < FD_TABLE_MIN ? FD_TABLE_MIN
						     : (unsigned)limit.rlim_max;

	struct shim_socket **new_sockets = map_array(size * sizeof(*sockets));
	struct shim_epoll **new_epolls = map_array(size * sizeof(*epolls));
	if (new_sockets == NULL || new_epolls == NULL) {
		if (new_sockets != NULL)
			munmap(new_sockets, size * sizeof(*sockets));
		if (new_epolls != NULL)
			munmap(new_epolls, size * sizeof(*epolls));
		return -ENOMEM;
	}
	epolls = new_epolls;
	capacity = size;
	/* Last: fd_socket() reads sockets without the lock. */
	__atomic_store_n(&sockets, new_sockets, __ATOMIC_RELEASE);
	return 0;
}

static bool in_table(int fd)
{
	return fd >= 0 && (unsigned)fd < capacity;
}

struct shim_socket *fd_socket(int fd)
{
	struct shim_socket **table = __atomic_load_n(&sockets, __ATOMIC_ACQUIRE);

	if (table == NULL || !in_table(fd))
		return NULL;
	return __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
}

void fd_attach(int fd, struct shim_socket *sock)
{
	__atomic_store_n(&sockets[fd], sock, __ATOMIC_RELEASE);
	sock->refs++;
	if (fd >= high_water)
		high_water = fd + 1;
}

int fd_high_water(void)
{
	return high_water;
}

struct shim_socket *fd_detach(int fd)
{
	if (sockets == NULL || !in_table(fd))
		return NULL;
	return __atomic_exchange_n(&sockets[fd], NULL, __ATOMIC_ACQ_REL);
}

bool fd_fits(int fd)
{
	return in_table(fd);
}

struct shim_epoll *fd_epoll(int epfd)
{
	if (epolls == NULL || !in_table(epfd))
		return NULL;
	return __atomic_load_n(&epolls[epfd], __ATOMIC_ACQUIRE);
}

void fd_set_epoll(int epfd, struct shim_epoll *ep)
{
	__atomic_store_n(&epolls[epfd], ep, __ATOMIC_RELEASE);
}
