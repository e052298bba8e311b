/*
 * Between a fast-path core and the slow path: the slow path's commands
 * (doc/internals.md "Flows") and the frames it sends through the core;
 * in the other direction exceptions (frames the fast path does not
 * handle) and notifications.
 */
#include "fp_internal.h"

#include "circ_buf.h"

#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

void fp_to_slowpath(struct fp_worker *w, struct rte_mbuf *m,
		    enum sp_exception_reason reason)
{
	struct fp_core *core = w->core;

	m->hash.usr = reason;
	if (rte_ring_sp_enqueue(core->exception_ring, m) != 0) {
		/* The slow path is behind; TCP will resend. */
		core->rx_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	core->rx_to_slowpath++;
	w->wake_slowpath = true;
}

void fp_notify_slowpath(struct fp_worker *w, enum sp_notify_type type,
			uint32_t flow_id, uint32_t value)
{
	struct sp_notify note = {
		.type = type,
		.flow_id = flow_id,
		.value = value,
		.core = w->core->index,
	};

	/* Sized for three per flow (fp_core.c): only a slow path stalled
	 * for a long time gets here. */
	if (rte_ring_sp_enqueue_elem(w->core->notify_ring, &note,
				     sizeof(note)) != 0)
		RTE_LOG(ERR, USER1, "fast path %u: notification %u of flow %u "
			"lost: slow path stalled\n", w->core->index, type,
			flow_id);
	w->wake_slowpath = true;
}

/* ---- commands that need the flow's application context ----
 *
 * FP_CMD_FLOW_ANNOUNCE and FP_CMD_FLOW_ADOPT emit events, so their
 * contexts must take them.  FP_CMD_FLOW_FIN must come after the data the
 * application committed before it asked to shut down: that commit went
 * straight to this core, the shutdown through the slow path, so the
 * context's commands are run before the FIN is queued.  An adoption runs
 * the old context's commands first for the same reason: what it committed
 * or released before the move is part of what the adopter is told.  A
 * command whose context cannot take events waits (in order per flow and
 * context) while other commands go on; FP_CMD_FLOW_REMOVE waits behind
 * those of its flow, so that an accept or adoption is still answered when
 * the flow ends meanwhile. */

static bool is_announcement(uint32_t event_type)
{
	return event_type == TAS_EVT_ACCEPTED || event_type == TAS_EVT_CONNECTED;
}

static bool names_new_context(const struct fp_command *cmd)
{
	return cmd->type == FP_CMD_FLOW_ANNOUNCE || cmd->type == FP_CMD_FLOW_ADOPT;
}

static uint16_t context_id_of(const struct flow_state *flow,
			      const struct fp_command *cmd)
{
	return names_new_context(cmd) ? cmd->ctx_id : flow->ctx_id;
}

static void announce(struct fp_worker *w, struct fp_context *ctx,
		     struct flow_state *flow, const struct fp_command *cmd)
{
	struct tas_app_event ev = {
		.type = (uint16_t)cmd->value,
		.fp_core = (uint16_t)w->core->index,
		.flow_id = cmd->flow_id,
		.flow_gen = flow->flow_gen,
		.cookie = cmd->cookie,
		/* Received before the application knew the flow. */
		.value = flow->rx_buf_size - flow->rx_avail,
		.rx_buf_size = flow->rx_buf_size,
		.rx_buf_offset = flow->rx_buf_offset,
		.tx_buf_offset = flow->tx_buf_offset,
		.tx_buf_size = flow->tx_buf_size,
		.local_ip = flow->local_ip,
		.remote_ip = flow->remote_ip,
		.local_port = flow->local_port,
		.remote_port = flow->remote_port,
	};

