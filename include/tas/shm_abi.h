/*
 * Service/application shared-memory ABI.
 *
 * Every application that registers with the tas service gets one shared
 * region (a memfd, hugepage-backed where the system has pages to spare),
 * mapped by the service and by that application only.  The region holds:
 *
 *   offset 0                     struct tas_shm_header
 *   ctx_table_offset             struct tas_shm_context[max_contexts]
 *   ring_area_offset             the contexts' rte_rings (see below)
 *   buf_area_offset              per-flow receive and transmit buffers
 *
 * Each context owns, for every fast-path core i and for the slow path:
 *   a command ring (application -> service) of struct tas_app_cmd and
 *   an event ring (service -> application) of struct tas_app_event.
 * The rings are rte_rings in single-producer/single-consumer mode created
 * with element sizes sizeof(struct tas_app_cmd) / sizeof(struct tas_app_event).
 * Applications use only DPDK's header-inline ring functions on them; the
 * service never trusts the ring headers the application can write and
 * accesses the rings through its own validated accessors.
 *
 * All offsets are relative to the start of the region.  All fields have
 * explicit sizes; the layout is checked by the static asserts at the end.
 * Bump TAS_SHM_ABI_VERSION on any change.
 */
#ifndef TAS_SHM_ABI_H
#define TAS_SHM_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define TAS_SHM_MAGIC 0x74617331u /* "tas1" */
#define TAS_SHM_ABI_VERSION 4u

/* Limits fixed by the ABI. */
#define TAS_MAX_FP_CORES 16u
#define TAS_MAX_CONTEXTS 32u
/* Ring sizes (entries, power of two). */
#define TAS_CMD_RING_SIZE 1024u
#define TAS_EVENT_RING_SIZE 4096u

/* Ring index used for the slow path in a context's ring arrays. */
#define TAS_RING_SLOWPATH TAS_MAX_FP_CORES
#define TAS_RINGS_PER_DIRECTION (TAS_MAX_FP_CORES + 1u)

/* ------------------------------------------------------------------ */
/* Commands: application -> service.                                   */

enum tas_app_cmd_type {
	/* To the fast-path core owning the flow. */
	TAS_CMD_TX_COMMIT = 1,  /* value bytes appended to the tx buffer */
	TAS_CMD_RX_RELEASE = 2, /* value bytes consumed from the rx buffer */

	/* To the slow path. */
	TAS_CMD_LISTEN = 16,    /* ip, port, backlog (value), cookie */
	TAS_CMD_ACCEPT = 17,    /* listener id (flow_id field), cookie */
	TAS_CMD_CONNECT = 18,   /* ip, port, cookie */
	TAS_CMD_SHUTDOWN = 19,  /* flow, value = TAS_SHUT_* */
	TAS_CMD_CLOSE = 20,     /* flow; after TAS_EV_CLOSED the id is gone */
	TAS_CMD_ABORT = 21,     /* flow; send RST and free */
	TAS_CMD_LISTEN_CLOSE = 22, /* listener id */
	/* flow, flow_gen, cookie: move an established flow of this
	 * application that another context holds (a process inherited it
	 * across fork()) to this context.  Answered with TAS_EVT_ADOPTED
	 * from the flow's core, or TAS_EVT_ERROR: -EBADF (no such flow of
	 * this application, or closed), -EALREADY (this context's already),
	 * -ENOTCONN (reset, or no longer in the fast path). */
	TAS_CMD_ADOPT = 23,
	/* flow, flow_gen, value = enum tas_conn_option, cookie = its new
	 * value; TAS_EVT_ERROR -EINVAL for an unknown option or value. */
	TAS_CMD_SET_OPTION = 24,
};

#define TAS_SHUT_RD 1u
#define TAS_SHUT_WR 2u

/* 32 bytes; fields a command does not use are zero. */
struct tas_app_cmd {
	uint16_t type;       /* enum tas_app_cmd_type */
	uint16_t reserved;
	uint32_t flow_id;    /* flow or listener id */
	uint32_t flow_gen;   /* generation of flow_id, guards against reuse */
	uint32_t value;      /* byte count, backlog, shutdown flags */
	uint32_t ip;         /* IPv4, network byte order */
	uint16_t port;       /* network byte order */
	uint16_t reserved2;
	uint64_t cookie;     /* echoed back in events */
};

/* ------------------------------------------------------------------ */
/* Events: service -> application.                                     */

enum tas_app_event_type {
	/* From the fast path. */
	TAS_EVT_RX_DATA = 1,     /* value bytes appended to the rx buffer */
	TAS_EVT_TX_ACKED = 2,    /* value bytes of the tx buffer are free again */
	TAS_EVT_PEER_FIN = 3,    /* peer sent FIN after all data: EOF */
	/* Announced by the fast path too, so that they precede every data
	 * event of the flow; value = bytes already in the rx buffer. */
	TAS_EVT_ACCEPTED = 4,     /* new flow; cookie of the ACCEPT command */
	TAS_EVT_CONNECTED = 5,    /* flow described; status 0 */
	/* TAS_CMD_ADOPT done: the flow is this context's from here on; cookie
	 * of the ADOPT, the buffers described, and the fast path's view of
	 * them (rx_pos, tx_head, tx_unacked, flags; value = bytes received
	 * and not released, from rx_pos).  Precedes every later event of the
	 * flow here, as ACCEPTED does. */
	TAS_EVT_ADOPTED = 6,
	/* The flow was adopted by another context: after every earlier event
	 * of the flow here, and the last one.  Its commands from here are
	 * ignored from now on. */
	TAS_EVT_LEFT = 7,

