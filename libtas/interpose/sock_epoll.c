/*
 * epoll over sets that mix tas sockets and kernel descriptors.
 *
 * The epoll instance is the kernel's: kernel descriptors are added to it
 * as usual.  Tas sockets added to it are kept here instead, as members of
 * the instance's shim side, and their readiness is computed on each wait;
 * the wait sleeps on the kernel instance (readable when it has events)
 * and the context's eventfd together.
 *
 * Edge-triggered members report when a readiness-changing event happened
 * since their last report (the socket's in/out event counts moved), as
 * Linux reports on each arrival; EPOLLONESHOT members are disabled after
 * one report until EPOLL_CTL_MOD.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "real_calls.h"
#include "shim.h"

/* Never equal to a socket's event count: the first wait reports. */
#define UNSEEN UINT64_MAX

struct epoll_member {
	int fd;
	struct shim_socket *sock;
	uint32_t events;
	epoll_data_t data;
	uint64_t seen_in;           /* event counts at the last report (ET) */
	uint64_t seen_out;
	bool disabled;              /* EPOLLONESHOT fired */
};

struct shim_epoll {
	int epfd;
	struct epoll_member *members;
	unsigned count;
	unsigned capacity;
	unsigned next_first;        /* members take turns at being first */
	struct shim_epoll *next;
	struct shim_epoll *prev;
};

static struct shim_epoll *instances;

static struct shim_epoll *instance_new(int epfd)
{
	struct shim_epoll *ep = calloc(1, sizeof(*ep));

	if (ep == NULL)
		return NULL;
	ep->epfd = epfd;
	ep->next = instances;
	if (instances != NULL)
		instances->prev = ep;
	instances = ep;
	fd_set_epoll(epfd, ep);
	return ep;
}

static struct epoll_member *find_member(struct shim_epoll *ep, int fd)
{
	for (unsigned i = 0; i < ep->count; i++)
		if (ep->members[i].fd == fd)
			return &ep->members[i];
	return NULL;
}

static void remove_member(struct shim_epoll *ep, struct epoll_member *member)
{
	*member = ep->members[--ep->count];
}

static int add_member(struct shim_epoll *ep, int fd, struct shim_socket *sock,
		      const struct epoll_event *event)
{
	if (ep->count == ep->capacity) {
		unsigned capacity = ep->capacity ? 2 * ep->capacity : 16;
		struct epoll_member *members =
			realloc(ep->members, capacity * sizeof(*members));
		if (members == NULL)
			return -ENOMEM;
		ep->members = members;
		ep->capacity = capacity;
	}
	ep->members[ep->count++] = (struct epoll_member){
		.fd = fd,
		.sock = sock,
		.events = event->events,
		.data = event->data,
		.seen_in = UNSEEN,
		.seen_out = UNSEEN,
	};
	return 0;
}

/* epoll_ctl's EBADF for a closed epoll descriptor; one the shim knows is
 * open (close forgets it). */
static int check_epoll_fd(int epfd)
{
	if (fd_epoll(epfd) != NULL)
		return 0;
	return REAL(fcntl)(epfd, F_GETFD) < 0 ? -EBADF : 0;
}

int sock_epoll_ctl(int epfd, int op, int fd, struct shim_socket *sock,
		   struct epoll_event *event)
{
	int err = check_epoll_fd(epfd);

	if (err != 0)
		return err;
	if (epfd == fd)
		return -EINVAL;
	if (op != EPOLL_CTL_DEL && event == NULL)
		return -EFAULT;

