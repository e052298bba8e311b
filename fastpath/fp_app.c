/*
 * Application contexts as a fast-path core serves them: the commands
 * applications send (TX_COMMIT, RX_RELEASE) and the events the core sends
 * back (RX_DATA, TX_ACKED, PEER_FIN, ACCEPTED/CONNECTED, ERROR).
 *
 * Everything read from an application's region is checked before use
 * (doc/internals.md "Command validation").  Events are collected per
 * context and delivered in batches; a context whose event ring is full
 * keeps the rest in fp_context.events and gets no new work from this core
 * (its commands stay unread, segments of its flows are dropped unseen and
 * later resent by the peer) until they are delivered, so no event is ever
 * lost and the backlog stays bounded by what one burst can produce.
 */
#include "fp_internal.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* ---- the context index ---- */

static bool is_indexable(const struct fp_context *ctx)
{
	return ctx->app_id < MAX_APPS && ctx->ctx_id < TAS_MAX_CONTEXTS;
}

static struct fp_context **index_slot(struct fp_worker *w,
				      const struct fp_context *ctx)
{
	return &w->context_index[ctx->app_id][ctx->ctx_id];
}

/* Comparing list pointers is not enough: a freed list's address can come
 * back for its successor. */
static bool index_is_current(struct fp_worker *w,
			     const struct fp_context_list *list)
{
	unsigned indexed = 0;

	for (unsigned i = 0; list != NULL && i < list->count; i++) {
		const struct fp_context *ctx = list->ctx[i];

		if (!is_indexable(ctx))
			continue;
		if (*index_slot(w, ctx) != ctx)
			return false;
		indexed++;
	}
	return indexed == w->indexed_contexts;
}

static void rebuild_index(struct fp_worker *w, struct fp_context_list *list)
{
	memset(w->context_index, 0, sizeof(w->context_index));
	w->indexed_contexts = 0;
	for (unsigned i = 0; list != NULL && i < list->count; i++) {
		struct fp_context *ctx = list->ctx[i];

		if (is_indexable(ctx)) {
			*index_slot(w, ctx) = ctx;
			w->indexed_contexts++;
		}
	}
}

void fp_contexts_refresh(struct fp_worker *w)
{
	struct fp_context_list *list =
		__atomic_load_n(&w->core->contexts, __ATOMIC_ACQUIRE);

	w->contexts = list;
	if (index_is_current(w, list))
		return;
	rebuild_index(w, list);
	/* A context published while we re-check before sleeping. */
	if (w->sleep.armed)
		fp_contexts_set_sleeping(w, 1);
}

struct fp_context *fp_context_of(const struct fp_worker *w, uint16_t app_id,
				 uint16_t ctx_id)
{
	if (app_id >= MAX_APPS || ctx_id >= TAS_MAX_CONTEXTS)
		return NULL;
	return w->context_index[app_id][ctx_id];
}

void fp_contexts_set_sleeping(struct fp_worker *w, uint32_t sleeping)
{
	const struct fp_context_list *list = w->contexts;

	for (unsigned i = 0; list != NULL && i < list->count; i++)
		__atomic_store_n(&list->ctx[i]->shm->fp_sleeping[w->core->index],
				 sleeping, __ATOMIC_RELAXED);
}

/* ---- events ---- */

static void report_app_error(struct fp_worker *w, const struct fp_context *ctx,
			     uint32_t flow_id)
{
	const struct rte_ring *notify = w->core->notify_ring;

	/* Advisory: never take the room flow notifications need. */
	if (rte_ring_free_count(notify) > rte_ring_get_capacity(notify) / 2)
		fp_notify_slowpath(w, SP_NOTIFY_APP_ERROR, flow_id, ctx->app_id);
}

static void remember_for_flush(struct fp_worker *w, struct fp_context *ctx)
{
	if (w->contexts_to_flush == FP_CONTEXTS_TO_FLUSH)
		fp_events_flush(w);
	w->flush[w->contexts_to_flush++] = ctx;
}

