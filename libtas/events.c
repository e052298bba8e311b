/*
 * Events: from the context's event rings (one per fast-path core, one for
 * the slow path) to struct tas_event.
 *
 * Ordering.  A flow's fast-path events (ACCEPTED/CONNECTED, then RX_DATA,
 * TX_ACKED, PEER_FIN) and its slow-path events (RESET, CLOSED) travel on
 * different rings.  Two cases matter:
 * - The service emits a flow's last fast-path events before its CLOSED.
 *   Slow-path events are therefore taken off their ring first, and handled
 *   only after every fast-path ring has since been found empty: whatever
 *   a core sent before a CLOSED has been seen by then.
 * - The slow path may report a RESET before the core has announced the
 *   flow, and after a move to another core the flow's events may be read
 *   before its announcement.  Events for a flow not yet attached are kept
 *   per flow (early_events) and applied when it is.
 *
 * - An adopted flow's events start with its ADOPTED, on its core's ring,
 *   and end with LEFT there for the context it leaves.  Early events
 *   meanwhile can only be a RESET: ADOPTED itself says what was received.
 *
 * Translated events wait in the context's ready queue for delivery.
 * TAS_EV_DATA and TAS_EV_WRITABLE are queued at most once per connection
 * until delivered.  A connection is freed at the poll after the one that
 * delivered its TAS_EV_CLOSED.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_ring.h>

#include "tas_internal.h"

#define RING_BURST 32u
/* A service bug could otherwise make this grow without bound. */
#define EARLY_EVENTS_MAX 4096u

/* ------------------------------------------------------------------ */
/* Ready queue                                                         */

static uint32_t ready_room(const struct tas_context *ctx)
{
	return READY_QUEUE_SIZE - ctx->ready_count;
}

void ready_push(struct tas_context *ctx, enum tas_event_type type, int status,
		struct tas_conn *conn, struct tas_listener *listener,
		void *user_data)
{
	/* Callers reserve room; only reports of allocation failures could
	 * find the queue full, and those are best effort. */
	if (ctx->ready_count == READY_QUEUE_SIZE)
		return;

	uint32_t tail = (ctx->ready_head + ctx->ready_count) % READY_QUEUE_SIZE;
	ctx->ready[tail] = (struct tas_event){
		.type = type,
		.status = status,
		.conn = conn,
		.listener = listener,
		.user_data = user_data,
	};
	ctx->ready_count++;
}

static struct tas_event *ready_at(struct tas_context *ctx, uint32_t i)
{
	return &ctx->ready[(ctx->ready_head + i) % READY_QUEUE_SIZE];
}

void ready_forget_listener(struct tas_context *ctx,
			   const struct tas_listener *listener)
{
	for (uint32_t i = 0; i < ctx->ready_count; i++) {
		struct tas_event *ev = ready_at(ctx, i);

		if (ev->listener != listener)
			continue;
		ev->listener = NULL;
		/* Without a conn the event was about the listener alone. */
		if (ev->conn == NULL)
			ev->type = 0;
	}
}

void ready_forget_conn(struct tas_context *ctx, const struct tas_conn *conn)
{
	for (uint32_t i = 0; i < ctx->ready_count; i++) {
		struct tas_event *ev = ready_at(ctx, i);

		if (ev->conn == conn)
			*ev = (struct tas_event){ 0 };
	}
}

static void queue_data(struct tas_conn *conn)
{
	if (conn->flags & CONN_DATA_QUEUED)
		return;
	conn->flags |= CONN_DATA_QUEUED;
	ready_push(conn->ctx, TAS_EV_DATA, 0, conn, NULL, NULL);
}

static void queue_writable(struct tas_conn *conn)
{
	if (conn->flags & CONN_WRITABLE_QUEUED)
		return;
	conn->flags |= CONN_WRITABLE_QUEUED;
	ready_push(conn->ctx, TAS_EV_WRITABLE, 0, conn, NULL, NULL);
}

static void queue_closed(struct tas_conn *conn)
{
	conn->flags |= CONN_CLOSED;
	ready_push(conn->ctx, TAS_EV_CLOSED, 0, conn, NULL, NULL);
}

