/*
 * State of one tas process shared between the slow path and the fast-path
 * cores, and the messages they exchange.
 *
 * Ownership rules (no locks anywhere):
 * - The slow path alone writes the flow table, group_to_core, the per-core
 *   context lists and the flow slots of flows that are not installed.
 * - A fast-path core alone writes the flow_state of the installed flows it
 *   owns (except the fields marked "sp" in flow_state.h).  The slow path
 *   changes anything else about an installed flow by sending the owning
 *   core an fp_command.
 * - Memory that fast-path cores may still be reading (removed flows,
 *   replaced context lists, unregistered application regions) is reused
 *   only after every core has passed a quiescent point (fp_core.quiescent).
 */
#ifndef TAS_SERVICE_H
#define TAS_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "app_ring.h"
#include "flow_state.h"
#include "tas/shm_abi.h"

#define FLOW_GROUPS 512u
#define MAX_APPS 64u
#define FP_BURST 32u
/* Events one burst can produce for a context: RX_DATA, TX_ACKED and
 * PEER_FIN for each segment's flow. */
#define FP_CONTEXT_EVENTS (3u * FP_BURST)

struct flow_table;
struct rte_mempool;
struct rte_ring;

struct service_config {
	uint32_t local_ip;        /* network byte order */
	uint8_t prefix_len;
	uint32_t gateway_ip;      /* network byte order, 0: none */
	unsigned fp_cores;        /* fast-path cores to run */
	uint32_t rx_buf_size;     /* per flow, power of two */
	uint32_t tx_buf_size;     /* per flow, power of two */
	uint64_t app_region_size; /* per application */
	uint32_t max_flows;
	uint16_t mtu;
	const char *socket_path;
	/* Users allowed to register applications (root always is);
	 * allowed_uid_count == 0: every user. */
	uint32_t allowed_uids[8];
	unsigned allowed_uid_count;
	/* Kernel interface under the port (--iface), or NULL: sleeping
	 * fast-path cores watch it for arriving frames. */
	const char *wake_iface;
	bool quiet;
	/* Congestion control (slowpath/tcp_cc.h): the algorithm every
	 * connection starts with, the rate of const-rate, ECN use. */
	uint8_t cc_algorithm;     /* enum tcp_cc_algorithm */
	uint8_t ecn;              /* SERVICE_ECN_* */
	uint64_t cc_const_rate;   /* bytes/s */
};

/* service_config.ecn (RFC 3168 section 6.1.1) */
#define SERVICE_ECN_OFF 0u
#define SERVICE_ECN_ACCEPT 1u     /* answer ECN-setup SYNs (Linux's default) */
#define SERVICE_ECN_ON 2u         /* also send them */

/* A context as a fast-path core sees it. */
struct fp_context {
	struct shm_ring cmd;    /* app -> this core */
	struct shm_ring event;  /* this core -> app */
	struct tas_shm_context *shm;
	int doorbell_fd;        /* the context's eventfd */
	uint16_t app_id;
	uint16_t ctx_id;
	uint32_t pending_notify;/* events enqueued since the last kick */
	uint32_t cmd_errors;    /* invalid commands from the app */
	/* Fast path only (zero at creation): events not yet on the event
	 * ring, oldest first.  While any wait, the core gives the context no
	 * new work (doc/internals.md "Fast path"). */
	uint32_t event_count;
	struct tas_app_event events[FP_CONTEXT_EVENTS];
};

/* Published by the slow path with a release store; replaced, never edited. */
struct fp_context_list {
	uint32_t count;
	struct fp_context *ctx[];
};

/* slow path -> fast-path core commands (32 bytes, rte_ring elements). */
enum fp_command_type {
	FP_CMD_FLOW_FIN = 1,      /* send FIN after the committed data */
	FP_CMD_FLOW_RETRANSMIT,   /* RTO: resend what is not SACKed from
				   * SND.UNA; value 1: forget the SACKs */
	FP_CMD_FLOW_REMOVE,       /* mark dead, stop all processing, ack */
	FP_CMD_FLOW_TX_KICK,      /* re-examine the flow for transmission */
	/* Hand the flow to application context ctx_id: set flows[].ctx_id,
	 * emit value (TAS_EVT_ACCEPTED or TAS_EVT_CONNECTED) with cookie and
	 * the flow description, its event value = bytes already received,
	 * then TAS_EVT_PEER_FIN if a FIN was already consumed; set
	 * FLOW_F_ANNOUNCED.  Being on the core's own ring, the announcement
	 * precedes every data event of the flow. */
	FP_CMD_FLOW_ANNOUNCE,
	/* Move the announced flow to application context ctx_id of the
	 * same application (TAS_CMD_ADOPT): first the commands its context
	 * has queued, then TAS_EVT_LEFT to that context, flows[].ctx_id =
	 * ctx_id, and TAS_EVT_ADOPTED (cookie, the buffers and where they
	 * stand) to the new one, so each context's events of the flow stay
	 * in order on this core's rings. */
	FP_CMD_FLOW_ADOPT,
	FP_CMD_FLOW_SET_NODELAY,  /* value 1: no Nagle, 0: Nagle */
	FP_CMD_FLOW_KEEPALIVE,    /* send a keepalive probe if idle */
	FP_CMD_FLOW_PROBE,        /* loss probe: no ACK for a while */
};

