/*
 * libtas internals: the process's registration with the service, contexts,
 * connections and listeners, and the functions the library's files share.
 *
 * Threading: the registration is set up once (tas_init); the socket is
 * shared by every thread and serialised by registration.lock.  Everything
 * reachable from a context is used by one thread at a time (tas.h).
 *
 * fork(): before it, the parent makes the child a member of the
 * application on a socket of its own (registration_fork_member); the
 * child keeps the mapping and the doorbells but closes its copy of the
 * parent's socket (inherit.c).  Every context it inherited, and with it
 * every connection and listener, is marked inherited and is never used
 * for the service again; an inherited connection can be moved to a
 * context of the child (adopt.c).  If the parent could not make the
 * child a member, its first tas_context_create joins the application
 * (registration_new_context).
 */
#ifndef LIBTAS_INTERNAL_H
#define LIBTAS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "conn_map.h"
#include "tas/shm_abi.h"
#include "tas/tas.h"

struct rte_ring;

struct tas_registration {
	pthread_mutex_t lock;     /* the socket, contexts, inherited objects */
	bool initialised;
	int sock;                 /* -1 in a forked child until it joined */
	int child_sock;           /* during fork(): the child's, or -1 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* service */
	uint32_t app_id;
	uint64_t join_token;      /* proves to the service we are app_id's */
	uint8_t *region;
	uint64_t region_size;
	const struct tas_shm_header *header;
	unsigned fp_cores;
	int sp_doorbell_fd;
	int fp_doorbell_fd[TAS_MAX_FP_CORES];
	/* Ours and inherited ones: after the parent died, ours may reuse
	 * the id of an inherited one. */
	struct tas_context *contexts;
};

extern struct tas_registration registration;

/* ---- connections ---- */

#define CONN_ATTACHED 0x0001u      /* flow known: ids and buffers valid */
#define CONN_PEER_FIN 0x0002u
#define CONN_RESET 0x0004u
#define CONN_CLOSING 0x0008u       /* tas_close or tas_abort called */
#define CONN_ABORTING 0x0010u
#define CONN_WR_SHUT 0x0020u
#define CONN_RD_SHUT 0x0040u
#define CONN_CLOSED 0x0080u        /* CLOSED queued: the flow is gone */
#define CONN_DATA_QUEUED 0x0100u   /* a TAS_EV_DATA is waiting for delivery */
#define CONN_WRITABLE_QUEUED 0x0200u
#define CONN_ACCEPT_SENT 0x0400u   /* pending accept: ACCEPT is out */
#define CONN_ACCEPT_FOREIGN 0x0800u /* accept on another context's listener:
				     * not linked in the listener's list */
#define CONN_ADOPTING 0x1000u      /* ADOPT is out: waiting in the opening map
				    * for ADOPTED (its flow ids and buffers
				    * are those of the inherited copy) */
#define CONN_LEFT 0x2000u          /* adopted by another process: LEFT queued */
#define CONN_ACCEPT_QUEUED 0x4000u /* its ACCEPTED is not delivered yet: the
				    * application does not know it */

struct tas_conn {
	struct tas_context *ctx;
	uint32_t flags;
	uint32_t flow_id;
	uint32_t flow_gen;
	uint16_t fp_core;
	/* receive buffer: rx_pending bytes from rx_pos are unread */
	uint8_t *rx_buf;
	uint32_t rx_size;
	uint32_t rx_pos;
	uint32_t rx_pending;
	/* transmit buffer: the app writes at tx_head, tx_free bytes free */
	uint8_t *tx_buf;
	uint32_t tx_size;
	uint32_t tx_head;
	uint32_t tx_free;
	void *user_data;
	uint64_t cookie;           /* of the CONNECT or ACCEPT command */
	/* Pending accepts: their listener and its list of them. */
	struct tas_listener *listener;
	struct tas_conn *accept_prev;
	struct tas_conn *accept_next;
	uint32_t local_ip;         /* network byte order */
	uint32_t remote_ip;
	uint16_t local_port;
	uint16_t remote_port;
	struct tas_conn *next_released;
};

