/*
 * Connections inherited across fork().  A connection the process had at
 * the fork is the parent's in the child (SHIM_INHERITED) until the child
 * uses it: its first receive, send or shutdown, or a poll, select or
 * epoll interest in it, takes it over (tas_conn_adopt) into the child's
 * context.  Calls that need it wait for the answer (or fail with EAGAIN
 * if they must not block), and from then on it is an ordinary connected
 * socket carrying on where the parent left off.  The process that loses
 * a connection to an adopter finds its socket SHIM_MOVED: calls on it
 * fail with EBADF, poll reports POLLNVAL (epoll EPOLLERR|EPOLLHUP), and
 * close() only forgets it.  A connection that ended before it could be
 * adopted (reset, or both ends finished) reads as reset.
 */
#include <errno.h>

#include "shim.h"

/* The connection cannot be taken over; status says why. */
static void not_adopted(struct shim_socket *sock, int status)
{
	sock->in_events++;
	sock->out_events++;
	if (status == -ENOTCONN) {
		sock->state = SHIM_CONNECTED;
		sock->reset = true;
		if (sock->pending_error == 0)
			sock->pending_error = ECONNRESET;
	} else {
		sock->state = SHIM_MOVED;
	}
}

int sock_want_adoption(struct shim_socket *sock)
{
	if (sock->state != SHIM_INHERITED)
		return 0;

	int err = tas_conn_adopt(shim.ctx, sock->conn);
	if (err == 0) {
		sock->state = SHIM_ADOPTING;
		return 0;
	}
	if (err == -ENOMEM)
		return err;
	/* Not a connection to take over (still connecting at the fork, or
	 * closed or reset by then): our copy goes. */
	tas_conn_set_user_data(sock->conn, NULL);
	tas_close(sock->conn);
	sock->conn = NULL;
	not_adopted(sock, sock->reset ? -ENOTCONN : -EBADF);
	return 0;
}

int sock_adopted(struct shim_socket *sock, bool dontwait,
		 const struct timespec *deadline)
{
	int err = sock_want_adoption(sock);

	if (err != 0)
		return err;
	while (sock->state == SHIM_ADOPTING) {
		if (dontwait || shim_deadline_passed(deadline))
			return -EAGAIN;
		err = shim_wait(NULL, 0, deadline, NULL);
		if (err != 0)
			return err;
	}
	return sock->state == SHIM_MOVED ? -EBADF : 0;
}

void sock_on_adopted(struct shim_socket *sock, int status)
{
	if (status != 0) {
		/* libtas releases the connection (TAS_EV_CLOSED follows). */
		not_adopted(sock, status);
		return;
	}
	sock->state = SHIM_CONNECTED;
	sock->in_events++;
	sock->out_events++;
	/* A zero-length commit tells whether the write side is still open:
	 * the parent may have shut it down after the fork. */
	if (tas_send_commit(sock->conn, 0) == -EPIPE)
		sock->wr_shut = true;
}

void sock_on_moved(struct shim_socket *sock)
{
	/* libtas frees the connection after this event. */
	tas_conn_set_user_data(sock->conn, NULL);
	sock->conn = NULL;
	sock->state = SHIM_MOVED;
	sock->in_events++;
	sock->out_events++;
}