	flow->ctx_id = cmd->ctx_id;
	flow->flags |= FLOW_F_ANNOUNCED;
	fp_event_emit(w, ctx, &ev);
	if (flow->flags & FLOW_F_RX_FIN)
		fp_flow_event(w, ctx, flow, TAS_EVT_PEER_FIN, 0);
}

/* False if the command must wait for its context. */
static bool announce_or_wait(struct fp_worker *w, struct flow_state *flow,
			     const struct fp_command *cmd)
{
	struct fp_context *ctx = fp_context_of(w, flow->app_id, cmd->ctx_id);

	/* Context gone (the slow path resets its flows), or nonsense:
	 * nothing to tell anybody. */
	if (ctx == NULL || !is_announcement(cmd->value) ||
	    (flow->flags & FLOW_F_ANNOUNCED))
		return true;
	if (!fp_context_ready(w, ctx))
		return false;
	announce(w, ctx, flow, cmd);
	return true;
}

/* Bytes the application committed that the peer has not acknowledged;
 * our FIN, once sent, is the last sequence number in flight. */
static uint32_t tx_unacked(const struct flow_state *flow)
{
	uint32_t fin = (flow->flags & FLOW_F_TX_FIN_SENT) && flow->tx_sent > 0;

	return flow->tx_avail + flow->tx_sent - fin;
}

/* The adopter learns where the buffers stand from the core, not from
 * its copy of the old owner's state: events the old context had not
 * read yet, and commands it sent after the fork, are in this already. */
static void adopted(struct fp_worker *w, struct fp_context *ctx,
		    const struct flow_state *flow, const struct fp_command *cmd)
{
	uint32_t unreleased = flow->rx_buf_size - flow->rx_avail;
	struct tas_app_event ev = {
		.type = TAS_EVT_ADOPTED,
		.fp_core = (uint16_t)w->core->index,
		.flow_id = cmd->flow_id,
		.flow_gen = flow->flow_gen,
		.cookie = cmd->cookie,
		.value = unreleased,
		.flags = ((flow->flags & FLOW_F_RX_FIN) ? TAS_EVF_RX_FIN : 0) |
			 ((flow->flags & FLOW_F_TX_FIN_REQ) ? TAS_EVF_TX_FIN : 0),
		.rx_buf_size = flow->rx_buf_size,
		.rx_buf_offset = flow->rx_buf_offset,
		.tx_buf_offset = flow->tx_buf_offset,
		.tx_buf_size = flow->tx_buf_size,
		.rx_pos = (flow->rx_head - unreleased) & (flow->rx_buf_size - 1),
		.tx_head = circ_advance(flow->tx_pos, flow->tx_avail,
					flow->tx_buf_size),
		.tx_unacked = tx_unacked(flow),
	};

	fp_event_emit(w, ctx, &ev);
}

/* False if the command must wait for the old or the new context.  A
 * context that is gone gets nothing: the old one's member died (the
 * flow lives on for its copies), or the new one's (the slow path resets
 * the flow, which is the new context's now). */
static bool adopt_or_wait(struct fp_worker *w, struct flow_state *flow,
			  const struct fp_command *cmd)
{
	struct fp_context *from = fp_context_of(w, flow->app_id, flow->ctx_id);
	struct fp_context *to = fp_context_of(w, flow->app_id, cmd->ctx_id);

	/* The slow path adopts announced flows to another context only. */
	if (!(flow->flags & FLOW_F_ANNOUNCED) || flow->ctx_id == cmd->ctx_id)
		return true;
	/* Draining leaves at most one burst of error events waiting in
	 * from's backlog: room for LEFT. */
	if (from != NULL && !fp_app_drain(w, from))
		return false;
	if (to != NULL && !fp_context_ready(w, to))
		return false;
	if (from != NULL)
		fp_flow_event(w, from, flow, TAS_EVT_LEFT, 0);
	flow->ctx_id = cmd->ctx_id;
	if (to != NULL)
		adopted(w, to, flow, cmd);
	return true;
}

static bool fin_or_wait(struct fp_worker *w, struct flow_state *flow)
{
	struct fp_context *ctx = fp_context_of(w, flow->app_id, flow->ctx_id);

	if ((flow->flags & FLOW_F_ANNOUNCED) && ctx != NULL &&
	    !fp_app_drain(w, ctx))
		return false;
	flow->flags |= FLOW_F_TX_FIN_REQ;
	fp_txq_push(w, flow);
	return true;
}

static void remove_flow(struct fp_worker *w, struct flow_state *flow,
			uint32_t flow_id)
{
	fp_txq_remove(w, flow);
	flow->flags |= FLOW_F_DEAD;
	fp_notify_slowpath(w, SP_NOTIFY_FLOW_REMOVED, flow_id, 0);
}

static bool run_or_wait(struct fp_worker *w, struct flow_state *flow,
			const struct fp_command *cmd)
{
	/* Behind its removal: stale. */
	if ((flow->flags & FLOW_F_DEAD) && cmd->type != FP_CMD_FLOW_REMOVE)
		return true;
	switch ((enum fp_command_type)cmd->type) {
	case FP_CMD_FLOW_ANNOUNCE:
		return announce_or_wait(w, flow, cmd);
	case FP_CMD_FLOW_ADOPT:
		return adopt_or_wait(w, flow, cmd);
	case FP_CMD_FLOW_FIN:
		return fin_or_wait(w, flow);
	case FP_CMD_FLOW_REMOVE:
		remove_flow(w, flow, cmd->flow_id);
		return true;
	default:
		return true;
	}
}

/* One of the first count waiting commands is for the same flow as cmd,
 * or (unless cmd is a removal, which needs no context) for the same
 * context. */
static bool must_queue_behind(const struct fp_worker *w, unsigned count,
			      const struct flow_state *flow,
			      const struct fp_command *cmd)
{
	bool by_context = cmd->type != FP_CMD_FLOW_REMOVE;
	uint16_t ctx_id = context_id_of(flow, cmd);

	for (unsigned i = 0; i < count; i++) {
		const struct fp_command *waiting = &w->waiting[i];
		const struct flow_state *other = &w->svc->flows[waiting->flow_id];

		if (waiting->flow_id == cmd->flow_id ||
		    (by_context && other->app_id == flow->app_id &&
		     context_id_of(other, waiting) == ctx_id))
			return true;
	}
	return false;
}

/* False if the command could not even wait: the list is full. */
static bool run_with_context(struct fp_worker *w, struct flow_state *flow,
			     const struct fp_command *cmd)
{
	if (!must_queue_behind(w, w->waiting_count, flow, cmd) &&
	    run_or_wait(w, flow, cmd))
		return true;
	if (w->waiting_count == FP_WAITING_COMMANDS)
		return false;
	w->waiting[w->waiting_count++] = *cmd;
	return true;
}

static void retry_waiting(struct fp_worker *w)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < w->waiting_count; i++) {
		const struct fp_command *cmd = &w->waiting[i];
		struct flow_state *flow = &w->svc->flows[cmd->flow_id];

		if (must_queue_behind(w, kept, flow, cmd) ||
		    !run_or_wait(w, flow, cmd))
			w->waiting[kept++] = *cmd;
	}
	w->waiting_count = kept;
}