static int error_status(const struct tas_app_event *ev)
{
	return ev->status < 0 ? ev->status : -EIO;
}

static int reset_status(const struct tas_app_event *ev)
{
	return ev->status < 0 ? ev->status : -ECONNRESET;
}

static void queue_reset(struct tas_conn *conn, int status)
{
	conn->flags |= CONN_RESET;
	ready_push(conn->ctx, TAS_EV_RESET, status, conn, NULL, NULL);
}

static void queue_peer_closed(struct tas_conn *conn)
{
	conn->flags |= CONN_PEER_FIN;
	ready_push(conn->ctx, TAS_EV_PEER_CLOSED, 0, conn, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Early fast-path events                                              */

static struct early_events *early_find(struct tas_context *ctx,
				       uint32_t flow_id, uint32_t flow_gen)
{
	for (uint32_t i = 0; i < ctx->early_count; i++)
		if (ctx->early[i].flow_id == flow_id &&
		    ctx->early[i].flow_gen == flow_gen)
			return &ctx->early[i];
	return NULL;
}

static struct early_events *early_add(struct tas_context *ctx,
				      uint32_t flow_id, uint32_t flow_gen)
{
	if (ctx->early_count == ctx->early_capacity) {
		uint32_t capacity = ctx->early_capacity ? ctx->early_capacity * 2
							: 16;
		if (capacity > EARLY_EVENTS_MAX)
			return NULL;
		struct early_events *early =
			realloc(ctx->early, capacity * sizeof(*early));
		if (early == NULL)
			return NULL;
		ctx->early = early;
		ctx->early_capacity = capacity;
	}
	struct early_events *entry = &ctx->early[ctx->early_count++];
	*entry = (struct early_events){ .flow_id = flow_id,
					.flow_gen = flow_gen };
	return entry;
}

static void early_remove(struct tas_context *ctx, struct early_events *entry)
{
	*entry = ctx->early[--ctx->early_count];
}

static void remember_early(struct tas_context *ctx,
			   const struct tas_app_event *ev)
{
	struct early_events *entry = early_find(ctx, ev->flow_id, ev->flow_gen);

	if (entry == NULL)
		entry = early_add(ctx, ev->flow_id, ev->flow_gen);
	if (entry == NULL)
		return;
	if (ev->type == TAS_EVT_RX_DATA)
		entry->rx_bytes += ev->value;
	else if (ev->type == TAS_EVT_PEER_FIN)
		entry->peer_fin = true;
	else if (ev->type == TAS_EVT_RESET)
		entry->reset_status = reset_status(ev);
}

/* Apply what arrived for conn's flow before it was attached (only a
 * RESET for an adopted one: ADOPTED counts the data and the FIN). */
static void claim_early(struct tas_context *ctx, struct tas_conn *conn,
			bool adopted)
{
	struct early_events *entry =
		early_find(ctx, conn->flow_id, conn->flow_gen);

	if (entry == NULL)
		return;
	if (entry->rx_bytes > 0 && !adopted) {
		conn_add_rx(conn, entry->rx_bytes);
		queue_data(conn);
	}
	if (entry->peer_fin && !adopted)
		queue_peer_closed(conn);
	if (entry->reset_status != 0)
		queue_reset(conn, entry->reset_status);
	early_remove(ctx, entry);
}

static void forget_early(struct tas_context *ctx, uint32_t flow_id)
{
	for (uint32_t i = 0; i < ctx->early_count;) {
		if (ctx->early[i].flow_id == flow_id)
			early_remove(ctx, &ctx->early[i]);
		else
			i++;
	}
}

/* A flow the application does not know about: drop it at the service. */
static void refuse_flow(struct tas_context *ctx, const struct tas_app_event *ev)
{
	conn_abort_flow(ctx, ev->flow_id, ev->flow_gen);
	forget_early(ctx, ev->flow_id);
}

/* ------------------------------------------------------------------ */
/* Translation                                                         */

/* The attached connection an event is about, or NULL (stale generation
 * or unknown flow). */
static struct tas_conn *conn_of(struct tas_context *ctx,
				const struct tas_app_event *ev)
{
	struct tas_conn *conn = conn_map_find(&ctx->flows, ev->flow_id);

	return conn != NULL && conn->flow_gen == ev->flow_gen ? conn : NULL;
}

static bool is_flow_event(uint16_t type)
{
	return type == TAS_EVT_RX_DATA || type == TAS_EVT_TX_ACKED ||
	       type == TAS_EVT_PEER_FIN || type == TAS_EVT_RESET;
}

static void handle_flow_event(struct tas_context *ctx,
			      const struct tas_app_event *ev)
{
	struct tas_conn *conn = conn_map_find(&ctx->flows, ev->flow_id);

	if (conn == NULL) {
		remember_early(ctx, ev);
		return;
	}
	if (conn->flow_gen != ev->flow_gen)
		return;
	/* The core owning a flow changes when the service rebalances. */
	if (ev->type != TAS_EVT_RESET && ev->fp_core < registration.fp_cores)
		conn->fp_core = ev->fp_core;
	switch (ev->type) {
	case TAS_EVT_RX_DATA:
		conn_add_rx(conn, ev->value);
		queue_data(conn);
		break;
	case TAS_EVT_TX_ACKED:
		conn_add_tx_free(conn, ev->value);
		queue_writable(conn);
		break;
	case TAS_EVT_PEER_FIN:
		queue_peer_closed(conn);
		break;
	case TAS_EVT_RESET:
		queue_reset(conn, reset_status(ev));
		break;
	}
}

static void handle_listen_done(struct tas_context *ctx,
			       const struct tas_app_event *ev)
{
	struct tas_listener *listener = listener_by_cookie(ctx, ev->cookie);

	if (listener == NULL) {
		/* Closed before it started: stop it at the service. */
		if (ev->status == 0) {
			struct tas_app_cmd cmd = { .type = TAS_CMD_LISTEN_CLOSE,
						   .flow_id = ev->flow_id };
			command_to_slowpath(ctx, &cmd, -1);
		}
		return;
	}
	if (ev->status == 0)
		listener_started(listener, ev->flow_id);
	else
		listener->status = ev->status;
	ready_push(ctx, TAS_EV_LISTENING, ev->status, NULL, listener,
		   listener->user_data);
}

static enum opening_kind opening_kind_of(const struct tas_conn *conn)
{
	if (conn->flags & CONN_ADOPTING)
		return OPENING_ADOPT;
	return conn->listener != NULL ? OPENING_ACCEPT : OPENING_CONNECT;
}

struct tas_conn *take_opening(struct tas_context *ctx, uint64_t cookie,
			      enum opening_kind kind)
{
	struct tas_conn *conn = conn_map_find(&ctx->opening, cookie);

	if (conn == NULL || opening_kind_of(conn) != kind)
		return NULL;
	conn_map_remove(&ctx->opening, cookie);
	if (kind == OPENING_ACCEPT && !(conn->flags & CONN_ACCEPT_FOREIGN))
		accept_unlink(conn);
	return conn;
}

static void accept_failed(struct tas_context *ctx, struct tas_conn *conn,
			  int status)
{
	ready_push(ctx, TAS_EV_ERROR, status, NULL, conn->listener,
		   conn->user_data);
	free(conn);
}

/* A connect that will not happen ends like every connection: with
 * TAS_EV_CLOSED after its TAS_EV_CONNECTED (no flow, so libtas sends it). */
static void connect_failed(struct tas_context *ctx, struct tas_conn *conn,
			   int status)
{
	ready_push(ctx, TAS_EV_CONNECTED, status, conn, NULL, NULL);
	queue_closed(conn);
}

/* After ACCEPTED/CONNECTED is queued: the data that arrived before the
 * announcement (its value) and whatever overtook it. */
static void attached(struct tas_context *ctx, struct tas_conn *conn,
		     const struct tas_app_event *ev)
{
	if (ev->value > 0) {
		conn_add_rx(conn, ev->value);
		queue_data(conn);
	}
	claim_early(ctx, conn, false);
}

/* The waiting accept (accepting) or connect the announced flow is for,
 * attached to it; NULL if there is none or attaching failed (the flow is
 * refused and a failed request reported). */
/* The service reuses a flow id only after it sent the CLOSED of the id's
 * last connection, but that event travels on the slow-path ring and can
 * still be there while the new flow's announcement, from a fast-path
 * ring, is here: the old connection is closed now (its CLOSED, when it
 * comes, names a generation no connection has any more). */
static void close_superseded(struct tas_context *ctx,
			     const struct tas_app_event *ev)
{
	struct tas_conn *old = conn_map_find(&ctx->flows, ev->flow_id);

	if (old == NULL || old->flow_gen == ev->flow_gen ||
	    !(old->flags & CONN_CLOSING))
		return;
	conn_map_remove(&ctx->flows, ev->flow_id);
	queue_closed(old);
}

static struct tas_conn *attach_announced(struct tas_context *ctx,
					 const struct tas_app_event *ev,
					 bool accepting)
{
	close_superseded(ctx, ev);

	struct tas_conn *conn = take_opening(
		ctx, ev->cookie, accepting ? OPENING_ACCEPT : OPENING_CONNECT);

	if (conn == NULL) {
		refuse_flow(ctx, ev);
		return NULL;
	}
	int err = conn_attach(conn, ev);
	if (err != 0) {
		refuse_flow(ctx, ev);
		if (accepting)
			accept_failed(ctx, conn, err);
		else
			connect_failed(ctx, conn, err);
		return NULL;
	}
	return conn;
}

static void handle_accepted(struct tas_context *ctx,
			    const struct tas_app_event *ev)
{
	struct tas_conn *conn = attach_announced(ctx, ev, true);

	if (conn == NULL)
		return;
	ready_push(ctx, TAS_EV_ACCEPTED, 0, conn, conn->listener, NULL);
	conn->flags |= CONN_ACCEPT_QUEUED;
	attached(ctx, conn, ev);
}

static void handle_connected(struct tas_context *ctx,
			     const struct tas_app_event *ev)
{
	struct tas_conn *conn = attach_announced(ctx, ev, false);

	if (conn == NULL)
		return;
	ready_push(ctx, TAS_EV_CONNECTED, 0, conn, NULL, NULL);
	attached(ctx, conn, ev);
	/* tas_close/tas_abort while connecting: the flow id is known now. */
	if (conn->flags & CONN_CLOSING)
		conn_send_close(conn);
}

/* An adoption that did not happen: the copy is of no use any more, and
 * the connection ends here like a failed connect. */
static void adopt_failed(struct tas_context *ctx, struct tas_conn *conn,
			 int status)
{
	pthread_mutex_lock(&registration.lock);
	registration_forget_copy(conn->flow_id, conn->flow_gen);
	pthread_mutex_unlock(&registration.lock);
	ready_push(ctx, TAS_EV_ADOPTED, status, conn, NULL, NULL);
	queue_closed(conn);
}

static void handle_adopted(struct tas_context *ctx,
			   const struct tas_app_event *ev)
{
	close_superseded(ctx, ev);

	struct tas_conn *conn = take_opening(ctx, ev->cookie, OPENING_ADOPT);
	if (conn == NULL) {
		refuse_flow(ctx, ev);
		return;
	}
	int err = conn_adopted(conn, ev);
	if (err != 0) {
		refuse_flow(ctx, ev);
		adopt_failed(ctx, conn, err);
		return;
	}
	ready_push(ctx, TAS_EV_ADOPTED, 0, conn, NULL, NULL);
	if (conn->rx_pending > 0)
		queue_data(conn);
	if (ev->flags & TAS_EVF_RX_FIN)
		queue_peer_closed(conn);
	claim_early(ctx, conn, true);
	/* tas_close/tas_abort while adopting: it is ours to close now. */
	if (conn->flags & CONN_CLOSING)
		conn_send_close(conn);
}

/* Adopted by another process: the connection ends here. */
static void handle_left(struct tas_context *ctx, const struct tas_app_event *ev)
{
	struct tas_conn *conn = conn_of(ctx, ev);

	if (conn == NULL)
		return;
	conn_map_remove(&ctx->flows, conn->flow_id);
	forget_early(ctx, conn->flow_id);
	conn->flags |= CONN_LEFT | CONN_CLOSED;
	ready_push(ctx, TAS_EV_LEFT, 0, conn, NULL, NULL);
}

static void handle_connect_failed(struct tas_context *ctx,
				  const struct tas_app_event *ev)
{
	struct tas_conn *conn = take_opening(ctx, ev->cookie, OPENING_CONNECT);

	if (conn != NULL)
		connect_failed(ctx, conn, error_status(ev));
}

static void handle_closed(struct tas_context *ctx,
			  const struct tas_app_event *ev)
{
	struct tas_conn *conn = conn_of(ctx, ev);

	if (conn == NULL)
		return;
	conn_map_remove(&ctx->flows, conn->flow_id);
	forget_early(ctx, conn->flow_id);
	queue_closed(conn);
}

/* After the peer's FIN the flow leaves the fast path once our FIN is
 * acknowledged too; releases of the last data that reach the core after
 * that are rejected there, but nothing is lost. */
static bool is_late_release(const struct tas_conn *conn,
			    const struct tas_app_event *ev)
{
	return conn != NULL && ev->value == TAS_CMD_RX_RELEASE &&
	       (conn->flags & CONN_PEER_FIN);
}

/* A rejected command (its type in value): report it against whatever it
 * was about. */
static void handle_error(struct tas_context *ctx,
			 const struct tas_app_event *ev)
{
	int status = error_status(ev);
	struct tas_conn *conn;
	struct tas_listener *listener;

	if (ev->cookie != 0) {
		if ((conn = take_opening(ctx, ev->cookie, OPENING_ACCEPT)) != NULL) {
			accept_failed(ctx, conn, status);
			return;
		}
		if ((conn = take_opening(ctx, ev->cookie, OPENING_CONNECT)) != NULL) {
			connect_failed(ctx, conn, status);
			return;
		}
		if ((conn = take_opening(ctx, ev->cookie, OPENING_ADOPT)) != NULL) {
			adopt_failed(ctx, conn, status);
			return;
		}
		listener = listener_by_cookie(ctx, ev->cookie);
		if (listener != NULL && !listener->listening &&
		    listener->status == 0) {
			listener->status = status;
			ready_push(ctx, TAS_EV_LISTENING, status, NULL, listener,
				   listener->user_data);
			return;
		}
	}
	conn = conn_of(ctx, ev);
	if (is_late_release(conn, ev))
		return;
	ready_push(ctx, TAS_EV_ERROR, status, conn, NULL, NULL);
}

static void handle_event(struct tas_context *ctx, const struct tas_app_event *ev)
{
	if (is_flow_event(ev->type)) {
		handle_flow_event(ctx, ev);
		return;
	}
	switch (ev->type) {
	case TAS_EVT_LISTEN_DONE:
		handle_listen_done(ctx, ev);
		break;
	case TAS_EVT_ACCEPTED:
		handle_accepted(ctx, ev);
		break;
	case TAS_EVT_CONNECTED:
		handle_connected(ctx, ev);
		break;
	case TAS_EVT_ADOPTED:
		handle_adopted(ctx, ev);
		break;
	case TAS_EVT_LEFT:
		handle_left(ctx, ev);
		break;
	case TAS_EVT_CONNECT_FAILED:
		handle_connect_failed(ctx, ev);
		break;
	case TAS_EVT_CLOSED:
		handle_closed(ctx, ev);
		break;
	case TAS_EVT_ERROR:
		handle_error(ctx, ev);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Draining the rings                                                  */

static void take_slowpath_events(struct tas_context *ctx)
{
	struct tas_app_event events[SP_BACKLOG_SIZE];
	unsigned room = SP_BACKLOG_SIZE - ctx->sp_backlog_count;
	unsigned n = rte_ring_sc_dequeue_burst_elem(
		ctx->event_ring[TAS_RING_SLOWPATH], events, sizeof(events[0]),
		room, NULL);

	for (unsigned i = 0; i < n; i++) {
		uint32_t tail = (ctx->sp_backlog_head + ctx->sp_backlog_count) %
				SP_BACKLOG_SIZE;
		ctx->sp_backlog[tail] = events[i];
		ctx->sp_backlog_count++;
	}
}

/* Drain every fast-path ring; false if the ready queue filled first. */
static bool drain_fastpath_events(struct tas_context *ctx)
{
	struct tas_app_event events[RING_BURST];

	for (unsigned core = 0; core < registration.fp_cores; core++) {
		for (;;) {
			unsigned burst = ready_room(ctx) / READY_PER_RING_EVENT;

			if (burst > RING_BURST)
				burst = RING_BURST;
			if (burst == 0)
				return false;
			unsigned n = rte_ring_sc_dequeue_burst_elem(
				ctx->event_ring[core], events, sizeof(events[0]),
				burst, NULL);
			for (unsigned i = 0; i < n; i++)
				handle_event(ctx, &events[i]);
			if (n < burst)
				break;
		}
	}
	return true;
}

static void handle_slowpath_backlog(struct tas_context *ctx)
{
	while (ctx->sp_backlog_count > 0 &&
	       ready_room(ctx) >= READY_PER_RING_EVENT) {
		handle_event(ctx, &ctx->sp_backlog[ctx->sp_backlog_head]);
		ctx->sp_backlog_head = (ctx->sp_backlog_head + 1) % SP_BACKLOG_SIZE;
		ctx->sp_backlog_count--;
	}
}

static void collect_events(struct tas_context *ctx)
{
	take_slowpath_events(ctx);
	if (drain_fastpath_events(ctx))
		handle_slowpath_backlog(ctx);
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */

static void release_closed_conns(struct tas_context *ctx)
{
	while (ctx->released != NULL) {
		struct tas_conn *conn = ctx->released;

		ctx->released = conn->next_released;
		free(conn);
	}
}

static int deliver(struct tas_context *ctx, struct tas_event *events, int max)
{
	int count = 0;

	while (count < max && ctx->ready_count > 0) {
		struct tas_event ev = *ready_at(ctx, 0);

		ctx->ready_head = (ctx->ready_head + 1) % READY_QUEUE_SIZE;
		ctx->ready_count--;
		if (ev.type == 0)
			continue;
		struct tas_conn *conn = ev.conn;
		if (conn != NULL) {
			ev.user_data = conn->user_data;
			if (ev.type == TAS_EV_ACCEPTED)
				conn->flags &= ~CONN_ACCEPT_QUEUED;
			else if (ev.type == TAS_EV_DATA)
				conn->flags &= ~CONN_DATA_QUEUED;
			else if (ev.type == TAS_EV_WRITABLE)
				conn->flags &= ~CONN_WRITABLE_QUEUED;
			else if (ev.type == TAS_EV_CLOSED ||
				 ev.type == TAS_EV_LEFT) {
				conn->next_released = ctx->released;
				ctx->released = conn;
			}
		}
		events[count++] = ev;
	}
	return count;
}

void events_disarm(struct tas_context *ctx)
{
	uint64_t count;

	if (!ctx->armed)
		return;
	__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
	ctx->armed = false;
	/* Reset the eventfd so that it does not stay readable. */
	(void)!read(ctx->eventfd, &count, sizeof(count));
}

int tas_poll(struct tas_context *ctx, struct tas_event *events, int max)
{
	if (ctx->inherited)
		return -EBADF;
	release_closed_conns(ctx);
	events_disarm(ctx);
	commands_flush(ctx);
	if (max <= 0)
		return 0;
	if (ctx->ready_count < (uint32_t)max)
		collect_events(ctx);
	return deliver(ctx, events, max);
}

bool events_ready(const struct tas_context *ctx)
{
	if (ctx->ready_count > 0 || ctx->sp_backlog_count > 0)
		return true;
	for (unsigned ring = 0; ring < TAS_RINGS_PER_DIRECTION; ring++)
		if (ring_exists(ctx, ring) &&
		    rte_ring_count(ctx->event_ring[ring]) > 0)
			return true;
	return false;
}

void events_free(struct tas_context *ctx)
{
	/* Closed connections not yet delivered are referenced only here. */
	for (uint32_t i = 0; i < ctx->ready_count; i++) {
		struct tas_event *ev = ready_at(ctx, i);
		if (ev->type == TAS_EV_CLOSED || ev->type == TAS_EV_LEFT)
			free(ev->conn);
	}
	ctx->ready_count = 0;
	release_closed_conns(ctx);
	free(ctx->early);
	ctx->early = NULL;
	ctx->early_count = ctx->early_capacity = 0;
}
