/*
 * Readiness of tas sockets, and poll/select over sets that mix them with
 * kernel descriptors.  The tas sockets' state is checked by the shim; the
 * kernel descriptors go to the kernel's poll, which the shim sleeps in
 * together with the context's eventfd (shim_wait).
 */
#include <errno.h>
#include <stdlib.h>

#include "real_calls.h"
#include "shim.h"

#define READABLE (EPOLLIN | EPOLLRDNORM)
#define WRITABLE (EPOLLOUT | EPOLLWRNORM)
#define POLL_ON_STACK 64

/* As Linux's tcp_poll: a reset or fully shut connection hangs up and is
 * both readable (end of file) and writable (EPIPE); a socket that is
 * neither connected nor listening is writable and hung up. */
uint32_t sock_readiness(const struct shim_socket *sock)
{
	uint32_t mask = sock->pending_error != 0 ? EPOLLERR : 0;

	switch (sock->state) {
	case SHIM_LISTENING:
		return mask | (sock_first_acceptable(sock) != NULL ? READABLE : 0);
	case SHIM_CONNECTING:
		return mask;
	case SHIM_FRESH:
		return mask | WRITABLE | EPOLLHUP;
	case SHIM_INHERITED:
	case SHIM_ADOPTING:
		/* Nothing until it is this process's (sock_adopt.c). */
		return mask;
	case SHIM_MOVED:
		/* poll reports POLLNVAL (tas_revents); epoll has none. */
		return EPOLLERR | EPOLLHUP;
	case SHIM_CONNECTED:
		break;
	}
	if (sock->reset)
		return mask | READABLE | WRITABLE | EPOLLRDHUP | EPOLLHUP;
	if (sock->peer_fin || sock->rd_shut)
		mask |= READABLE | EPOLLRDHUP;
	else if (sock->conn != NULL && tas_recv_pending(sock->conn) > 0)
		mask |= READABLE;
	if (sock->wr_shut || (sock->conn != NULL && tas_send_space(sock->conn) > 0))
		mask |= WRITABLE;
	/* Both directions shut, whoever shut them. */
	if ((sock->peer_fin || sock->rd_shut) && sock->wr_shut)
		mask |= EPOLLHUP;
	return mask;
}

/* Fill revents of the tas sockets in fds; returns how many are ready.
 * Listeners the program waits on get accept requests out, connections
 * inherited across fork() are taken over.  A connection another process
 * took over is no valid descriptor here any more: POLLNVAL. */
static int tas_revents(struct pollfd *fds, nfds_t nfds)
{
	int ready = 0;

	for (nfds_t i = 0; i < nfds; i++) {
		struct shim_socket *sock = fd_socket(fds[i].fd);
		if (sock == NULL)
			continue;
		if (fds[i].events & POLLIN)
			sock_want_accepts(sock);
		/* Without memory it stays inherited, and is not ready. */
		(void)sock_want_adoption(sock);
		if (sock->state == SHIM_MOVED)
			fds[i].revents = POLLNVAL;
		else
			fds[i].revents = (short)(sock_readiness(sock) &
						 ((uint32_t)(uint16_t)fds[i].events |
						  POLLERR | POLLHUP));
		if (fds[i].revents != 0)
			ready++;
	}
	return ready;
}

int sock_poll(struct pollfd *fds, nfds_t nfds, const struct timespec *deadline,
	      const sigset_t *sigmask)
{
	/* The kernel descriptors and where each stands in fds: on the stack
	 * for the sets programs usually poll, no allocation per call. */
	struct pollfd kernel_on_stack[POLL_ON_STACK];
	nfds_t index_on_stack[POLL_ON_STACK];
	struct pollfd *kernel = kernel_on_stack;
	nfds_t *kernel_index = index_on_stack;
	nfds_t nkernel = 0;

	if (nfds > POLL_ON_STACK) {
		kernel = malloc(nfds * sizeof(*kernel));
		kernel_index = malloc(nfds * sizeof(*kernel_index));
		if (kernel == NULL || kernel_index == NULL) {
			free(kernel);
			free(kernel_index);
			return -ENOMEM;
		}
	}

	int result;
	for (;;) {
		/* Descriptors are looked up afresh each round: another thread
		 * may close one meanwhile. */
		nkernel = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			fds[i].revents = 0;
			if (fds[i].fd < 0 || fd_socket(fds[i].fd) != NULL)
				continue;
			kernel[nkernel] = fds[i];
			kernel_index[nkernel++] = i;
		}
		/* Events first, every time, as epoll does. */
		shim_pump();
		int ready = tas_revents(fds, nfds);
		int kernel_ready;
		if (ready > 0 || shim_deadline_passed(deadline)) {
			kernel_ready = nkernel > 0 ? REAL(poll)(kernel, nkernel, 0) : 0;
			if (kernel_ready < 0) {
				result = -errno;
				break;
			}
		} else {
			int err = shim_wait(kernel, nkernel, deadline, sigmask);
			if (err != 0) {
				result = err;
				break;
			}
			ready = tas_revents(fds, nfds);
			kernel_ready = 0;
			for (nfds_t k = 0; k < nkernel; k++)
				kernel_ready += kernel[k].revents != 0;
			if (ready + kernel_ready == 0 && !shim_deadline_passed(deadline))
				continue;
		}
		for (nfds_t k = 0; k < nkernel; k++)
			fds[kernel_index[k]].revents = kernel[k].revents;
		result = ready + kernel_ready;
		break;
	}
	if (kernel != kernel_on_stack) {
		free(kernel);
		free(kernel_index);
	}
	return result;
}

/* Linux's select: POLLIN_SET, POLLOUT_SET, POLLEX_SET (fs/select.c). */
#define SELECT_READ (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SELECT_WRITE (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SELECT_EXCEPT POLLPRI

int sock_select(int nfds, fd_set *readfds, fd_set *writefds,
		fd_set *exceptfds, const struct timespec *deadline,
		const sigset_t *sigmask)
{
	struct pollfd *fds = malloc((size_t)(nfds > 0 ? nfds : 1) * sizeof(*fds));
	nfds_t count = 0;

	if (fds == NULL)
		return -ENOMEM;
	for (int fd = 0; fd < nfds; fd++) {
		short events = 0;
		if (readfds != NULL && FD_ISSET(fd, readfds))
			events |= POLLIN;
		if (writefds != NULL && FD_ISSET(fd, writefds))
			events |= POLLOUT;
		if (exceptfds != NULL && FD_ISSET(fd, exceptfds))
			events |= POLLPRI;
		if (events != 0)
			fds[count++] = (struct pollfd){ .fd = fd, .events = events };
	}

	int result = sock_poll(fds, count, deadline, sigmask);
	if (result >= 0) {
		for (nfds_t i = 0; i < count; i++)
			if (fds[i].revents & POLLNVAL)
				result = -EBADF;
	}
	if (result >= 0) {
		result = 0;
		for (nfds_t i = 0; i < count; i++) {
			int fd = fds[i].fd;
			short revents = fds[i].revents;
			if (readfds != NULL && FD_ISSET(fd, readfds)) {
				if (revents & SELECT_READ)
					result++;
				else
					FD_CLR(fd, readfds);
			}
			if (writefds != NULL && FD_ISSET(fd, writefds)) {
				if (revents & SELECT_WRITE)
					result++;
				else
					FD_CLR(fd, writefds);
			}
			if (exceptfds != NULL && FD_ISSET(fd, exceptfds)) {
				if (revents & SELECT_EXCEPT)
					result++;
				else
					FD_CLR(fd, exceptfds);
			}
		}
	}
	free(fds);
	return result;
}
