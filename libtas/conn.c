/*
 * Connections: their buffers in the shared region, zero-copy and copying
 * send and receive, shutdown, close and abort.
 *
 * Both buffers start at position 0 when the flow is installed.  Receive:
 * the fast path appends and reports RX_DATA(n); the application reads
 * from rx_pos and gives space back with RX_RELEASE(n).  Send: the
 * application appends at tx_head and hands bytes over with TX_COMMIT(n);
 * the fast path reports TX_ACKED(n) when they may be overwritten.  Local
 * state changes only once the command is queued, so a failed call leaves
 * the connection as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include "circ_buf.h"
#include "tas_internal.h"

struct tas_conn *conn_new(struct tas_context *ctx, void *user_data)
{
	struct tas_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return NULL;
	conn->ctx = ctx;
	conn->user_data = user_data;
	conn->cookie = ctx->next_cookie++;
	return conn;
}

static bool is_power_of_2(uint32_t value)
{
	return value != 0 && (value & (value - 1)) == 0;
}

/* A buffer the service described: a power of two inside the buffer area. */
static bool buffer_valid(uint64_t offset, uint32_t size)
{
	const struct tas_shm_header *header = registration.header;

	return is_power_of_2(size) && offset >= header->buf_area_offset &&
	       offset - header->buf_area_offset <= header->buf_area_size &&
	       size <= header->buf_area_offset + header->buf_area_size - offset;
}

int conn_attach(struct tas_conn *conn, const struct tas_app_event *ev)
{
	if (!buffer_valid(ev->rx_buf_offset, ev->rx_buf_size) ||
	    !buffer_valid(ev->tx_buf_offset, ev->tx_buf_size) ||
	    ev->fp_core >= registration.fp_cores)
		return -EPROTO;
	if (conn_map_insert(&conn->ctx->flows, ev->flow_id, conn) != 0)
		return -EPROTO;

	conn->flags |= CONN_ATTACHED;
	conn->flow_id = ev->flow_id;
	conn->flow_gen = ev->flow_gen;
	conn->fp_core = ev->fp_core;
	conn->rx_buf = registration.region + ev->rx_buf_offset;
	conn->rx_size = ev->rx_buf_size;
	conn->tx_buf = registration.region + ev->tx_buf_offset;
	conn->tx_size = ev->tx_buf_size;
	conn->tx_free = ev->tx_buf_size;
	conn->local_ip = ev->local_ip;
	conn->remote_ip = ev->remote_ip;
	conn->local_port = ev->local_port;
	conn->remote_port = ev->remote_port;
	return 0;
}

/* The counts come from the service; clamping keeps a confused service
 * from making the application read or write outside the buffers. */
void conn_add_rx(struct tas_conn *conn, uint32_t bytes)
{
	uint32_t room = conn->rx_size - conn->rx_pending;

	conn->rx_pending += bytes < room ? bytes : room;
}

void conn_add_tx_free(struct tas_conn *conn, uint32_t bytes)
{
	uint32_t in_use = conn->tx_size - conn->tx_free;

	conn->tx_free += bytes < in_use ? bytes : in_use;
}

static struct tas_app_cmd flow_command(const struct tas_conn *conn,
				       uint16_t type, uint32_t value)
{
	return (struct tas_app_cmd){
		.type = type,
		.flow_id = conn->flow_id,
		.flow_gen = conn->flow_gen,
		.value = value,
	};
}

void conn_abort_flow(struct tas_context *ctx, uint32_t flow_id,
		     uint32_t flow_gen)
{
	struct tas_app_cmd cmd = { .type = TAS_CMD_ABORT,
				   .flow_id = flow_id,
				   .flow_gen = flow_gen };

	command_to_slowpath(ctx, &cmd, -1);
}

static bool is_open(const struct tas_conn *conn)
{
	return !conn_inherited(conn) && (conn->flags & CONN_ATTACHED) &&
	       !(conn->flags & (CONN_CLOSED | CONN_RESET));
}

