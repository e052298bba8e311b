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
 * Processes (fork).  A forked child is a member of its parent's
 * application from the fork on (libtas registers it before fork()
 * returns); its first tas_context_create() gives it a context of its own
 * (a grandchild's likewise).  Every context, connection and listener the
 * child inherits stays its parent's, but the child holds a *copy* of each
 * connection, as it holds a copy of a descriptor: a connection that its
 * owner closes or aborts stays open while copies are held, and closes
 * (or aborts) when the last goes.  A copy goes when its process forgets
 * it (tas_close/tas_abort on it), adopts it, or exits.
 * With what it inherited the child may only:
 *   - take an inherited connection over: tas_conn_adopt() moves it to a
 *     context of the child, with its data (what arrived and was not
 *     released, what was committed and not acknowledged, end of file),
 *     and the process that had it gets TAS_EV_LEFT: the last adopter
 *     wins.  A connection may move again (to a grandchild);
 *   - accept on an inherited listener through its own context (the
 *     listener must have been up, TAS_EV_LISTENING, at the fork; accepted
 *     connections arrive on that context);
 *   - tas_listener_close() an inherited listener (any ctx, even NULL) and
 *     tas_close()/tas_abort() an inherited connection: these forget the
 *     child's copy and send nothing else; the parent's stay open;
 *   - read or set user data and addresses (local memory).
 * Every other call on an inherited context or connection fails with
 * -EBADF (those returning a size return 0).  When a process exits, the
 * service resets the connections of its contexts of which no other
 * process holds a copy; the application and its listeners live on until
 * the last process exits.  Two processes using one connection at once is
 * not supported: the one that adopted it last has it; what the other sent
 * after the fork and before TAS_EV_LEFT may be lost, and what it read may
 * be read again by the adopter.  tas_context_create() in a child whose
 * registration at the fork failed joins the application then, with no
 * copies, or fails with ESRCH if every other process of the application
 * has exited meanwhile.  tas_init() in a child is -EALREADY; after
 * tas_fini() it registers a new application.
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
	TAS_EV_ADOPTED,       /* tas_conn_adopt completed (status; 0: conn is
				 ctx's now; else TAS_EV_CLOSED follows) */
	TAS_EV_LEFT,          /* conn was adopted by another process: the last
				 event of conn here; the conn pointer is
				 invalid after it, as after TAS_EV_CLOSED */
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

/* As tas_listen, for connections from this host only (a listener bound to
 * loopback): to others the port is closed. */
int tas_listen_local(struct tas_context *ctx, uint16_t local_port,
		     uint32_t backlog, void *user_data,
		     struct tas_listener **out);

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

/* Orderly close: queued data is sent, then FIN; TAS_EV_CLOSED follows
 * (or TAS_EV_LEFT if another process adopts the connection first).  While
 * other processes hold copies (fork), the connection stays open for them
 * and its FIN waits for the last copy to go. */
int tas_close(struct tas_conn *conn);

/* Abortive close: RST to the peer; TAS_EV_CLOSED follows. */
int tas_abort(struct tas_conn *conn);

/* Take over conn, inherited across fork(), into ctx (one of this
 * process's contexts; see "Processes").  Completion: TAS_EV_ADOPTED on
 * ctx; status 0 and conn is ctx's, carrying on where the process that had
 * it left off (TAS_EV_DATA, TAS_EV_PEER_CLOSED, TAS_EV_RESET follow as
 * they apply), or -ENOTCONN (reset, or both ends done), -EBADF (closed
 * meanwhile), and TAS_EV_CLOSED follows.  Until then data calls on conn
 * return -EAGAIN (those returning a size 0); tas_close/tas_abort take
 * effect once it is adopted.  Returns 0, -EALREADY if an adoption of
 * conn is under way, -EINVAL if conn is not inherited, -ENOTCONN if there
 * is no connection to take over (still connecting at the fork, or closed
 * or reset in the parent by then), -EBADF if ctx is inherited, -ENOMEM. */
int tas_conn_adopt(struct tas_context *ctx, struct tas_conn *conn);

/* Per-connection options (tas_conn_set_option), as their socket
 * namesakes.  Until set, a connection has no Nagle, no keepalive and the
 * service's congestion control (tas --cc). */
enum tas_conn_option {
	TAS_OPT_NODELAY = 1,    /* 1: no Nagle (TCP_NODELAY), 0: Nagle */
	TAS_OPT_KEEPALIVE,      /* 1: keepalive probes on (SO_KEEPALIVE) */
	TAS_OPT_KEEPIDLE,       /* seconds idle before the first probe (7200) */
	TAS_OPT_KEEPINTVL,      /* seconds between probes (75) */
	TAS_OPT_KEEPCNT,        /* unanswered probes before reset (9) */
	TAS_OPT_CONGESTION,     /* enum tas_cc_algorithm */
};

/* Congestion control algorithms (tas --cc names them). */
enum tas_cc_algorithm {
	TAS_CC_NEWRENO,
	TAS_CC_CUBIC,
	TAS_CC_DCTCP,
	TAS_CC_DCTCP_RATE,
	TAS_CC_TIMELY,
	TAS_CC_CONST_RATE,
};

/* Set an option of an established connection (TAS_EV_CONNECTED or
 * TAS_EV_ACCEPTED seen).  Returns 0, -EINVAL (unknown option or value
 * out of range: KEEPIDLE and KEEPINTVL 1..32767, KEEPCNT 1..127), or
 * -ENOTCONN.  Takes effect within a few microseconds. */
int tas_conn_set_option(struct tas_conn *conn, enum tas_conn_option option,
			uint64_t value);

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
