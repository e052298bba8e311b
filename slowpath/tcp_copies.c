/*
 * Copies of connections held by other processes of the application
 * (tcp_copies.h).  A copy keeps a connection open that its owner let go
 * of, as a descriptor a forked child still holds keeps a Linux socket
 * open: the owner's CLOSE or ABORT then only marks the connection
 * released, and it is carried out when the last copy goes.  Copies are
 * only counted for connections that still carry data (established, or
 * half-closed in either direction); a reset or finished connection closes
 * at once.
 */
#include "tcp_copies.h"

#include <errno.h>

#include "app_registry.h"
#include "tcp_conn.h"
#include "tcp_deliver.h"

/* (flow_id, flow_gen) names a connection of app the app still holds. */
static struct tcp_conn *held_conn(const struct app *app, uint32_t flow_id,
				  uint32_t flow_gen)
{
	if (flow_id >= tcp_sp.svc->cfg.max_flows)
		return NULL;
	struct tcp_conn *conn = tcp_conn_of(flow_id);
	if (!conn->in_use || conn->releasing || !conn->announced ||
	    conn->app_done || conn->app_gone || conn->app != app ||
	    tcp_flow_of(conn)->flow_gen != flow_gen)
		return NULL;
	return conn;
}

static bool carries_data(const struct tcp_conn *conn)
{
	return conn->installed && !conn->removing &&
	       !tcp_state_is_finished(conn->state);
}

static void add_copy(struct app_copies *copies, struct tcp_conn *conn)
{
	/* Without room the child holds no copy: the owner's close is not
	 * deferred for it, which is all that is lost. */
	if (app_copies_add(copies, conn->flow_id,
			   tcp_flow_of(conn)->flow_gen) == 0)
		conn->copies++;
}

void tcp_copies_fork(struct app *app, uint32_t contexts,
		     const struct app_copies *parent, struct app_copies *child)
{
	for (uint32_t i = 0; i < tcp_sp.active_count; i++) {
		struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);

		if (conn->app == app && conn->announced && !conn->app_done &&
		    !conn->app_gone && !conn->owner_released &&
		    conn->ctx_id < TAS_MAX_CONTEXTS &&
		    (contexts & (1u << conn->ctx_id)) != 0)
			add_copy(child, conn);
	}
	for (uint32_t i = 0; i < parent->count; i++) {
		const struct flow_ref *ref = &parent->refs[i];
		struct tcp_conn *conn = held_conn(app, ref->flow_id, ref->flow_gen);

		if (conn != NULL)
			add_copy(child, conn);
	}
}

/* Nobody holds the connection any more: what the owner asked for
 * happens now. */
static void last_copy_gone(struct tcp_conn *conn)
{
	bool abort = conn->release_abort;

	conn->owner_released = false;
	conn->release_abort = false;
	if (abort)
		tcp_app_abort_flow(conn);
	else
		tcp_app_close_flow(conn);
}

void tcp_copies_drop(struct app *app, uint32_t flow_id, uint32_t flow_gen)
{
	struct tcp_conn *conn = held_conn(app, flow_id, flow_gen);

	if (conn == NULL || conn->copies == 0)
		return;
	if (--conn->copies == 0 && conn->owner_released)
		last_copy_gone(conn);
}

bool tcp_copies_release(struct tcp_conn *conn, bool abort)
{
	if (conn->copies == 0 || !carries_data(conn))
		return false;
	conn->owner_released = true;
	conn->release_abort = abort;
	return true;
}

/* The adopter owns the connection now; the copy it held, if any, is
 * what it took over. */
static void take_over(struct app *app, uint16_t ctx_id, struct tcp_conn *conn,
		      uint64_t cookie)
{
	struct fp_command cmd = {
		.type = FP_CMD_FLOW_ADOPT,
		.flow_id = conn->flow_id,
		.ctx_id = ctx_id,
		.cookie = cookie,
	};

	if (app_copy_take(app, ctx_id, conn->flow_id,
			  tcp_flow_of(conn)->flow_gen) &&
	    conn->copies > 0)
		conn->copies--;
	conn->owner_released = false;
	conn->release_abort = false;
	conn->ctx_id = ctx_id;
	conn->contexts_seen |= 1u << ctx_id;
	tcp_send_command(tcp_conn_core(conn), &cmd);
}

/* The events of the flow move with it: the core answers on its own
 * rings (LEFT to the old context, then ADOPTED to the new), the slow
 * path sends its own (RESET, CLOSED) to the new context from now on.
 * An adoption the core has not carried out yet is ordered before any
 * later one, and before the flow's removal, on the core's ring. */
int32_t tcp_copies_adopt(struct app *app, uint16_t ctx_id,
			 struct tcp_conn *conn, uint64_t cookie)
{
	if (conn->ctx_id == ctx_id)
		return -EALREADY;
	if (!carries_data(conn) || conn->reset_sent_to_app)
		return -ENOTCONN;
	take_over(app, ctx_id, conn, cookie);
	return 0;
}