/* Why a connection that is not open cannot be used. */
static int not_open_error(const struct tas_conn *conn)
{
	if (conn_inherited(conn) || (conn->flags & CONN_LEFT))
		return -EBADF;
	if (conn->flags & CONN_ADOPTING)
		return -EAGAIN;
	return (conn->flags & CONN_RESET) ? -ECONNRESET : -ENOTCONN;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

size_t tas_recv_pending(const struct tas_conn *conn)
{
	return is_open(conn) ? conn->rx_pending : 0;
}

size_t tas_recv_peek(struct tas_conn *conn, void **data)
{
	if (!is_open(conn) || conn->rx_pending == 0)
		return 0;
	*data = conn->rx_buf + conn->rx_pos;
	return circ_contiguous(conn->rx_pos, conn->rx_pending, conn->rx_size);
}

int tas_recv_release(struct tas_conn *conn, size_t len)
{
	if (!is_open(conn))
		return not_open_error(conn);
	if (len > conn->rx_pending)
		return -EINVAL;
	if (len == 0)
		return 0;

	struct tas_app_cmd cmd =
		flow_command(conn, TAS_CMD_RX_RELEASE, (uint32_t)len);
	int err = command_to_core(conn->ctx, conn->fp_core, &cmd);
	if (err != 0)
		return err;
	conn->rx_pos = circ_advance(conn->rx_pos, (uint32_t)len, conn->rx_size);
	conn->rx_pending -= (uint32_t)len;
	return 0;
}

ssize_t tas_recv(struct tas_conn *conn, void *buf, size_t len)
{
	if (!is_open(conn))
		return not_open_error(conn);
	if (conn->rx_pending == 0)
		return (conn->flags & (CONN_PEER_FIN | CONN_RD_SHUT)) ? 0
								      : -EAGAIN;

	uint32_t n = len < conn->rx_pending ? (uint32_t)len : conn->rx_pending;
	circ_read(conn->rx_buf, conn->rx_size, conn->rx_pos, buf, n);
	int err = tas_recv_release(conn, n);
	return err != 0 ? err : (ssize_t)n;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

/* 0 if data may be sent, else why not. */
static int send_blocked(const struct tas_conn *conn)
{
	if (!is_open(conn))
		return not_open_error(conn);
	if (conn->flags & (CONN_WR_SHUT | CONN_CLOSING))
		return -EPIPE;
	return 0;
}

size_t tas_send_space(const struct tas_conn *conn)
{
	return send_blocked(conn) == 0 ? conn->tx_free : 0;
}

size_t tas_send_reserve(struct tas_conn *conn, void **data)
{
	if (send_blocked(conn) != 0 || conn->tx_free == 0)
		return 0;
	*data = conn->tx_buf + conn->tx_head;
	return circ_contiguous(conn->tx_head, conn->tx_free, conn->tx_size);
}

int tas_send_commit(struct tas_conn *conn, size_t len)
{
	int err = send_blocked(conn);

	if (err != 0)
		return err;
	if (len > conn->tx_free)
		return -EINVAL;
	if (len == 0)
		return 0;

	struct tas_app_cmd cmd =
		flow_command(conn, TAS_CMD_TX_COMMIT, (uint32_t)len);
	err = command_to_core(conn->ctx, conn->fp_core, &cmd);
	if (err != 0)
		return err;
	conn->tx_head = circ_advance(conn->tx_head, (uint32_t)len, conn->tx_size);
	conn->tx_free -= (uint32_t)len;
	return 0;
}

ssize_t tas_send(struct tas_conn *conn, const void *buf, size_t len)
{
	int err = send_blocked(conn);

	if (err != 0)
		return err;
	if (len == 0)
		return 0;
	if (conn->tx_free == 0)
		return -EAGAIN;

	uint32_t n = len < conn->tx_free ? (uint32_t)len : conn->tx_free;
	circ_write(conn->tx_buf, conn->tx_size, conn->tx_head, buf, n);
	err = tas_send_commit(conn, n);
	return err != 0 ? err : (ssize_t)n;
}

/* ------------------------------------------------------------------ */
/* Shutdown and close                                                  */

static bool is_valid_option(enum tas_conn_option option, uint64_t value)
{
	switch (option) {
	case TAS_OPT_NODELAY:
	case TAS_OPT_KEEPALIVE:
		return value <= 1;
	case TAS_OPT_KEEPIDLE:
	case TAS_OPT_KEEPINTVL:
		return value >= 1 && value <= 32767;
	case TAS_OPT_KEEPCNT:
		return value >= 1 && value <= 127;
	case TAS_OPT_CONGESTION:
		return value <= TAS_CC_CONST_RATE;
	}
	return false;
}

int tas_conn_set_option(struct tas_conn *conn, enum tas_conn_option option,
			uint64_t value)
{
	if (!is_valid_option(option, value))
		return -EINVAL;
	if (!is_open(conn))
		return not_open_error(conn);

	struct tas_app_cmd cmd = flow_command(conn, TAS_CMD_SET_OPTION,
					      (uint32_t)option);
	cmd.cookie = value;
	return command_to_slowpath(conn->ctx, &cmd, -1);
}

int tas_shutdown(struct tas_conn *conn, int how)
{
	uint32_t shut;

	switch (how) {
	case SHUT_RD:
		shut = TAS_SHUT_RD;
		break;
	case SHUT_WR:
		shut = TAS_SHUT_WR;
		break;
	case SHUT_RDWR:
		shut = TAS_SHUT_RD | TAS_SHUT_WR;
		break;
	default:
		return -EINVAL;
	}
	if (!is_open(conn))
		return not_open_error(conn);

	struct tas_app_cmd cmd = flow_command(conn, TAS_CMD_SHUTDOWN, shut);
	/* The FIN must follow every byte committed before. */
	int barrier = (shut & TAS_SHUT_WR) ? conn->fp_core : -1;
	int err = command_to_slowpath(conn->ctx, &cmd, barrier);
	if (err != 0)
		return err;
	if (shut & TAS_SHUT_RD)
		conn->flags |= CONN_RD_SHUT;
	if (shut & TAS_SHUT_WR)
		conn->flags |= CONN_WR_SHUT;
	return 0;
}

int conn_send_close(struct tas_conn *conn)
{
	bool abort = conn->flags & CONN_ABORTING;
	struct tas_app_cmd cmd =
		flow_command(conn, abort ? TAS_CMD_ABORT : TAS_CMD_CLOSE, 0);

	/* An orderly close sends its FIN after the committed data. */
	return command_to_slowpath(conn->ctx, &cmd, abort ? -1 : conn->fp_core);
}

/* Close or abort: at once if the flow is known, else when the connect
 * or adoption completes.  A reset connection is still closed at the
 * service, which may be waiting for the application to let go of it.  An
 * inherited one is the parent's: only our copy goes; one that was adopted
 * away (CLOSED set with LEFT) is gone already. */
static int close_conn(struct tas_conn *conn, uint32_t flags)
{
	if (conn->flags & CONN_CLOSED)
		return 0;
	if (conn_inherited(conn)) {
		inherited_conn_forget(conn);
		return 0;
	}
	if (conn->flags & CONN_CLOSING) {
		bool escalate = (flags & CONN_ABORTING) &&
				!(conn->flags & CONN_ABORTING);
		if (!escalate)
			return -EALREADY;
	}
	uint32_t old_flags = conn->flags;
	conn->flags |= flags;
	if (!(conn->flags & CONN_ATTACHED))
		return 0;

	int err = conn_send_close(conn);
	if (err != 0)
		conn->flags = old_flags;
	return err;
}

int tas_close(struct tas_conn *conn)
{
	return close_conn(conn, CONN_CLOSING);
}

int tas_abort(struct tas_conn *conn)
{
	return close_conn(conn, CONN_CLOSING | CONN_ABORTING);
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */

void tas_conn_set_user_data(struct tas_conn *conn, void *user_data)
{
	conn->user_data = user_data;
}

void *tas_conn_user_data(const struct tas_conn *conn)
{
	return conn->user_data;
}

void tas_conn_addresses(const struct tas_conn *conn, uint32_t *local_ip,
			uint16_t *local_port, uint32_t *remote_ip,
			uint16_t *remote_port)
{
	if (local_ip != NULL)
		*local_ip = ntohl(conn->local_ip);
	if (local_port != NULL)
		*local_port = ntohs(conn->local_port);
	if (remote_ip != NULL)
		*remote_ip = ntohl(conn->remote_ip);
	if (remote_port != NULL)
		*remote_port = ntohs(conn->remote_port);
}