struct fp_command {
	uint32_t type;
	uint32_t flow_id;
	uint32_t value;
	uint16_t ctx_id;
	uint16_t reserved;
	uint64_t cookie;
	uint64_t reserved2;
};
static_assert(sizeof(struct fp_command) == 32, "fp_command ring element");

/* fast-path core -> slow path notifications (16 bytes). */
enum sp_notify_type {
	SP_NOTIFY_RX_FIN = 1,     /* in-order FIN consumed; value = RCV.NXT */
	SP_NOTIFY_TX_FIN_ACKED,   /* our FIN acknowledged */
	SP_NOTIFY_FLOW_REMOVED,   /* FP_CMD_FLOW_REMOVE done */
	SP_NOTIFY_APP_ERROR,      /* app_id in value: invalid command seen */
};

struct sp_notify {
	uint32_t type;
	uint32_t flow_id;
	uint32_t value;
	uint32_t core;
};

/* Why a received packet was handed to the slow path (mbuf->hash.usr). */
enum sp_exception_reason {
	SP_EXC_NOT_TCP = 1,       /* ARP, ICMP, ... */
	SP_EXC_NO_FLOW,           /* TCP without installed flow */
	SP_EXC_FLAGS,             /* SYN or RST on an installed flow */
	SP_EXC_OPTIONS,           /* options the fast path does not handle */
	SP_EXC_FIN_OUT_OF_ORDER,  /* FIN the fast path could not consume */
};

struct fp_core {
	unsigned index;           /* 0 .. fp_cores-1 */
	unsigned lcore_id;
	uint16_t rx_queue;
	uint16_t tx_queue;
	struct service *service;

	/* rings, created by the service at start-up */
	struct rte_ring *exception_ring;  /* mbufs to the slow path */
	struct rte_ring *notify_ring;     /* struct sp_notify to slow path */
	struct rte_ring *command_ring;    /* struct fp_command from sp */
	struct rte_ring *sp_tx_ring;      /* mbufs from sp to send */
	struct rte_ring *redirect_ring;   /* mbufs from other cores/loopback */

	struct fp_context_list *contexts; /* published by sp */
	int doorbell_fd;                  /* eventfd that wakes this core */

	/* Quiescent-state counter: incremented once per loop iteration;
	 * bit 0 set while the core is blocked (offline). */
	uint64_t quiescent;
	uint32_t sleeping;                /* core is (about to be) blocked */

	/* statistics, read by the slow path and tasctl */
	uint64_t rx_packets, tx_packets, rx_bad, rx_to_slowpath;
	uint64_t tx_dropped, app_cmd_errors, wakeups;
	uint64_t rx_dropped;  /* valid segments dropped: a ring was full or
			       * the application did not take its events */
};

struct service {
	struct service_config cfg;
	uint16_t port_id;
	struct rte_ether_addr local_mac;
	bool rx_csum_offload;             /* port verifies IPv4/TCP checksums */
	bool tx_csum_offload;             /* port fills IPv4/TCP checksums */
	bool rx_interrupts;               /* rx queues can wake sleeping cores */
	struct rte_mempool *pktmbuf_pool;
	struct flow_state *flows;         /* cfg.max_flows; index = flow id */
	struct flow_recovery *flow_recovery; /* the same index */
	struct flow_table *flow_table;
	uint16_t group_to_core[FLOW_GROUPS];
	struct fp_core cores[TAS_MAX_FP_CORES];
	int sp_doorbell_fd;               /* eventfd that wakes the slow path */
	uint32_t sp_sleeping;
	volatile int stopping;
};

#endif /* TAS_SERVICE_H */
