/*
 * A tas socket's life: socket, bind, listen and accept, connect, the
 * addresses it reports, shutdown and the last close.
 *
 * Listening is asynchronous in libtas; listen() waits for the answer, so
 * that EADDRINUSE is reported where programs expect it.  Accept requests
 * (tas_accept) are sent only once the program shows it accepts on the
 * listener (accept(), or waiting for it in poll/select/epoll): a pre-fork
 * server's master, which only listens, then takes no connections away
 * from its workers.  Accepted connections wait in the listener's queue
 * until accept() gives them a descriptor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "real_calls.h"
#include "shim.h"

/* Accept requests kept outstanding per listener and process; the rest of
 * the backlog waits in the service. */
#define ACCEPTS_OUTSTANDING 16u
#define MAX_BACKLOG 4096u
/* Ports tried for a listener bound to port 0 (as Linux's ephemeral
 * range, net.ipv4.ip_local_port_range). */
#define EPHEMERAL_FIRST 32768u
#define EPHEMERAL_LAST 60999u
#define EPHEMERAL_TRIES 64u

/* Every socket of the process: for bind's port check and for fork. */
static struct shim_socket *all_sockets;

static void track(struct shim_socket *sock)
{
	sock->all_prev = NULL;
	sock->all_next = all_sockets;
	if (all_sockets != NULL)
		all_sockets->all_prev = sock;
	all_sockets = sock;
}

static void untrack(struct shim_socket *sock)
{
	if (sock->all_prev != NULL)
		sock->all_prev->all_next = sock->all_next;
	else
		all_sockets = sock->all_next;
	if (sock->all_next != NULL)
		sock->all_next->all_prev = sock->all_prev;
}

static struct shim_socket *socket_new(void)
{
	struct shim_socket *sock = calloc(1, sizeof(*sock));

	if (sock == NULL)
		return NULL;
	sock->state = SHIM_FRESH;
	sock_tcp_options_init(&sock->tcp);
	sock->local_addr.sin_family = AF_INET;
	sock->remote_addr.sin_family = AF_INET;
	track(sock);
	return sock;
}

static void socket_free(struct shim_socket *sock)
{
	untrack(sock);
	free(sock);
}

/* A placeholder descriptor for a new tas socket (see shim.h). */
static int placeholder(int type_flags)
{
	int fd = REAL(socket)(AF_INET, SOCK_STREAM | type_flags, 0);

	if (fd < 0)
		return -errno;
	if (!fd_fits(fd)) {
		REAL(close)(fd);
		return -EMFILE;
	}
	return fd;
}

