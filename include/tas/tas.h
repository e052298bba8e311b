/*
 * libtas: the native, event-driven, zero-copy interface to the tas service.
 *
 * Model: an application registers once (tas_init), then creates one
 * context per thread that does network work.  All calls on a context and
 * on the connections and listeners opened through it must come from one
 * thread at a time.  Calls never block except tas_wait().  Results of
 * asynchronous operations (connect, accept, listen) and everything the
 * network does (data arrived, buffer space freed, peer closed, reset) are
 * reported as events by tas_poll()/tas_wait().
 *
 * Data moves through per-connection circular buffers in memory shared
 * with the service: receive is zero-copy (tas_recv_peek + tas_recv_release),
 * and so is send (tas_send_reserve + tas_send_commit).  tas_recv() and
 * tas_send() are copying conveniences built on them.
 *
 * Errors are returned as negative errno values.
 *
 * Processes (fork).  Every context, connection and listener a forked
 * child inherits stays its parent's.  The child's first
 * tas_context_create() joins the parent's application with a
 * registration of its own (a grandchild's likewise); its contexts are its
 * own from then on.  When a process of the application exits, the service
 * resets the connections of its contexts; the application, its listeners
 * and the other processes' connections live on until the last one exits.
 * With what it inherited the child may only:
 *   - accept on an inherited listener through its own context (the
 *     listener must have been up, TAS_EV_LISTENING, at the fork; accepted
 *     connections arrive on that context);
 *   - tas_listener_close() an inherited listener (any ctx, even NULL) and
 *     tas_close()/tas_abort() an inherited connection: these free the
 *     child's copy only and send nothing; the parent's stay open;
 *   - read or set user data and addresses (local memory).
 * Every other call on an inherited context or connection fails with
 * -EBADF (those returning a size return 0).  tas_context_create() fails
 * with ESRCH if every other process of the application has exited before
 * the child joins.  tas_init() in a child is -EALREADY; after tas_fini()
 * it registers a new application.
 */
#ifndef TAS_TAS_H
#define TAS_TAS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t */

