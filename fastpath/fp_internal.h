/*
 * What the files of the fast path share: the state one lcore keeps while
 * it runs fp_core_main() (struct fp_worker, on that lcore's stack, seen by
 * no other thread) and the functions each file offers the others.
 *
 *   fp_core.c      start-up, the loop, waking other cores and the slow path
 *   fp_sleep.c     idle back-off: poll, then block on the doorbell
 *   fp_rx.c        received segments of installed flows (TCP input)
 *   fp_tx.c        segments we build, the queue manager, the tx batch
 *   fp_app.c       application contexts: commands in, events out
 *   fp_slowpath.c  commands, packets, exceptions, notifications to/from sp
 *
 * Pointers into the service's shared state (the context list, contexts,
 * application regions) are valid only until the core's next quiescent
 * point (service.h): the end of the loop iteration, or blocking.
 */
#ifndef TAS_FP_INTERNAL_H
#define TAS_FP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "fastpath.h"
#include "flow_recovery.h"
#include "flow_state.h"
#include "flow_table.h"
#include "tcp_options.h"

struct rte_mbuf;

#define FP_TX_BATCH 64u            /* frames per rte_eth_tx_burst */
#define FP_APP_CMD_BURST FP_BURST  /* commands read from a context per turn */
#define FP_SP_CMD_BURST FP_BURST   /* slow-path commands per iteration */
#define FP_TX_BUDGET (2u * FP_BURST) /* data segments per iteration */
#define FP_TX_SEGMENTS_PER_TURN 4u /* then the next flow in the FIFO */
#define FP_WAITING_COMMANDS 64u    /* slow-path commands waiting for a context */
#define FP_CONTEXTS_TO_FLUSH FP_BURST
#define FP_PACED_MAX 256u          /* flows waiting for their pacing clock */

/* What one burst did to one flow, turned into events and at most one ACK
 * when the burst is done. */
struct fp_flow_work {
	struct flow_state *flow;
	struct fp_context *ctx;   /* NULL: flow not announced, no events */
	uint32_t rx_bytes;        /* TAS_EVT_RX_DATA */
	uint32_t acked_bytes;     /* TAS_EVT_TX_ACKED */
	uint32_t rx_avail_before; /* for window updates after RX_RELEASE */
	bool peer_fin;            /* TAS_EVT_PEER_FIN, after the data */
	bool send_ack;
};

/* The flows one burst touched; a burst has at most FP_BURST segments or
 * commands, so at most FP_BURST flows. */
struct fp_burst_flows {
	unsigned count;
	struct fp_flow_work work[FP_BURST];
};

struct fp_sleep {
	int epoll_fd;
	int rx_intr_fd;           /* -1: no rx interrupts */
	int wake_fd;              /* packet socket on cfg.wake_iface, or -1 */
	bool armed;               /* sleeping flags set, inputs being re-checked */
	uint64_t idle_since_us;
	uint32_t timeout_us;      /* of the next block without rx interrupts */
};

struct fp_worker {
	struct fp_core *core;
	struct service *svc;
	uint64_t now_us;          /* read once per loop iteration */

	/* Application contexts of this iteration and an index by (app_id,
	 * ctx_id), checked against the published list every iteration. */
	struct fp_context_list *contexts;
	unsigned indexed_contexts;
	struct fp_context *context_index[MAX_APPS][TAS_MAX_CONTEXTS];
	/* Contexts with events to deliver or a doorbell to ring (repeats
	 * are harmless). */
	unsigned contexts_to_flush;
	struct fp_context *flush[FP_CONTEXTS_TO_FLUSH];

	/* Slow-path commands read but not yet run, and those waiting for an
	 * application context to take events (fp_slowpath.c). */
	unsigned sp_command_count, sp_command_next;
	struct fp_command sp_commands[FP_SP_CMD_BURST];
	unsigned waiting_count;
	struct fp_command waiting[FP_WAITING_COMMANDS];

	/* Queue manager: FIFO of flows with something to send, linked
	 * through flow_state.tx_queue_next. */
	uint32_t txq_head, txq_tail;
	/* Paced flows waiting for their clock (fp_pacing.c), and when the
	 * first is due (fp_now_us clock; UINT64_MAX: none). */
	unsigned paced_count;
	uint32_t paced[FP_PACED_MAX];
	uint64_t paced_due_us;

	/* Frames for rte_eth_tx_burst at the end of the iteration. */
	unsigned tx_count;
	struct rte_mbuf *tx_batch[FP_TX_BATCH];
	uint16_t ip_id;