struct tas_listener {
	struct tas_context *ctx;
	uint64_t cookie;           /* of the LISTEN command */
	uint32_t id;               /* valid once listening */
	bool listening;
	int status;                /* of a failed LISTEN */
	void *user_data;
	struct tas_conn *accepts;  /* pending accepts, newest first */
	struct tas_listener *next;
};

/* ---- contexts ---- */

/* Internal queue of events ready for delivery; up to this many come
 * out of one ring event (CLOSED of the flow id's previous connection +
 * ACCEPTED + DATA + PEER_CLOSED + RESET). */
#define READY_QUEUE_SIZE 256u
#define READY_PER_RING_EVENT 5u
#define SP_BACKLOG_SIZE 64u

struct queued_cmd {
	struct tas_app_cmd cmd;
	int barrier_core;          /* -1, or wait until this core's ring drained */
};

/* Commands that did not fit their ring yet, in order. */
struct cmd_queue {
	struct queued_cmd *cmds;
	uint32_t head;
	uint32_t count;
	uint32_t capacity;         /* 0 or a power of two */
};

/* Events that arrived before the ACCEPTED/CONNECTED of their flow. */
struct early_events {
	uint32_t flow_id;
	uint32_t flow_gen;
	uint32_t rx_bytes;
	bool peer_fin;
	int reset_status;          /* 0: no RESET */
};

struct tas_context {
	uint16_t id;
	bool inherited;            /* a parent process's: never used again */
	int eventfd;               /* -1 once inherited */
	bool armed;                /* app_sleeping set by us */
	struct tas_shm_context *shm;
	struct rte_ring *cmd_ring[TAS_RINGS_PER_DIRECTION];
	struct rte_ring *event_ring[TAS_RINGS_PER_DIRECTION];
	struct cmd_queue pending[TAS_RINGS_PER_DIRECTION];
	uint64_t next_cookie;
	struct conn_map flows;     /* flow id -> attached conn */
	struct conn_map opening;   /* cookie -> conn waiting for its flow */
	struct tas_listener *listeners;
	struct tas_conn *released; /* closed and reported; freed next poll */
	/* Slow-path events taken off their ring, handled once every
	 * fast-path ring has been drained after they were taken. */
	struct tas_app_event sp_backlog[SP_BACKLOG_SIZE];
	uint32_t sp_backlog_head;
	uint32_t sp_backlog_count;
	struct tas_event ready[READY_QUEUE_SIZE];
	uint32_t ready_head;
	uint32_t ready_count;
	struct early_events *early;
	uint32_t early_count;
	uint32_t early_capacity;
	struct tas_context *next;  /* registration.contexts */
};

/* inherit.c: the fork handlers (installed once, as the library loads;
 * 0 or -ENOMEM), and what may still be done with what a child inherited:
 * forget it. */
int inherit_install_fork_handlers(void);
static inline bool conn_inherited(const struct tas_conn *conn)
{
	return conn->ctx->inherited;
}
static inline bool listener_inherited(const struct tas_listener *listener)
{
	return listener->ctx->inherited;
}
/* Free the local state of an inherited connection or listener (and tell
 * the service that this process's copy of the connection goes); the
 * parent's stay as they are. */
void inherited_conn_forget(struct tas_conn *conn);
void inherited_listener_forget(struct tas_listener *listener);
/* Whether conn names a flow (attached, or being adopted): a connection
 * a process can hold a copy of and adopt. */
static inline bool conn_has_flow(const struct tas_conn *conn)
{
	return (conn->flags & (CONN_ATTACHED | CONN_ADOPTING)) != 0;
}

/* registration.c: ask the service for a context, joining the parent's
 * application first in a forked child that is no member yet
 * (registration.lock held inside).  0 or -errno. */