/* Move as many waiting events as fit onto the event ring. */
static void deliver(struct fp_worker *w, struct fp_context *ctx)
{
	bool was_corrupt = ctx->event.corrupt;
	unsigned sent;

	if (ctx->event_count == 0)
		return;
	sent = shm_ring_enqueue_burst(&ctx->event, ctx->events, ctx->event_count);
	if (ctx->event.corrupt) {
		/* The application broke its own ring; nobody can read it. */
		ctx->event_count = 0;
		if (!was_corrupt)
			report_app_error(w, ctx, FLOW_INDEX_NONE);
		return;
	}
	ctx->event_count -= sent;
	memmove(ctx->events, ctx->events + sent,
		ctx->event_count * sizeof(ctx->events[0]));
	ctx->pending_notify += sent;
}

bool fp_context_ready(struct fp_worker *w, struct fp_context *ctx)
{
	if (ctx->event_count == 0)
		return true;
	remember_for_flush(w, ctx);
	deliver(w, ctx);
	return ctx->event_count == 0;
}

void fp_event_emit(struct fp_worker *w, struct fp_context *ctx,
		   const struct tas_app_event *ev)
{
	/* Work is given only to ready contexts, and a burst makes at most
	 * FP_CONTEXT_EVENTS events for one. */
	assert(ctx->event_count < FP_CONTEXT_EVENTS);
	if (ctx->event_count == 0)
		remember_for_flush(w, ctx);
	ctx->events[ctx->event_count++] = *ev;
}

void fp_flow_event(struct fp_worker *w, struct fp_context *ctx,
		   const struct flow_state *flow, uint16_t type, uint32_t value)
{
	struct tas_app_event ev = {
		.type = type,
		.fp_core = (uint16_t)w->core->index,
		.flow_id = fp_flow_id(w, flow),
		.flow_gen = flow->flow_gen,
		.value = value,
	};

	fp_event_emit(w, ctx, &ev);
}

static bool app_sleeps(const struct fp_context *ctx)
{
	return __atomic_load_n(&ctx->shm->app_sleeping, __ATOMIC_RELAXED) != 0;
}

void fp_events_flush(struct fp_worker *w)
{
	unsigned count = w->contexts_to_flush;

	if (count == 0)
		return;
	for (unsigned i = 0; i < count; i++)
		deliver(w, w->flush[i]);
	/* Our events before their flag: doc/internals.md "Sleeping". */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < count; i++) {
		struct fp_context *ctx = w->flush[i];

		if (ctx->pending_notify > 0 && app_sleeps(ctx))
			fp_doorbell(ctx->doorbell_fd);
		ctx->pending_notify = 0;
	}
	w->contexts_to_flush = 0;
}

/* ---- commands ---- */

/*
 * The flow a command is for, or NULL (doc/internals.md "Command
 * validation").  A flow is announced only while installed and becomes
 * dead before it is removed, so the flags tell that it is installed; the
 * generation tells that it is this flow.  A command can legitimately
 * arrive after its flow ended (the app released data while a RST or its
 * own close removed the flow, or the id was reused since): those are
 * stale and ignored, and so are those of a context the flow was adopted
 * away from.  Only a command naming a live flow of this context wrongly
 * is an application error.
 */
static struct flow_state *command_flow(struct fp_worker *w,
				       const struct fp_context *ctx,
				       const struct tas_app_cmd *cmd,
				       bool *stale)
{
	struct service *svc = w->svc;

	*stale = false;
	if (cmd->flow_id >= svc->cfg.max_flows)
		return NULL;
	struct flow_state *flow = &svc->flows[cmd->flow_id];
	uint16_t flags = __atomic_load_n(&flow->flags, __ATOMIC_RELAXED);

	if ((flags & (FLOW_F_ANNOUNCED | FLOW_F_DEAD)) != FLOW_F_ANNOUNCED ||
	    flow->flow_gen != cmd->flow_gen) {
		*stale = true;
		return NULL;
	}
	if (flow->app_id != ctx->app_id)
		return NULL;
	/* Adopted by another context of the application (TAS_CMD_ADOPT):
	 * what this one sent before it read TAS_EVT_LEFT is stale. */
	if (flow->ctx_id != ctx->ctx_id) {
		*stale = true;
		return NULL;
	}
	struct flow_key key = fp_flow_key(flow);
	if (fp_core_of_hash(svc, flow_key_hash(&key)) != w->core)
		return NULL;
	return flow;
}