	/* Whom to wake at the end of the iteration. */
	uint32_t cores_to_wake;   /* bit i: core i got redirected frames */
	bool wake_slowpath;

	struct fp_sleep sleep;
};

/* ---- fp_core.c ---- */
/* Hand a frame to the core owning its flow (may be this one). */
void fp_redirect(struct fp_worker *w, struct fp_core *owner, struct rte_mbuf *m);
/* Write to an eventfd; errors mean its owner is going away. */
void fp_doorbell(int fd);

/* ---- fp_sleep.c ---- */
int fp_sleep_init(struct fp_worker *w);
void fp_sleep_fini(struct fp_worker *w);
/* After an iteration that found work / found none. */
void fp_sleep_busy(struct fp_worker *w);
void fp_sleep_idle(struct fp_worker *w);

/* ---- fp_rx.c ---- */
/* Receive a burst from the port and one from the redirect ring; returns
 * the frames handled. */
unsigned fp_rx_poll(struct fp_worker *w);

/* ---- fp_tx.c ---- */
void fp_tx_frame(struct fp_worker *w, struct rte_mbuf *m);
void fp_tx_ack(struct fp_worker *w, struct flow_state *flow);
void fp_tx_keepalive(struct fp_worker *w, struct flow_state *flow);
void fp_tx_window_probe(struct fp_worker *w, struct flow_state *flow);
/* Send [seq, seq + len) again (a FIN at its end included); false if no
 * mbuf. */
bool fp_tx_retransmit(struct fp_worker *w, struct flow_state *flow,
		      uint32_t seq, uint32_t len);
/* Whether / send the next new segment within cwnd_room and the peer's
 * window. */
bool fp_tx_may_send_new(const struct flow_state *flow, uint32_t cwnd_room);
bool fp_tx_send_new(struct fp_worker *w, struct flow_state *flow,
		    uint32_t cwnd_room);
void fp_txq_push(struct fp_worker *w, struct flow_state *flow);
void fp_txq_remove(struct fp_worker *w, struct flow_state *flow);
/* Send from the flows in the queue manager; returns segments sent. */
unsigned fp_tx_flows(struct fp_worker *w);
void fp_tx_flush(struct fp_worker *w);

/* ---- fp_app.c ---- */
void fp_contexts_refresh(struct fp_worker *w);
struct fp_context *fp_context_of(const struct fp_worker *w, uint16_t app_id,
				 uint16_t ctx_id);
void fp_contexts_set_sleeping(struct fp_worker *w, uint32_t sleeping);
/* True if ctx has no undelivered events (after trying to deliver them):
 * only then may the core give it new work. */
bool fp_context_ready(struct fp_worker *w, struct fp_context *ctx);
void fp_event_emit(struct fp_worker *w, struct fp_context *ctx,
		   const struct tas_app_event *ev);
void fp_flow_event(struct fp_worker *w, struct fp_context *ctx,
		   const struct flow_state *flow, uint16_t type, uint32_t value);
/* Deliver the events of the contexts touched since the last flush and
 * ring the doorbells of those that sleep. */
void fp_events_flush(struct fp_worker *w);
/* Read and run application commands; returns how many. */
unsigned fp_app_poll(struct fp_worker *w);
/* Run every command ctx has queued; false if it is not taking events,
 * so that some had to stay unread. */
bool fp_app_drain(struct fp_worker *w, struct fp_context *ctx);

/* ---- fp_recovery.c ---- */
/* Receiver: old data [start, end) arrived again (D-SACK). */
void fp_rx_duplicate(struct fp_worker *w, struct flow_state *flow,
		     uint32_t start, uint32_t end);
/* Receiver: remember [seq, seq + len) beyond RCV.NXT; false if there is
 * no room (the data must then be dropped). */
bool fp_rx_out_of_order(struct fp_worker *w, struct flow_state *flow,
			uint32_t seq, uint32_t len);
/* Receiver: RCV.NXT moved; bytes of held data it now joins. */
uint32_t fp_rx_reassemble(struct fp_worker *w, struct flow_state *flow);
/* Receiver: the SACK blocks for the next ACK (at most max). */
unsigned fp_rx_sack_blocks(struct fp_worker *w, struct flow_state *flow,
			   struct tcp_sack_block *blocks, unsigned max);
/* Sender: SACK blocks of an ACK, after SND.UNA was updated. */
void fp_sack_received(struct fp_worker *w, struct flow_state *flow,
		      const struct tcp_sack_block *blocks, unsigned count);
/* Sender: enter, go on with or leave recovery after an ACK. */
void fp_recovery_after_ack(struct fp_worker *w, struct flow_state *flow,
			   bool advanced);
