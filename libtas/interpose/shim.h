/*
 * libtas-interpose: the LD_PRELOAD sockets shim, internal interfaces.
 *
 * An unmodified program's IPv4 stream sockets become libtas connections
 * and listeners; every other descriptor stays with libc.  Each tas socket
 * keeps a real kernel descriptor, a *placeholder* (an unused AF_INET
 * stream socket), so descriptor numbers, FD_CLOEXEC, fd limits and the
 * options the shim does not implement behave as the kernel's; the shim
 * maps that number to its struct shim_socket.
 *
 * Threads: one libtas context per process, shared by all its threads
 * under shim.lock.  Every function here that touches sockets or the
 * context expects the lock held unless it says otherwise.  Blocking calls
 * wait in shim_wait(), which drops the lock while asleep.
 *
 * Errors: internal functions return 0 or a count, or a negative errno;
 * the exported libc entry points (entry_points.c) turn that into -1/errno.
 */
#ifndef TAS_INTERPOSE_SHIM_H
#define TAS_INTERPOSE_SHIM_H

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "tas/tas.h"

enum shim_socket_state {
	SHIM_FRESH,       /* neither listening nor connected */
	SHIM_LISTENING,
	SHIM_CONNECTING,
	SHIM_CONNECTED,   /* also after peer FIN, shutdown or reset */
	SHIM_INHERITED,   /* a connection of the parent process (fork) */
	SHIM_ADOPTING,    /* inherited, being taken over (sock_adopt.c) */
	SHIM_MOVED,       /* adopted by another process: gone from here */
};

/* As Linux starts a socket: Nagle on, no keepalive, its knobs' defaults,
 * the service's congestion control (congestion -1). */
struct shim_tcp_options {
	bool nodelay;
	bool keepalive;
	int keepidle;
	int keepintvl;
	int keepcnt;
	int congestion;             /* enum tas_cc_algorithm, -1: not set */
	bool keepalive_pushed;      /* the connection has keepalive settings */
};

struct shim_socket {
	enum shim_socket_state state;
	unsigned refs;              /* descriptors naming it (dup) */
	bool nonblocking;           /* O_NONBLOCK of the file description */
	int pending_error;          /* SO_ERROR, positive errno */
	/* Counts of readiness-changing events, for edge-triggered epoll. */
	uint64_t in_events;
	uint64_t out_events;

	/* Addresses as getsockname/getpeername report them. */
	bool bound;
	struct sockaddr_in local_addr;
	struct sockaddr_in remote_addr;
	bool loopback;              /* connected through 127.0.0.0/8 */
	bool auto_port;             /* bound to port 0: the shim chose it */
	bool reuseport;             /* SO_REUSEPORT set */
	bool connect_done_unseen;   /* a connect completed in the background:
				     * the next connect() says 0, not EISCONN */

	/* Listener (shared by SO_REUSEPORT listeners of one port). */
	struct shim_listen_port *listen_port;
	uint32_t backlog;
	int listen_status;          /* 1 while LISTEN is outstanding */
	uint32_t accepts_requested; /* outstanding tas_accept calls */
	struct shim_socket *accepted_head; /* accepted, not yet accept()ed */
	struct shim_socket *accepted_tail;
	uint32_t accepted_count;
	bool defer_accept;          /* TCP_DEFER_ACCEPT: accept once data came */
	struct shim_socket *accepted_next;
	struct shim_socket *queued_on; /* the listener whose queue holds it */

	/* Connection. */
	struct tas_conn *conn;      /* NULL once libtas has released it */
	bool peer_fin;
	bool reset;
	bool rd_shut;
	bool wr_shut;

	/* Options the shim itself acts on (the placeholder keeps the rest). */
	struct timespec rcv_timeout; /* zero: none */
	struct timespec snd_timeout;
	bool linger_abort;          /* SO_LINGER on with 0 s: close sends RST */
	/* TCP options the service acts on, pushed to the connection once it
	 * is established (accepted ones inherit their listener's). */
	struct shim_tcp_options tcp;