int registration_new_context(uint16_t *ctx_id, int *eventfd);
/* With registration.lock held, before fork(): the socket on which the
 * child will be a member of the application (TAS_REG_FORK), or -1 if the
 * service made none. */
int registration_fork_member(void);
/* With registration.lock held, in the child after fork() on the socket
 * of registration_fork_member: a copy of a connection the child keeps
 * (the others go with registration_child_started, which tells the
 * service who the child is). */
void registration_keep_copy(uint32_t flow_id, uint32_t flow_gen);
void registration_child_started(void);
/* With registration.lock held: this process's copy of the flow goes
 * (TAS_REG_FORGET; nothing if it is no member). */
void registration_forget_copy(uint32_t flow_id, uint32_t flow_gen);

/* context.c */
void context_destroy(struct tas_context *ctx);
static inline bool ring_exists(const struct tas_context *ctx, unsigned ring)
{
	return ctx->event_ring[ring] != NULL;
}

/* commands.c: queue a command for a fast-path core's ring or the slow
 * path's, kicking the doorbell as needed.  A slow-path command with
 * barrier_core >= 0 waits until every command already queued for that
 * core has been taken by it.  0 or -ENOMEM. */
int command_to_core(struct tas_context *ctx, unsigned core,
		    const struct tas_app_cmd *cmd);
int command_to_slowpath(struct tas_context *ctx, const struct tas_app_cmd *cmd,
			int barrier_core);
void commands_flush(struct tas_context *ctx);
bool commands_pending(const struct tas_context *ctx);
void commands_free(struct tas_context *ctx);

/* events.c */
bool events_ready(const struct tas_context *ctx);
void events_disarm(struct tas_context *ctx);
void events_free(struct tas_context *ctx);
/* Queue an event for delivery (room was checked by the caller). */
void ready_push(struct tas_context *ctx, enum tas_event_type type, int status,
		struct tas_conn *conn, struct tas_listener *listener,
		void *user_data);
/* Drop queued events that refer to a listener or connection being
 * freed. */
void ready_forget_listener(struct tas_context *ctx,
			   const struct tas_listener *listener);
void ready_forget_conn(struct tas_context *ctx, const struct tas_conn *conn);

/* events.c: a waiting connect, accept or adoption by the cookie of its
 * command, taken out of the opening map (and an accept out of its
 * listener's list); NULL if there is none of that kind. */
enum opening_kind { OPENING_ACCEPT, OPENING_CONNECT, OPENING_ADOPT };
struct tas_conn *take_opening(struct tas_context *ctx, uint64_t cookie,
			      enum opening_kind kind);

/* adopt.c: conn takes its place in its new context as ADOPTED describes
 * it: 0, or -EPROTO if the event does not describe conn's flow. */
int conn_adopted(struct tas_conn *conn, const struct tas_app_event *ev);

/* conn.c */
struct tas_conn *conn_new(struct tas_context *ctx, void *user_data);
/* Attach conn to the flow an ACCEPTED/CONNECTED event describes. */
int conn_attach(struct tas_conn *conn, const struct tas_app_event *ev);
void conn_add_rx(struct tas_conn *conn, uint32_t bytes);
void conn_add_tx_free(struct tas_conn *conn, uint32_t bytes);
/* Send the CLOSE or ABORT that conn->flags ask for. */
int conn_send_close(struct tas_conn *conn);
/* Send the command to the slow path to drop a flow nobody asked for. */
void conn_abort_flow(struct tas_context *ctx, uint32_t flow_id,
		     uint32_t flow_gen);

/* conn_setup.c */
struct tas_listener *listener_by_cookie(const struct tas_context *ctx,
					uint64_t cookie);
void listener_started(struct tas_listener *listener, uint32_t id);
void accept_unlink(struct tas_conn *conn);
void listener_free(struct tas_context *ctx, struct tas_listener *listener);
void listeners_free(struct tas_context *ctx);

#endif /* LIBTAS_INTERNAL_H */