int sock_socket(int domain, int type, int protocol)
{
	(void)domain;
	(void)protocol;
	int err = shim_enter();

	if (err != 0)
		return err;
	int fd = placeholder(type & (SOCK_NONBLOCK | SOCK_CLOEXEC));
	struct shim_socket *sock = fd >= 0 ? socket_new() : NULL;
	if (fd >= 0 && sock == NULL) {
		REAL(close)(fd);
		fd = -ENOMEM;
	}
	if (sock != NULL) {
		sock->nonblocking = type & SOCK_NONBLOCK;
		fd_attach(fd, sock);
	}
	shim_leave();
	return fd;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

static bool is_loopback(struct in_addr ip)
{
	return (ntohl(ip.s_addr) >> 24) == 127;
}

/* Addresses a tas socket can have on this host. */
static bool is_local(struct in_addr ip)
{
	return ip.s_addr == htonl(INADDR_ANY) || is_loopback(ip) ||
	       ip.s_addr == shim.local_ip.s_addr;
}

static int check_inet(const struct sockaddr *addr, socklen_t len)
{
	if (addr == NULL)
		return -EFAULT;
	if (len < (socklen_t)sizeof(struct sockaddr_in))
		return -EINVAL;
	return addr->sa_family == AF_INET ? 0 : -EAFNOSUPPORT;
}

/* Another socket of this process holds port (bound or listening) and
 * does not share it: SO_REUSEPORT on both does. */
static bool port_taken(const struct shim_socket *self, uint16_t port_net)
{
	for (const struct shim_socket *s = all_sockets; s != NULL; s = s->all_next)
		if (s != self && s->bound && s->local_addr.sin_port == port_net &&
		    (s->state == SHIM_FRESH || s->state == SHIM_LISTENING) &&
		    !(s->reuseport && self->reuseport))
			return true;
	return false;
}

static uint16_t random_port(void)
{
	static unsigned seed;

	if (seed == 0)
		seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
	return (uint16_t)(EPHEMERAL_FIRST +
			  rand_r(&seed) % (EPHEMERAL_LAST - EPHEMERAL_FIRST + 1));
}

/* A port from the ephemeral range no socket of this process holds
 * (network order), or 0. */
static uint16_t free_port(const struct shim_socket *self)
{
	for (unsigned i = 0; i < EPHEMERAL_TRIES; i++) {
		uint16_t port = htons(random_port());
		if (!port_taken(self, port))
			return port;
	}
	return 0;
}

int sock_bind(struct shim_socket *sock, const struct sockaddr *addr,
	      socklen_t len)
{
	int err = check_inet(addr, len);

	if (err != 0)
		return err;

	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	if (sock->bound || sock->state != SHIM_FRESH)
		return -EINVAL;
	if (!is_local(sin->sin_addr))
		return -EADDRNOTAVAIL;
	uint16_t port = sin->sin_port;
	if (port != 0 && port_taken(sock, port))
		return -EADDRINUSE;
	/* Port 0: Linux chooses at once, and getsockname shows it. */
	sock->auto_port = port == 0;
	if (port == 0 && (port = free_port(sock)) == 0)
		return -EADDRINUSE;
	sock->bound = true;
	sock->local_addr.sin_addr = sin->sin_addr;
	sock->local_addr.sin_port = port;
	return 0;
}

int sock_name(struct shim_socket *sock, struct sockaddr *addr,
	      socklen_t *len, bool peer)
{
	if (addr == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;

	struct sockaddr_in sin;
	bool connected = sock->state == SHIM_CONNECTED ||
			 sock->state == SHIM_INHERITED ||
			 sock->state == SHIM_ADOPTING;
	if (sock->state == SHIM_MOVED)
		return -EBADF;
	if (peer) {
		if (!connected || sock->reset)
			return -ENOTCONN;
		sin = sock->remote_addr;
	} else {
		sin = sock->local_addr;
	}
	if (sock->loopback && connected)
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memcpy(addr, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
	return 0;
}

/* The connection's addresses, for getsockname/getpeername. */
static void learn_addresses(struct shim_socket *sock)
{
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;

	tas_conn_addresses(sock->conn, &local_ip, &local_port, &remote_ip,
			   &remote_port);
	sock->local_addr.sin_addr.s_addr = htonl(local_ip);
	sock->local_addr.sin_port = htons(local_port);
	sock->remote_addr.sin_addr.s_addr = htonl(remote_ip);
	sock->remote_addr.sin_port = htons(remote_port);
}

/* ------------------------------------------------------------------ */
/* Listening                                                           */

void sock_on_listening(struct shim_socket *sock, int status)
{
	sock->listen_status = status;
}

/* Ask the service to listen on port and wait for its answer. */
static int start_listening(struct shim_socket *sock, uint16_t port)
{
	struct shim_listen_port *shared = calloc(1, sizeof(*shared));

	if (shared == NULL)
		return -ENOMEM;

	int err = is_loopback(sock->local_addr.sin_addr)
		? tas_listen_local(shim.ctx, port, sock->backlog, sock,
				   &shared->listener)
		: tas_listen(shim.ctx, port, sock->backlog, sock,
			     &shared->listener);
	if (err != 0) {
		free(shared);
		return err;
	}
	sock->listen_status = 1;
	while (sock->listen_status == 1) {
		/* The answer comes whatever signals arrive meanwhile. */
		err = shim_wait(NULL, 0, NULL, NULL);
		if (err == -ENOMEM)
			break;
	}
	err = sock->listen_status;
	if (err != 0) {
		tas_listener_close(shim.ctx, shared->listener);
		free(shared);
		return err;
	}
	shared->sockets = 1;
	sock->listen_port = shared;
	return 0;
}

/* An SO_REUSEPORT listener of this process on port_net, or NULL. */
static struct shim_socket *reuseport_listener(const struct shim_socket *self,
					      uint16_t port_net)
{
	for (struct shim_socket *s = all_sockets; s != NULL; s = s->all_next)
		if (s != self && s->state == SHIM_LISTENING && s->reuseport &&
		    s->local_addr.sin_port == port_net && s->listen_port != NULL)
			return s;
	return NULL;
}

static int listen_on(struct shim_socket *sock, uint16_t port_net)
{
	struct shim_socket *sibling =
		sock->reuseport ? reuseport_listener(sock, port_net) : NULL;

	if (sibling != NULL) {
		sock->listen_port = sibling->listen_port;
		sock->listen_port->sockets++;
		return 0;
	}
	return start_listening(sock, ntohs(port_net));
}

int sock_listen(struct shim_socket *sock, int backlog)
{
	uint32_t wanted = backlog <= 0 ? 1u
			  : (uint32_t)backlog > MAX_BACKLOG ? MAX_BACKLOG
							     : (uint32_t)backlog;

	if (sock->state == SHIM_LISTENING) {
		/* Linux lets a listener change its backlog; the service's
		 * stays as it was, the shim's share follows. */
		sock->backlog = wanted;
		return 0;
	}
	if (sock->state != SHIM_FRESH)
		return -EINVAL;
	sock->backlog = wanted;

	/* Unbound, or bound to port 0: another port if the service has
	 * the one chosen in use (another process's). */
	bool chosen = !sock->bound || sock->auto_port;
	uint16_t port = sock->bound ? sock->local_addr.sin_port : free_port(sock);
	int err = port != 0 ? listen_on(sock, port) : -EADDRINUSE;
	for (unsigned i = 0; chosen && err == -EADDRINUSE && i < EPHEMERAL_TRIES; i++)
		if ((port = free_port(sock)) != 0)
			err = listen_on(sock, port);
	if (err != 0)
		return err;
	sock->state = SHIM_LISTENING;
	sock->bound = true;
	sock->local_addr.sin_port = port;
	return 0;
}

void sock_want_accepts(struct shim_socket *sock)
{
	if (sock->state != SHIM_LISTENING || sock->listen_port == NULL)
		return;

	uint32_t target = sock->backlog < ACCEPTS_OUTSTANDING ? sock->backlog
							       : ACCEPTS_OUTSTANDING;
	while (sock->accepts_requested + sock->accepted_count < target &&
	       tas_accept(shim.ctx, sock->listen_port->listener, sock) == 0)
		sock->accepts_requested++;
}

void sock_on_accepted(struct shim_socket *listener, struct tas_conn *conn)
{
	struct shim_socket *sock = socket_new();

	if (listener->accepts_requested > 0)
		listener->accepts_requested--;
	if (sock == NULL) {
		tas_conn_set_user_data(conn, NULL);
		tas_abort(conn);
		return;
	}
	sock->state = SHIM_CONNECTED;
	sock->conn = conn;
	sock->bound = true;
	tas_conn_set_user_data(conn, sock);
	learn_addresses(sock);
	/* Only this host reaches a listener bound to loopback (the
	 * service sees to it): its connections show loopback addresses. */
	sock->loopback = is_loopback(listener->local_addr.sin_addr);
	sock->tcp = listener->tcp;
	sock_push_tcp_options(sock);

	sock->queued_on = listener;
	if (listener->accepted_tail != NULL)
		listener->accepted_tail->accepted_next = sock;
	else
		listener->accepted_head = sock;
	listener->accepted_tail = sock;
	listener->accepted_count++;
	listener->in_events++;
}

void sock_on_accept_failed(struct shim_socket *listener)
{
	if (listener->accepts_requested > 0)
		listener->accepts_requested--;
}

/* TCP_DEFER_ACCEPT: a connection is for accept() once data (or its end)
 * came; Linux's timeout after which it is accepted anyway is not kept. */
static bool acceptable(const struct shim_socket *listener,
		       const struct shim_socket *sock)
{
	return !listener->defer_accept || sock->peer_fin || sock->reset ||
	       (sock->conn != NULL && tas_recv_pending(sock->conn) > 0);
}

struct shim_socket *sock_first_acceptable(const struct shim_socket *listener)
{
	for (struct shim_socket *sock = listener->accepted_head; sock != NULL;
	     sock = sock->accepted_next)
		if (acceptable(listener, sock))
			return sock;
	return NULL;
}

/* Unlink sock from listener's queue of accepted connections. */
static struct shim_socket *take_accepted(struct shim_socket *listener,
					 struct shim_socket *sock)
{
	struct shim_socket **link = &listener->accepted_head, *prev = NULL;

	while (*link != sock) {
		prev = *link;
		link = &(*link)->accepted_next;
	}
	*link = sock->accepted_next;
	if (listener->accepted_tail == sock)
		listener->accepted_tail = prev;
	listener->accepted_count--;
	sock->accepted_next = NULL;
	sock->queued_on = NULL;
	return sock;
}

int sock_accept(struct shim_socket *sock, struct sockaddr *addr,
		socklen_t *len, int flags)
{
	struct timespec deadline_store;
	const struct timespec *deadline = NULL;

	if (sock->state != SHIM_LISTENING)
		return -EINVAL;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (addr != NULL && (len == NULL || (int)*len < 0))
		return -EINVAL;
	if (sock->rcv_timeout.tv_sec != 0 || sock->rcv_timeout.tv_nsec != 0)
		deadline = shim_deadline_ts(&sock->rcv_timeout, &deadline_store);

	for (;;) {
		struct shim_socket *child = sock_first_acceptable(sock);
		if (child == NULL) {
			shim_pump();
			child = sock_first_acceptable(sock);
		}
		if (child != NULL) {
			int fd = placeholder(flags);
			if (fd < 0)
				return fd;
			take_accepted(sock, child);
			sock_mirror_tcp_options(fd, &child->tcp);
			child->nonblocking = flags & SOCK_NONBLOCK;
			fd_attach(fd, child);
			sock_want_accepts(sock);
			if (addr != NULL) {
				memcpy(addr, &child->remote_addr,
				       *len < sizeof(child->remote_addr)
					       ? *len : sizeof(child->remote_addr));
				*len = sizeof(child->remote_addr);
			}
			return fd;
		}
		sock_want_accepts(sock);
		if (sock->nonblocking)
			return -EAGAIN;
		if (shim_deadline_passed(deadline))
			return -EAGAIN;
		int err = shim_wait(NULL, 0, deadline, NULL);
		if (err != 0)
			return err;
		if (sock->state != SHIM_LISTENING)
			return -EINVAL;
	}
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

void sock_on_connected(struct shim_socket *sock, int status)
{
	sock->in_events++;
	sock->out_events++;
	if (status == 0) {
		sock->state = SHIM_CONNECTED;
		sock->bound = true;
		sock->connect_done_unseen = true;
		learn_addresses(sock);
		sock_push_tcp_options(sock);
		return;
	}
	/* libtas releases a failed connect by itself; the socket may
	 * connect again (Linux allows it after the error is taken). */
	tas_conn_set_user_data(sock->conn, NULL);
	sock->conn = NULL;
	sock->state = SHIM_FRESH;
	sock->pending_error = -status;
}

static int wait_connected(struct shim_socket *sock)
{
	struct timespec deadline_store;
	const struct timespec *deadline = NULL;

	if (sock->snd_timeout.tv_sec != 0 || sock->snd_timeout.tv_nsec != 0)
		deadline = shim_deadline_ts(&sock->snd_timeout, &deadline_store);
	while (sock->state == SHIM_CONNECTING) {
		if (shim_deadline_passed(deadline))
			return -EINPROGRESS;
		int err = shim_wait(NULL, 0, deadline, NULL);
		if (err != 0)
			return err;
	}
	if (sock->state == SHIM_CONNECTED) {
		sock->connect_done_unseen = false;
		return 0;
	}
	return -sock_take_error(sock);
}

int sock_connect(struct shim_socket *sock, const struct sockaddr *addr,
		 socklen_t len)
{
	int err = check_inet(addr, len);

	if (err != 0)
		return err;
	switch (sock->state) {
	case SHIM_CONNECTING:
		return -EALREADY;
	case SHIM_CONNECTED:
		/* Linux reports a connect that completed in the background
		 * as success once, then EISCONN. */
		if (sock->connect_done_unseen) {
			sock->connect_done_unseen = false;
			return 0;
		}
		return -EISCONN;
	case SHIM_LISTENING:
	case SHIM_INHERITED:
	case SHIM_ADOPTING:
		return -EISCONN;
	case SHIM_MOVED:
		return -EBADF;
	case SHIM_FRESH:
		break;
	}

	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	struct in_addr ip = sin->sin_addr;
	if (sin->sin_port == 0)
		return -ECONNREFUSED;
	/* Loopback and 0.0.0.0 (which Linux takes for loopback) mean this
	 * host: the service's own address. */
	sock->loopback = is_loopback(ip) || ip.s_addr == htonl(INADDR_ANY);
	if (sock->loopback)
		ip = shim.local_ip;

	struct tas_conn *conn;
	sock->pending_error = 0;
	err = tas_connect(shim.ctx, ntohl(ip.s_addr), ntohs(sin->sin_port), sock,
			  &conn);
	if (err != 0)
		return err;
	sock->conn = conn;
	sock->state = SHIM_CONNECTING;
	if (sock->nonblocking)
		return -EINPROGRESS;
	return wait_connected(sock);
}

/* ------------------------------------------------------------------ */
/* Shutdown and close                                                  */

int sock_shutdown(struct shim_socket *sock, int how)
{
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	/* shutdown does not block on Linux, but an inherited connection must
	 * be ours before it can be shut down: a round trip to the service. */
	int err = sock_adopted(sock, false, NULL);
	if (err != 0)
		return err;
	if (sock->state != SHIM_CONNECTED || sock->reset || sock->conn == NULL)
		return -ENOTCONN;

	bool rd = how != SHUT_WR, wr = how != SHUT_RD;
	if (wr && sock->wr_shut)
		how = SHUT_RD;
	if (rd && sock->rd_shut)
		how = how == SHUT_RD ? -1 : SHUT_WR;
	if (how < 0 || (how == SHUT_RD && !rd))
		return 0;

	err = tas_shutdown(sock->conn, how);
	if (err != 0)
		return err;
	shim_flush();
	sock->rd_shut |= rd;
	sock->wr_shut |= wr;
	sock->in_events++;
	sock->out_events++;
	return 0;
}

/* Accepted connections nobody took: Linux resets them with the
 * listener. */
static void drop_accepted(struct shim_socket *listener, bool abort)
{
	while (listener->accepted_head != NULL) {
		struct shim_socket *sock =
			take_accepted(listener, listener->accepted_head);
		if (abort && sock->conn != NULL) {
			tas_conn_set_user_data(sock->conn, NULL);
			tas_abort(sock->conn);
		}
		socket_free(sock);
	}
}

/* As Linux: data left unread, or SO_LINGER {1, 0}, resets the connection
 * instead of closing it in order.  An inherited connection's close only
 * forgets this process's copy (the owner's, or the last copy's, decides
 * how it ends). */
static void close_connection(struct shim_socket *sock)
{
	if (sock->conn == NULL)
		return;
	tas_conn_set_user_data(sock->conn, NULL);
	bool abort = sock->state != SHIM_INHERITED &&
		     (sock->linger_abort || tas_recv_pending(sock->conn) > 0);
	if (abort)
		tas_abort(sock->conn);
	else
		tas_close(sock->conn);
}

static void stop_listening(struct shim_socket *sock)
{
	struct shim_listen_port *shared = sock->listen_port;

	drop_accepted(sock, true);
	sock->listen_port = NULL;
	if (shared == NULL || --shared->sockets > 0)
		return;
	/* An inherited listener in a child without a context of its own
	 * yet has nothing of its own to release. */
	if (!shared->inherited || shim.ctx != NULL)
		tas_listener_close(shim.ctx, shared->listener);
	free(shared);
}

static void release(struct shim_socket *sock)
{
	switch (sock->state) {
	case SHIM_LISTENING:
		stop_listening(sock);
		break;
	case SHIM_CONNECTING:
	case SHIM_CONNECTED:
	case SHIM_INHERITED:
	case SHIM_ADOPTING:
		close_connection(sock);
		break;
	case SHIM_FRESH:
	case SHIM_MOVED:
		break;
	}
	socket_free(sock);
}

void sock_unref(struct shim_socket *sock)
{
	if (--sock->refs == 0)
		release(sock);
}

/* The parent's connections are not the child's to use until it takes
 * them over (their events go to the parent's context; sock_adopt.c);
 * listeners are shared, but the accepts outstanding and the connections
 * queued are the parent's: the child forgets its copies of those.
 * Queued connections are the only sockets without a descriptor here: no
 * call is in progress in a child that has just been forked. */
void sock_after_fork(void)
{
	for (struct shim_socket *sock = all_sockets; sock != NULL;
	     sock = sock->all_next) {
		if (sock->state == SHIM_LISTENING) {
			for (struct shim_socket *queued = sock->accepted_head;
			     queued != NULL; queued = queued->accepted_next)
				close_connection(queued);
			sock->accepted_head = sock->accepted_tail = NULL;
			sock->accepted_count = 0;
			sock->accepts_requested = 0;
			if (sock->listen_port != NULL)
				sock->listen_port->inherited = true;
		} else if (sock->state == SHIM_CONNECTING ||
			   sock->state == SHIM_CONNECTED ||
			   sock->state == SHIM_ADOPTING) {
			sock->state = SHIM_INHERITED;
		}
	}
	for (struct shim_socket *sock = all_sockets, *next; sock != NULL;
	     sock = next) {
		next = sock->all_next;
		if (sock->refs == 0)
			socket_free(sock);
	}
}