	struct shim_socket *all_prev; /* every socket of the process */
	struct shim_socket *all_next;
};

/* The service's listener for a port, and the sockets listening on it (more
 * than one with SO_REUSEPORT: each takes the connections its own accept
 * requests bring). */
struct shim_listen_port {
	struct tas_listener *listener;
	unsigned sockets;
	bool inherited;             /* made by an ancestor process (fork) */
};

struct shim_process {
	pthread_mutex_t lock;
	struct tas_context *ctx;    /* NULL until the first socket call */
	bool registered;            /* tas_init done (it survives fork) */
	int init_error;             /* sticky failure of tas_init */
	struct in_addr local_ip;    /* the service's address */
	struct shim_waiter *waiters;/* threads blocked in shim_wait */
};

extern struct shim_process shim;

/* ---- shim_process.c: the context, events and waiting ---- */

/* Lock, and make sure this process has a context (the first call, and
 * the first after fork, create one).  0, or -errno with the lock not
 * held. */
int shim_enter(void);
/* Lock without making a context: for closing, which never needs one. */
void shim_lock(void);
void shim_leave(void);

/* Take the context's events and apply them to the sockets. */
void shim_pump(void);

/* Send the commands libtas still holds back (a CLOSE waits until the
 * core has taken the data before it): the next chance might come only
 * after the program exits or waits elsewhere.  Waits a little. */
void shim_flush(void);

/* Block until the context may have news, one of the kernel descriptors
 * in fds is ready (their revents are filled), or deadline (NULL: none)
 * passes, with the signal mask sigmask (NULL: unchanged) while asleep.
 * Lock held on entry and return.  0, or -EINTR, -ENOMEM. */
int shim_wait(struct pollfd *fds, nfds_t nfds, const struct timespec *deadline,
	      const sigset_t *sigmask);

/* Deadline timeout_ms from now into *deadline; NULL when timeout_ms < 0. */
const struct timespec *shim_deadline(int timeout_ms, struct timespec *deadline);
const struct timespec *shim_deadline_ts(const struct timespec *timeout,
					struct timespec *deadline);
bool shim_deadline_passed(const struct timespec *deadline);

/* ---- fd_table.c: descriptor numbers ---- */

int fd_table_init(void);
/* Whether descriptor fd can be tracked (it is below the table's size). */
bool fd_fits(int fd);
/* The socket a descriptor names, or NULL (lock-free: safe anywhere). */
struct shim_socket *fd_socket(int fd);
/* fd names sock from now on (one more reference). */
void fd_attach(int fd, struct shim_socket *sock);
/* Forget fd; returns the socket it named (NULL if none). */
struct shim_socket *fd_detach(int fd);
/* One past the highest descriptor ever attached (bounds scans). */
int fd_high_water(void);

struct shim_epoll;
struct shim_epoll *fd_epoll(int epfd);
void fd_set_epoll(int epfd, struct shim_epoll *ep);

/* ---- sock_open.c ---- */

int sock_socket(int domain, int type, int protocol);
int sock_bind(struct shim_socket *sock, const struct sockaddr *addr,
	      socklen_t len);
int sock_listen(struct shim_socket *sock, int backlog);
int sock_accept(struct shim_socket *sock, struct sockaddr *addr,
		socklen_t *len, int flags);
int sock_connect(struct shim_socket *sock, const struct sockaddr *addr,
		 socklen_t len);
int sock_name(struct shim_socket *sock, struct sockaddr *addr,
	      socklen_t *len, bool peer);
int sock_shutdown(struct shim_socket *sock, int how);
/* A reference to sock (a descriptor, or a call in progress) is gone;
 * the last one closes it. */