	/* From the slow path. */
	TAS_EVT_LISTEN_DONE = 16, /* status; flow_id = listener id */
	TAS_EVT_CONNECT_FAILED = 18, /* status < 0; cookie of the CONNECT */
	TAS_EVT_RESET = 20,       /* connection reset by the peer */
	TAS_EVT_CLOSED = 21,      /* flow id released; no more events */
	TAS_EVT_ERROR = 22,       /* status = -errno; command rejected */
};

/* tas_app_event.flags of TAS_EVT_ADOPTED. */
#define TAS_EVF_RX_FIN 1u  /* the peer's FIN follows the value bytes: EOF */
#define TAS_EVF_TX_FIN 2u  /* our FIN was asked for: nothing more to send */

/* 64 bytes.  Fast-path events carry flow_id, flow_gen and value only; the
 * application maps flow ids to its own connection objects.  Buffers lie
 * in the first 4 GiB of the region (the service keeps 32-bit offsets). */
struct tas_app_event {
	uint16_t type;       /* enum tas_app_event_type */
	uint16_t fp_core;    /* fast-path core that owns the flow */
	int32_t status;      /* 0 or a negative errno */
	uint32_t flow_id;    /* flow or listener id */
	uint32_t flow_gen;
	uint64_t cookie;     /* of the command that caused a slow-path event */
	uint32_t value;      /* byte count */
	uint32_t flags;      /* TAS_EVF_* (ADOPTED) */
	/* Flow description (ACCEPTED, CONNECTED, ADOPTED). */
	uint32_t rx_buf_offset;
	uint32_t rx_buf_size;
	uint32_t tx_buf_offset;
	uint32_t tx_buf_size;
	union {
		/* ACCEPTED, CONNECTED: the connection's addresses. */
		struct {
			uint32_t local_ip;   /* network byte order */
			uint32_t remote_ip;  /* network byte order */
			uint16_t local_port; /* network byte order */
			uint16_t remote_port;/* network byte order */
		};
		/* ADOPTED: where the buffers stand (the adopter knows the
		 * addresses: flow id and generation name one connection). */
		struct {
			uint32_t rx_pos;     /* first byte not released */
			uint32_t tx_head;    /* where the next byte is written */
			uint32_t tx_unacked; /* committed, not acknowledged */
		};
	};
	uint32_t reserved;
};

/* ------------------------------------------------------------------ */
/* Region layout.                                                      */

/*
 * One per context.  The service writes everything but app_sleeping; the
 * application writes app_sleeping and reads the rest.  fp_sleeping[i] is
 * set by fast-path core i before it blocks; an application that enqueues a
 * command for core i and then sees fp_sleeping[i] != 0 must kick the core's
 * doorbell (eventfd handed over at registration).  Symmetrically the service
 * kicks the context's eventfd after enqueueing events while app_sleeping.
 */
struct tas_shm_context {
	uint32_t in_use;          /* written by the service */
	uint32_t ctx_id;
	/* Offsets of the rte_rings, one per fast-path core plus the slow path. */
	uint64_t cmd_ring_offset[TAS_RINGS_PER_DIRECTION];
	uint64_t event_ring_offset[TAS_RINGS_PER_DIRECTION];
	uint32_t app_sleeping;    /* written by the application */
	uint32_t reserved;
	uint32_t fp_sleeping[TAS_MAX_FP_CORES]; /* written by the service */
	uint8_t pad[64];
};

struct tas_shm_header {
	uint32_t magic;           /* TAS_SHM_MAGIC */
	uint32_t abi_version;     /* TAS_SHM_ABI_VERSION */
	uint64_t region_size;
	uint32_t max_contexts;    /* TAS_MAX_CONTEXTS */
	uint32_t num_fp_cores;    /* fast-path cores serving this app */
	uint64_t ctx_table_offset;
	uint64_t ring_area_offset;
	uint64_t ring_area_size;
	uint64_t buf_area_offset;
	uint64_t buf_area_size;
	uint32_t local_ip;        /* service address, network byte order */
	uint32_t reserved;
	uint8_t pad[4096 - 72];
};

static_assert(sizeof(struct tas_app_cmd) == 32, "tas_app_cmd ABI size");
static_assert(sizeof(struct tas_app_event) == 64, "tas_app_event ABI size");
static_assert(offsetof(struct tas_app_event, rx_buf_offset) == 32 &&
		      offsetof(struct tas_app_event, local_ip) == 48 &&
		      offsetof(struct tas_app_event, rx_pos) == 48 &&
		      offsetof(struct tas_app_event, tx_unacked) == 56 &&
		      offsetof(struct tas_app_event, reserved) == 60,
	      "tas_app_event layout");