#ifdef __cplusplus
extern "C" {
#endif

struct tas_context;
struct tas_conn;
struct tas_listener;

enum tas_event_type {
	TAS_EV_LISTENING = 1, /* tas_listen completed (status) */
	TAS_EV_ACCEPTED,      /* conn is a new connection from a listener */
	TAS_EV_CONNECTED,     /* tas_connect completed (status; 0 = success) */
	TAS_EV_DATA,          /* conn has new data to receive */
	TAS_EV_WRITABLE,      /* conn has new free space in its send buffer */
	TAS_EV_PEER_CLOSED,   /* peer sent FIN: after the buffered data, EOF */
	TAS_EV_RESET,         /* connection reset by peer; conn is dead */
	TAS_EV_CLOSED,        /* conn fully released by the service; the
				 conn pointer is invalid after this event */
	TAS_EV_ERROR,         /* asynchronous failure (status) */
};

struct tas_event {
	enum tas_event_type type;
	int status;                   /* 0 or negative errno */
	struct tas_conn *conn;        /* connection events */
	struct tas_listener *listener;/* LISTENING, ACCEPTED */
	void *user_data;              /* of conn, or of listener */
};

/* Register this process with the service listening on socket_path
 * (NULL: $TAS_SOCKET, else TAS_DEFAULT_SOCKET_PATH).  Returns 0 or -errno.
 * Call once per process; a forked child inherits the registration (see
 * "Processes" above). */
int tas_init(const char *socket_path);

/* Undo tas_init; open connections are reset by the service. */
void tas_fini(void);

/* Create a context (one per thread); returns NULL with errno set.  In a
 * forked child the first one joins the parent's application first. */
struct tas_context *tas_context_create(void);

/* Listen on local_port (host byte order) of the service's address with
 * the given backlog.  Completion: TAS_EV_LISTENING.  Returns 0 or -errno
 * and stores the listener handle in *out on success. */
int tas_listen(struct tas_context *ctx, uint16_t local_port, uint32_t backlog,
	       void *user_data, struct tas_listener **out);

/* Ask for one connection from the listener's backlog.  Completion:
 * TAS_EV_ACCEPTED on ctx carrying a new conn whose user_data is the
 * user_data given here.  Several accepts may be outstanding.  ctx may be
 * another context than the listener's (threads sharing one listener) once
 * the listener is up (TAS_EV_LISTENING); before that: -EAGAIN.  Accepts of
 * other contexts must be completed before the listener is closed. */
int tas_accept(struct tas_context *ctx, struct tas_listener *listener,
	       void *user_data);

/* Stop listening; connections already accepted are unaffected.  On a
 * listener inherited across fork(): forget it here, keep it listening. */
int tas_listener_close(struct tas_context *ctx, struct tas_listener *listener);

/* Open a connection to remote_ip:remote_port (host byte order).  The
 * call returns at once; completion is TAS_EV_CONNECTED with status 0 or
 * e.g. -ECONNREFUSED, -ETIMEDOUT. */
int tas_connect(struct tas_context *ctx, uint32_t remote_ip,
		uint16_t remote_port, void *user_data, struct tas_conn **out);

/* As tas_listen, for connections from this host only (a listener bound to
 * loopback): to others the port is closed. */
int tas_listen_local(struct tas_context *ctx, uint16_t local_port,
		     uint32_t backlog, void *user_data,
		     struct tas_listener **out);

/* Zero-copy receive: point *data at the next contiguous received bytes
 * and return how many there are (0: none yet; the data after a wrap of
 * the buffer is returned by the next call). */
size_t tas_recv_peek(struct tas_conn *conn, void **data);

/* Release len bytes returned by tas_recv_peek, opening the window. */
int tas_recv_release(struct tas_conn *conn, size_t len);

/* Copying receive: returns bytes copied, 0 at EOF (peer closed and all
 * data consumed), -EAGAIN when nothing is buffered, or another -errno. */
ssize_t tas_recv(struct tas_conn *conn, void *buf, size_t len);

/* Zero-copy send: point *data at free contiguous space in the send
 * buffer and return its size (0: buffer full; wait for TAS_EV_WRITABLE). */
size_t tas_send_reserve(struct tas_conn *conn, void **data);

/* Hand len bytes written into reserved space to the service for sending. */
int tas_send_commit(struct tas_conn *conn, size_t len);

/* Copying send: returns bytes accepted (possibly fewer than len),
 * -EAGAIN when the buffer is full, or another -errno. */
ssize_t tas_send(struct tas_conn *conn, const void *buf, size_t len);

/* Free space in the send buffer and unread bytes in the receive buffer. */
size_t tas_send_space(const struct tas_conn *conn);
size_t tas_recv_pending(const struct tas_conn *conn);

/* SHUT_RD, SHUT_WR or SHUT_RDWR, as shutdown(2). */
int tas_shutdown(struct tas_conn *conn, int how);

/* Orderly close: queued data is sent, then FIN; TAS_EV_CLOSED follows. */
int tas_close(struct tas_conn *conn);

/* Abortive close: RST to the peer; TAS_EV_CLOSED follows. */
int tas_abort(struct tas_conn *conn);

/* Set and read the user data of a connection. */
void tas_conn_set_user_data(struct tas_conn *conn, void *user_data);
void *tas_conn_user_data(const struct tas_conn *conn);

/* Addresses in host byte order. */
void tas_conn_addresses(const struct tas_conn *conn, uint32_t *local_ip,
			uint16_t *local_port, uint32_t *remote_ip,
			uint16_t *remote_port);

/* The service's IPv4 address (host byte order): where listeners listen
 * and what connections to this host reach; 0 before tas_init. */
uint32_t tas_local_address(void);

/* Fetch up to max pending events without blocking; returns the count. */
int tas_poll(struct tas_context *ctx, struct tas_event *events, int max);

/* As tas_poll, but block up to timeout_ms (-1: forever) for at least one
 * event.  Returns the count, 0 on timeout, or -errno (-EINTR on signal). */
int tas_wait(struct tas_context *ctx, struct tas_event *events, int max,
	     int timeout_ms);

/* A file descriptor that becomes readable when the context may have
 * events, for integrating with another event loop.  Call tas_context_arm()
 * before blocking on it: it returns 1 if events are already pending (do
 * not block, call tas_poll) and 0 once the service will signal the fd.
 * After the fd fires, call tas_poll. */
int tas_context_fd(const struct tas_context *ctx);
int tas_context_arm(struct tas_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* TAS_TAS_H */