void sock_unref(struct shim_socket *sock);
/* Keep accept requests outstanding on a listener the program waits on. */
void sock_want_accepts(struct shim_socket *sock);
/* In a forked child (only the forking thread exists): connections become
 * SHIM_INHERITED, listeners drop the parent's queued connections. */
void sock_after_fork(void);

/* ---- sock_adopt.c: connections inherited across fork ---- */

/* The program uses or waits for sock: take an inherited connection over.
 * 0, or -ENOMEM (it stays inherited). */
int sock_want_adoption(struct shim_socket *sock);
/* For a call that needs the connection: sock_want_adoption, then wait
 * until the adoption is done.  0 once sock is no inherited connection
 * (any more), -EAGAIN (dontwait, or deadline passed), -EBADF (moved to
 * another process), or shim_wait's error. */
int sock_adopted(struct shim_socket *sock, bool dontwait,
		 const struct timespec *deadline);

/* The first queued connection accept() may take (TCP_DEFER_ACCEPT holds
 * back those without data), or NULL. */
struct shim_socket *sock_first_acceptable(const struct shim_socket *listener);

/* Event handlers (shim_process.c dispatches to them). */
void sock_on_listening(struct shim_socket *sock, int status);
void sock_on_accepted(struct shim_socket *listener, struct tas_conn *conn);
void sock_on_accept_failed(struct shim_socket *listener);
void sock_on_connected(struct shim_socket *sock, int status);
void sock_on_adopted(struct shim_socket *sock, int status);
void sock_on_moved(struct shim_socket *sock);

/* ---- sock_io.c ---- */

ssize_t sock_recv(struct shim_socket *sock, const struct iovec *iov,
		  int iovcnt, int flags);
ssize_t sock_send(struct shim_socket *sock, const struct iovec *iov, int iovcnt,
		  int flags);
ssize_t sock_sendfile(struct shim_socket *sock, int in_fd, off_t *offset,
		      size_t count);

/* ---- sock_options.c ---- */

void sock_tcp_options_init(struct shim_tcp_options *tcp);
/* Hand sock's TCP options to its established connection. */
void sock_push_tcp_options(struct shim_socket *sock);
/* Give an accepted socket's placeholder fd the options it inherited. */
void sock_mirror_tcp_options(int fd, const struct shim_tcp_options *tcp);
int sock_setsockopt(int fd, struct shim_socket *sock, int level, int name,
		    const void *value, socklen_t len);
int sock_getsockopt(int fd, struct shim_socket *sock, int level, int name,
		    void *value, socklen_t *len);
int sock_fcntl(int fd, struct shim_socket *sock, int cmd, unsigned long arg);
int sock_ioctl(int fd, struct shim_socket *sock, unsigned long request,
	       void *arg);
/* The error a call reports first (SO_ERROR semantics): taken once. */
int sock_take_error(struct shim_socket *sock);

/* ---- sock_poll.c ---- */

/* EPOLLIN/OUT/RDHUP/HUP/ERR as Linux would report for this socket. */
uint32_t sock_readiness(const struct shim_socket *sock);
/* poll(2) over descriptors some of which are tas sockets. */
int sock_poll(struct pollfd *fds, nfds_t nfds, const struct timespec *deadline,
	      const sigset_t *sigmask);
/* select(2) by way of sock_poll. */
int sock_select(int nfds, fd_set *readfds, fd_set *writefds,
		fd_set *exceptfds, const struct timespec *deadline,
		const sigset_t *sigmask);

/* ---- sock_epoll.c ---- */

int sock_epoll_ctl(int epfd, int op, int fd, struct shim_socket *sock,
		   struct epoll_event *event);
int sock_epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		    const struct timespec *deadline, const sigset_t *sigmask);
/* fd (naming sock) is being closed: drop it from every epoll set. */
void sock_epoll_forget(int fd, const struct shim_socket *sock);
/* The epoll descriptor itself is being closed. */
void sock_epoll_close(int epfd);

#endif /* TAS_INTERPOSE_SHIM_H */