	struct shim_epoll *ep = fd_epoll(epfd);
	struct epoll_member *member = ep != NULL ? find_member(ep, fd) : NULL;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (member != NULL)
			return -EEXIST;
		if (ep == NULL && (ep = instance_new(epfd)) == NULL)
			return -ENOMEM;
		err = add_member(ep, fd, sock, event);
		if (err == 0 && (event->events & EPOLLIN))
			sock_want_accepts(sock);
		if (err == 0)
			err = sock_want_adoption(sock);
		return err;
	case EPOLL_CTL_MOD:
		if (member == NULL)
			return -ENOENT;
		if ((event->events | member->events) & EPOLLEXCLUSIVE)
			return -EINVAL;
		member->events = event->events;
		member->data = event->data;
		member->seen_in = member->seen_out = UNSEEN;
		member->disabled = false;
		if (event->events & EPOLLIN)
			sock_want_accepts(sock);
		return sock_want_adoption(sock);
	case EPOLL_CTL_DEL:
		if (member == NULL)
			return -ENOENT;
		remove_member(ep, member);
		return 0;
	default:
		return -EINVAL;
	}
}

/* The report for one member, 0 for none. */
static uint32_t member_report(struct epoll_member *member)
{
	const struct shim_socket *sock = member->sock;
	uint32_t ready = sock_readiness(sock) &
			 (member->events | EPOLLERR | EPOLLHUP);

	if (ready == 0 || member->disabled)
		return 0;
	if (member->events & EPOLLET) {
		if (sock->in_events == member->seen_in &&
		    sock->out_events == member->seen_out)
			return 0;
		member->seen_in = sock->in_events;
		member->seen_out = sock->out_events;
	}
	if (member->events & EPOLLONESHOT)
		member->disabled = true;
	return ready;
}

static int collect(struct shim_epoll *ep, struct epoll_event *events,
		   int maxevents)
{
	int found = 0;
	unsigned count = ep->count;

	if (count == 0)
		return 0;
	unsigned first = ep->next_first++ % count;
	for (unsigned k = 0; k < count && found < maxevents; k++) {
		struct epoll_member *member = &ep->members[(first + k) % count];
		uint32_t ready = member_report(member);
		if (ready != 0)
			events[found++] = (struct epoll_event){ .events = ready,
								.data = member->data };
	}
	return found;
}

int sock_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		    const struct timespec *deadline, const sigset_t *sigmask)
{
	struct shim_epoll *ep = fd_epoll(epfd);

	if (maxevents <= 0)
		return -EINVAL;
	for (;;) {
		if (ep == NULL || (ep = fd_epoll(epfd)) == NULL)
			return -EBADF;
		/* Events first, every time: a program kept busy by one ready
		 * socket must still see the others change. */
		shim_pump();
		for (unsigned i = 0; i < ep->count; i++) {
			if (ep->members[i].events & EPOLLIN)
				sock_want_accepts(ep->members[i].sock);
			/* Without memory it stays inherited, and is not ready. */
			(void)sock_want_adoption(ep->members[i].sock);
		}
		int found = collect(ep, events, maxevents);
		if (found < maxevents) {
			int more = REAL(epoll_wait)(epfd, events + found,
						    maxevents - found, 0);
			if (more < 0 && found == 0)
				return -errno;
			found += more > 0 ? more : 0;
		}
		if (found > 0 || shim_deadline_passed(deadline))
			return found;

		struct pollfd kernel = { .fd = epfd, .events = POLLIN };
		int err = shim_wait(&kernel, 1, deadline, sigmask);
		if (err != 0)
			return err;
	}
}

void sock_epoll_forget(int fd, const struct shim_socket *sock)
{
	for (struct shim_epoll *ep = instances; ep != NULL; ep = ep->next) {
		struct epoll_member *member = find_member(ep, fd);
		if (member != NULL && member->sock == sock)
			remove_member(ep, member);
	}
}

void sock_epoll_close(int epfd)
{
	struct shim_epoll *ep = fd_epoll(epfd);

	if (ep == NULL)
		return;
	fd_set_epoll(epfd, NULL);
	if (ep->prev != NULL)
		ep->prev->next = ep->next;
	else
		instances = ep->next;
	if (ep->next != NULL)
		ep->next->prev = ep->prev;
	free(ep->members);
	free(ep);
}