/* Sender: the retransmission timer expired (FP_CMD_FLOW_RETRANSMIT). */
void fp_recovery_timeout(struct fp_worker *w, struct flow_state *flow,
			 bool forget_sacks);
/* Sender: the slow path's probe timer expired (FP_CMD_FLOW_PROBE,
 * RFC 8985 tail loss probe; in recovery: a lost retransmission). */
void fp_recovery_probe(struct fp_worker *w, struct flow_state *flow);
bool fp_recovery_may_send(struct fp_worker *w, const struct flow_state *flow);
unsigned fp_recovery_send(struct fp_worker *w, struct flow_state *flow,
			  unsigned limit);

/* ---- fp_pacing.c ---- */
/* Whether a rate-controlled flow's clock lets it send now. */
bool fp_pacing_allows(const struct fp_worker *w, const struct flow_state *flow);
/* It sent a frame of frame_bytes: move its clock on. */
void fp_pacing_sent(struct fp_worker *w, struct flow_state *flow,
		    uint32_t frame_bytes);
/* Park a flow its clock holds back; false if the list is full. */
bool fp_pacing_defer(struct fp_worker *w, struct flow_state *flow);
/* The flow is removed: take it off the list. */
void fp_pacing_forget(struct fp_worker *w, struct flow_state *flow);
/* Queue the flows that are due; returns when the next one is due
 * (fp_now_us clock, UINT64_MAX: none waits). */
uint64_t fp_pacing_release(struct fp_worker *w);

/* ---- fp_slowpath.c ---- */
unsigned fp_slowpath_poll(struct fp_worker *w);
void fp_to_slowpath(struct fp_worker *w, struct rte_mbuf *m,
		    enum sp_exception_reason reason);
void fp_notify_slowpath(struct fp_worker *w, enum sp_notify_type type,
			uint32_t flow_id, uint32_t value);

/* ---- small helpers on flows ---- */

static inline uint32_t fp_flow_id(const struct fp_worker *w,
				  const struct flow_state *flow)
{
	return (uint32_t)(flow - w->svc->flows);
}

static inline struct flow_key fp_flow_key(const struct flow_state *flow)
{
	return (struct flow_key){
		.local_ip = flow->local_ip,
		.remote_ip = flow->remote_ip,
		.local_port = flow->local_port,
		.remote_port = flow->remote_port,
	};
}

/* SND.UNA */
static inline uint32_t fp_snd_una(const struct flow_state *flow)
{
	return flow->tx_next_seq - flow->tx_sent;
}

static inline bool fp_fin_unsent(const struct flow_state *flow)
{
	return (flow->flags & (FLOW_F_TX_FIN_REQ | FLOW_F_TX_FIN_SENT)) ==
	       FLOW_F_TX_FIN_REQ;
}

static inline bool fp_has_unsent(const struct flow_state *flow)
{
	return flow->tx_avail > 0 || fp_fin_unsent(flow);
}

/* The flow's loss-recovery state (flow_recovery.h). */
static inline struct flow_recovery *fp_recovery_of(const struct fp_worker *w,
						   const struct flow_state *flow)
{
	return &w->svc->flow_recovery[fp_flow_id(w, flow)];
}

/* Whether the next ACK carries SACK blocks. */
static inline bool fp_rx_has_sack_info(const struct flow_state *flow)
{
	return (flow->flags & FLOW_F_SACK) &&
	       (flow->rx_ooo_count > 0 || (flow->flags & FLOW_F_DSACK));
}

/* The window field of our segments (RFC 7323 section 2.3). */
static inline uint16_t fp_window_field(const struct flow_state *flow,
				       uint32_t rx_avail)
{
	uint32_t window = rx_avail >> flow->rcv_wscale;

	return window > UINT16_MAX ? UINT16_MAX : (uint16_t)window;
}

/* Counters the slow path reads ("cc" in flow_state.h); one writer. */
static inline void fp_counter_add(uint32_t *counter, uint32_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static inline struct fp_flow_work *fp_burst_find(struct fp_burst_flows *burst,
						 const struct flow_state *flow)
{
	for (unsigned i = burst->count; i-- > 0;)
		if (burst->work[i].flow == flow)
			return &burst->work[i];
	return NULL;
}

static inline struct fp_flow_work *fp_burst_add(struct fp_burst_flows *burst,
						struct flow_state *flow)
{
	struct fp_flow_work *work = &burst->work[burst->count++];

	*work = (struct fp_flow_work){ .flow = flow };
	return work;
}

#endif /* TAS_FP_INTERNAL_H */
