/*
 * Taking over a connection inherited across fork() (tas.h, "Processes"):
 * tas_conn_adopt moves the inherited copy into one of this process's
 * contexts, where it waits like a connect, by the cookie of its ADOPT
 * command, for TAS_EVT_ADOPTED (events.c).  The event, not the copy,
 * says where the buffers stand: the parent may have read, written and
 * been told more since the fork.
 */
#include <errno.h>
#include <pthread.h>

#include "tas_internal.h"

/* Why conn cannot be adopted into ctx, or 0. */
static int adoption_refused(const struct tas_context *ctx,
			    const struct tas_conn *conn)
{
	if (ctx->inherited)
		return -EBADF;
	if (conn->ctx == ctx && (conn->flags & CONN_ADOPTING))
		return -EALREADY;
	if (!conn_inherited(conn))
		return -EINVAL;
	if (!conn_has_flow(conn) ||
	    (conn->flags & (CONN_CLOSING | CONN_CLOSED | CONN_RESET)))
		return -ENOTCONN;
	return 0;
}

/* Out of the inherited context, whose maps other threads may touch too
 * (inherit.c). */
static void detach_inherited(struct tas_conn *conn)
{
	struct tas_context *from = conn->ctx;

	pthread_mutex_lock(&registration.lock);
	if (conn->flags & CONN_ATTACHED)
		conn_map_remove(&from->flows, conn->flow_id);
	else
		conn_map_remove(&from->opening, conn->cookie);
	ready_forget_conn(from, conn);
	pthread_mutex_unlock(&registration.lock);
}

int tas_conn_adopt(struct tas_context *ctx, struct tas_conn *conn)
{
	int err = adoption_refused(ctx, conn);

	if (err != 0)
		return err;
	uint64_t cookie = ctx->next_cookie++;
	err = conn_map_insert(&ctx->opening, cookie, conn);
	if (err != 0)
		return err;

	struct tas_app_cmd cmd = {
		.type = TAS_CMD_ADOPT,
		.flow_id = conn->flow_id,
		.flow_gen = conn->flow_gen,
		.cookie = cookie,
	};
	err = command_to_slowpath(ctx, &cmd, -1);
	if (err != 0) {
		conn_map_remove(&ctx->opening, cookie);
		return err;
	}
	detach_inherited(conn);
	conn->ctx = ctx;
	conn->cookie = cookie;
	/* An accepted connection's listener is the parent's object. */
	conn->listener = NULL;
	/* Only what this process asked for stays; the rest comes with
	 * ADOPTED. */
	conn->flags = (conn->flags & CONN_RD_SHUT) | CONN_ADOPTING;
	return 0;
}

static bool is_buffer(const uint8_t *buf, uint32_t size, uint32_t offset,
		      uint32_t ev_size)
{
	return buf == registration.region + offset && size == ev_size;
}

int conn_adopted(struct tas_conn *conn, const struct tas_app_event *ev)
{
	if (ev->flow_id != conn->flow_id || ev->flow_gen != conn->flow_gen ||
	    !is_buffer(conn->rx_buf, conn->rx_size, ev->rx_buf_offset,
		       ev->rx_buf_size) ||
	    !is_buffer(conn->tx_buf, conn->tx_size, ev->tx_buf_offset,
		       ev->tx_buf_size) ||
	    ev->fp_core >= registration.fp_cores || ev->value > conn->rx_size ||
	    ev->rx_pos >= conn->rx_size || ev->tx_head >= conn->tx_size ||
	    ev->tx_unacked > conn->tx_size)
		return -EPROTO;
	if (conn_map_insert(&conn->ctx->flows, ev->flow_id, conn) != 0)
		return -EPROTO;

	conn->flags = (conn->flags & (CONN_RD_SHUT | CONN_CLOSING |
				      CONN_ABORTING)) | CONN_ATTACHED;
	if (ev->flags & TAS_EVF_TX_FIN)
		conn->flags |= CONN_WR_SHUT;
	conn->fp_core = ev->fp_core;
	conn->rx_pos = ev->rx_pos;
	conn->rx_pending = ev->value;
	conn->tx_head = ev->tx_head;
	conn->tx_free = conn->tx_size - ev->tx_unacked;
	return 0;
}