/* ---- commands ---- */

/* False if the command must be run again later. */
static bool run_command(struct fp_worker *w, const struct fp_command *cmd)
{
	if (cmd->flow_id >= w->svc->cfg.max_flows)
		return true;
	struct flow_state *flow = &w->svc->flows[cmd->flow_id];

	if ((flow->flags & FLOW_F_DEAD) && cmd->type != FP_CMD_FLOW_REMOVE)
		return true;
	switch ((enum fp_command_type)cmd->type) {
	case FP_CMD_FLOW_FIN:
	case FP_CMD_FLOW_ANNOUNCE:
	case FP_CMD_FLOW_ADOPT:
	case FP_CMD_FLOW_REMOVE:
		return run_with_context(w, flow, cmd);
	case FP_CMD_FLOW_RETRANSMIT:
		fp_recovery_timeout(w, flow, cmd->value != 0);
		fp_txq_push(w, flow);
		break;
	case FP_CMD_FLOW_TX_KICK:
		fp_tx_window_probe(w, flow);
		fp_txq_push(w, flow);
		break;
	case FP_CMD_FLOW_SET_NODELAY:
		if (cmd->value)
			flow->flags |= FLOW_F_NODELAY;
		else
			flow->flags &= (uint16_t)~FLOW_F_NODELAY;
		fp_txq_push(w, flow);
		break;
	case FP_CMD_FLOW_KEEPALIVE:
		fp_tx_keepalive(w, flow);
		break;
	case FP_CMD_FLOW_PROBE:
		fp_recovery_probe(w, flow);
		fp_txq_push(w, flow);
		break;
	}
	return true;
}

static unsigned run_commands(struct fp_worker *w)
{
	unsigned ran = 0;

	if (w->sp_command_next == w->sp_command_count) {
		w->sp_command_count = rte_ring_sc_dequeue_burst_elem(
			w->core->command_ring, w->sp_commands,
			sizeof(w->sp_commands[0]), FP_SP_CMD_BURST, NULL);
		w->sp_command_next = 0;
		/* A context the slow path published before it sent these
		 * (an accept or adoption from a context just created) may be
		 * newer than the list this iteration started with; contexts
		 * of that list stay valid until our quiescent point. */
		if (w->sp_command_count > 0)
			fp_contexts_refresh(w);
	}
	while (w->sp_command_next < w->sp_command_count &&
	       run_command(w, &w->sp_commands[w->sp_command_next])) {
		w->sp_command_next++;
		ran++;
	}
	return ran;
}

static unsigned send_packets(struct fp_worker *w)
{
	struct rte_mbuf *frames[FP_BURST];
	unsigned count = rte_ring_sc_dequeue_burst(w->core->sp_tx_ring,
						   (void **)frames, FP_BURST,
						   NULL);

	for (unsigned i = 0; i < count; i++)
		fp_tx_frame(w, frames[i]);
	return count;
}

unsigned fp_slowpath_poll(struct fp_worker *w)
{
	unsigned work;

	retry_waiting(w);
	work = run_commands(w) + send_packets(w);
	fp_events_flush(w);
	return work;
}