static_assert(sizeof(struct tas_shm_context) ==
		      8 + 16 * TAS_RINGS_PER_DIRECTION + 8 +
			      4 * TAS_MAX_FP_CORES + 64,
	      "tas_shm_context ABI size");
static_assert(sizeof(struct tas_shm_context) % 8 == 0,
	      "tas_shm_context alignment");
static_assert(sizeof(struct tas_shm_header) == 4096, "tas_shm_header size");

/* ------------------------------------------------------------------ */
/* Registration protocol over the service's Unix stream socket.        */

#define TAS_DEFAULT_SOCKET_PATH "/run/tas/tas.sock"
#define TAS_SOCKET_ENV "TAS_SOCKET"

/*
 * A process forked from a registered one shares its region but not its
 * registration.  Before fork() libtas makes the child a member of the
 * application with TAS_REG_FORK: it hands the service one end of a new
 * socket pair, which the child inherits and the parent then closes.  The
 * service treats that socket as another member process of the
 * application: it creates contexts, and its EOF ends only that member's
 * contexts (and resets their flows).  The application, its region and its
 * listeners live while any member does.
 *
 * Like the child's descriptors, the new member holds a *copy* of every
 * connection the forking member has (those of its contexts and the copies
 * it holds itself).  The child's first messages name the copies it keeps
 * (TAS_REG_KEEP, one each), then TAS_REG_CHILD ends the list: the other
 * copies go (connections its parent had not been told of, or had closed).
 * A connection whose owner closes or aborts it stays open while copies
 * are held, and closes (or aborts) when the last goes; a holder may take
 * the connection over (TAS_CMD_ADOPT).  A copy goes with TAS_REG_FORGET,
 * an adoption, or its holder's EOF.
 *
 * A forked process without a member of its own (TAS_REG_FORK failed)
 * joins with TAS_REG_JOIN on a connection of its own, presenting the
 * application's id and the secret join_token of WELCOME; it holds no
 * copies.
 */
enum tas_reg_msg_type {
	TAS_REG_HELLO = 1,       /* app -> service: register */
	TAS_REG_WELCOME = 2,     /* service -> app; app_id, join_token; fds:
				  * region memfd, app doorbell (to wake the
				  * slow path), then one doorbell per
				  * fast-path core */
	TAS_REG_NEW_CONTEXT = 3, /* app -> service */
	TAS_REG_CONTEXT = 4,     /* service -> app; fd: the context's eventfd */
	TAS_REG_ERROR = 5,       /* service -> app; status = -errno */
	TAS_REG_JOIN = 6,        /* app -> service: app_id, join_token */
	TAS_REG_JOINED = 7,      /* service -> app, answers JOIN and FORK;
				  * app_id, region_size, num_fp_cores; no
				  * fds: a forked process has inherited the
				  * region and doorbells */
	TAS_REG_FORK = 8,        /* app -> service; fd: the child's end of an
				  * AF_UNIX stream socket pair */
	TAS_REG_KEEP = 9,        /* child -> service, no answer, before CHILD:
				  * flow_id, flow_gen: a copy it keeps */
	TAS_REG_CHILD = 10,      /* child -> service, no answer: pid; the
				  * copies not kept go */
	TAS_REG_FORGET = 11,     /* app -> service, no answer: flow_id,
				  * flow_gen: this process's copy goes */
};

/* 56 bytes, both directions.  abi_version stays the second field in every
 * version, so a peer speaking another one is told so whatever the size of
 * its messages. */
struct tas_reg_msg {
	uint32_t type;           /* enum tas_reg_msg_type */
	uint32_t abi_version;
	int32_t status;
	uint32_t ctx_id;         /* TAS_REG_CONTEXT */
	uint64_t region_size;    /* TAS_REG_WELCOME, TAS_REG_JOINED */
	uint32_t num_fp_cores;   /* TAS_REG_WELCOME, TAS_REG_JOINED */
	uint32_t app_id;         /* TAS_REG_WELCOME, TAS_REG_JOIN(ED) */
	uint64_t join_token;     /* TAS_REG_WELCOME, TAS_REG_JOIN */
	uint32_t flow_id;        /* TAS_REG_KEEP, TAS_REG_FORGET */
	uint32_t flow_gen;       /* TAS_REG_KEEP, TAS_REG_FORGET */
	int32_t pid;             /* TAS_REG_CHILD */
	uint32_t reserved;
};

static_assert(sizeof(struct tas_reg_msg) == 56, "tas_reg_msg ABI size");
static_assert(offsetof(struct tas_reg_msg, abi_version) == 4,
	      "tas_reg_msg: abi_version is always at offset 4");
static_assert(offsetof(struct tas_reg_msg, join_token) == 32 &&
		      offsetof(struct tas_reg_msg, flow_id) == 40 &&
		      offsetof(struct tas_reg_msg, pid) == 48,
	      "tas_reg_msg layout");

#endif /* TAS_SHM_ABI_H */