static bool tx_commit(struct fp_worker *w, struct flow_state *flow,
		      uint32_t bytes)
{
	uint64_t used = (uint64_t)flow->tx_avail + flow->tx_sent + bytes;

	/* No data after the FIN the application asked for. */
	if ((flow->flags & FLOW_F_TX_FIN_REQ) || used > flow->tx_buf_size)
		return false;
	flow->tx_avail += bytes;
	fp_txq_push(w, flow);
	return true;
}

static bool rx_release(struct fp_burst_flows *released,
		       struct flow_state *flow, uint32_t bytes)
{
	if ((uint64_t)flow->rx_avail + bytes > flow->rx_buf_size)
		return false;
	if (fp_burst_find(released, flow) == NULL)
		fp_burst_add(released, flow)->rx_avail_before = flow->rx_avail;
	flow->rx_avail += bytes;
	return true;
}

static void reject_command(struct fp_worker *w, struct fp_context *ctx,
			   const struct tas_app_cmd *cmd, bool *reported)
{
	struct tas_app_event ev = {
		.type = TAS_EVT_ERROR,
		.fp_core = (uint16_t)w->core->index,
		.status = -EINVAL,
		.flow_id = cmd->flow_id,
		.flow_gen = cmd->flow_gen,
		.cookie = cmd->cookie,
		.value = cmd->type,
	};

	ctx->cmd_errors++;
	w->core->app_cmd_errors++;
	fp_event_emit(w, ctx, &ev);
	if (!*reported)
		report_app_error(w, ctx, cmd->flow_id);
	*reported = true;
}

/* The window the peer last saw may keep it from sending a full segment,
 * or the application freed a lot: tell it now rather than with the next
 * data (RFC 9293 section 3.8.6.2.2).  Never waiting while the window we
 * showed is below one MSS is what rules out a zero-window deadlock. */
static bool wants_window_update(const struct flow_state *flow,
				uint32_t rx_avail_before)
{
	uint32_t shift = flow->rcv_wscale;
	uint32_t before = (uint32_t)fp_window_field(flow, rx_avail_before) << shift;
	uint32_t now = (uint32_t)fp_window_field(flow, flow->rx_avail) << shift;

	if (flow->flags & FLOW_F_RX_FIN)
		return false;
	return now > before &&
	       (before < flow->mss || now - before >= 2u * flow->mss);
}

static void send_window_updates(struct fp_worker *w,
				const struct fp_burst_flows *released)
{
	for (unsigned i = 0; i < released->count; i++) {
		const struct fp_flow_work *work = &released->work[i];

		if (wants_window_update(work->flow, work->rx_avail_before))
			fp_tx_ack(w, work->flow);
	}
}

static unsigned context_commands(struct fp_worker *w, struct fp_context *ctx)
{
	struct tas_app_cmd cmds[FP_APP_CMD_BURST];
	struct fp_burst_flows released = { .count = 0 };
	bool was_corrupt = ctx->cmd.corrupt, reported = false;

	if (!fp_context_ready(w, ctx))
		return 0;
	unsigned count = shm_ring_dequeue_burst(&ctx->cmd, cmds, FP_APP_CMD_BURST);
	if (ctx->cmd.corrupt && !was_corrupt)
		report_app_error(w, ctx, FLOW_INDEX_NONE);

	for (unsigned i = 0; i < count; i++) {
		const struct tas_app_cmd *cmd = &cmds[i];
		bool stale;
		struct flow_state *flow = command_flow(w, ctx, cmd, &stale);
		bool done = stale;

		if (flow != NULL && cmd->type == TAS_CMD_TX_COMMIT)
			done = tx_commit(w, flow, cmd->value);
		else if (flow != NULL && cmd->type == TAS_CMD_RX_RELEASE)
			done = rx_release(&released, flow, cmd->value);
		if (!done)
			reject_command(w, ctx, cmd, &reported);
	}
	send_window_updates(w, &released);
	return count;
}

bool fp_app_drain(struct fp_worker *w, struct fp_context *ctx)
{
	unsigned count;

	do {
		if (!fp_context_ready(w, ctx))
			return false;
		count = context_commands(w, ctx);
	} while (count == FP_APP_CMD_BURST);
	return true;
}

unsigned fp_app_poll(struct fp_worker *w)
{
	const struct fp_context_list *list = w->contexts;
	unsigned count = 0;

	for (unsigned i = 0; list != NULL && i < list->count; i++)
		count += context_commands(w, list->ctx[i]);
	fp_events_flush(w);
	return count;
}
