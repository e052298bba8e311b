/*
 * Application commands on the slow-path ring (listen, accept, connect,
 * shutdown, close, abort, adopt) and the clean-up when an application, a
 * member process of it, or the service goes away.  Orderly close follows
 * RFC 9293 section 3.6; abort and unread data at close follow RFC 9293
 * section 3.10.4 ("ABORT Call") and RFC 2525 section 2.17 (reset when
 * data is lost at close).  A connection other processes hold copies of
 * (fork) is closed when the last copy goes (tcp_copies.h).
 *
 * Every field of a command comes from application memory and is checked
 * before use; a bad command gets TAS_EVT_ERROR and changes nothing.
 */
#include <errno.h>

#include "app_registry.h"
#include "fastpath.h"
#include "tcp.h"
#include "tcp_conn.h"
#include "tcp_connect.h"
#include "tcp_copies.h"
#include "tcp_deliver.h"
#include "tcp_listen.h"
#include "tcp_output.h"

static void command_error(struct app *app, uint16_t ctx_id,
			  const struct tas_app_cmd *cmd, int32_t status)
{
	struct tas_app_event ev = {
		.type = TAS_EVT_ERROR,
		.status = status,
		.flow_id = cmd->flow_id,
		.flow_gen = cmd->flow_gen,
		.cookie = cmd->cookie,
		.value = cmd->type,
	};

	tcp_send_event(app, ctx_id, &ev);
}

/* The connection a flow command names, or NULL with *status set: the id
 * must be one the application was given, of this generation, not closed. */
static struct tcp_conn *conn_of_command(const struct app *app,
					const struct tas_app_cmd *cmd,
					int32_t *status)
{
	*status = -EBADF;
	if (cmd->flow_id >= tcp_sp.svc->cfg.max_flows)
		return NULL;
	struct tcp_conn *conn = tcp_conn_of(cmd->flow_id);
	if (!conn->in_use || conn->releasing || !conn->announced ||
	    conn->app_gone || conn->app != app || conn->app_done)
		return NULL;
	if (tcp_flow_of(conn)->flow_gen != cmd->flow_gen)
		return NULL;
	return conn;
}

/* Queue our FIN behind the committed data (the fast path sends it). */
static void send_fin(struct tcp_conn *conn)
{
	tcp_conn_command(conn, FP_CMD_FLOW_FIN);
	conn->state = tcp_state_after(conn->state, TCP_EV_SEND_FIN);
}

static int32_t shutdown_flow(struct tcp_conn *conn, uint32_t how)
{
	if (how == 0 || (how & ~(TAS_SHUT_RD | TAS_SHUT_WR)) != 0)
		return -EINVAL;
	if (conn->reset_sent_to_app || conn->state == TCP_CLOSED)
		return -ENOTCONN;
	/* SHUT_RD changes nothing on the wire; the application just stops
	 * reading. */
	if ((how & TAS_SHUT_WR) && tcp_state_can_send_fin(conn->state) &&
	    conn->installed && !conn->removing) {
		send_fin(conn);
		tcp_conn_progress_close(conn);
	}
	return 0;
}

/* CLOSE: the application is done with the flow.  The FIN goes out after
 * the data; CLOSED follows once both FINs are exchanged (tcp_timers.c
 * resets the connection if data keeps arriving that nobody will read). */
void tcp_app_close_flow(struct tcp_conn *conn)
{
	conn->app_done = true;
	conn->app_closed_us = fp_now_us();
	if (tcp_state_can_send_fin(conn->state) && conn->installed &&
	    !conn->removing)
		send_fin(conn);
	if (conn->state == TCP_FIN_WAIT_2)
		conn->fin_wait_2_us = conn->app_closed_us;
	tcp_conn_progress_close(conn);
}

/* ABORT: RST to the peer, CLOSED once the fast path let go. */
void tcp_app_abort_flow(struct tcp_conn *conn)
{
	conn->app_done = true;
	if (conn->installed && !tcp_state_is_finished(conn->state))
		conn->rst_on_remove = true;
	conn->state = TCP_CLOSED;
	tcp_conn_progress_close(conn);
}

static void flow_command(struct app *app, uint16_t ctx_id,
			 const struct tas_app_cmd *cmd)
{
	int32_t status;
	struct tcp_conn *conn = conn_of_command(app, cmd, &status);

	if (conn == NULL) {
		command_error(app, ctx_id, cmd, status);
		return;
	}
	if (cmd->type == TAS_CMD_ADOPT) {
		status = tcp_copies_adopt(app, ctx_id, conn, cmd->cookie);
		if (status != 0)
			command_error(app, ctx_id, cmd, status);
		return;
	}
	/* Adopted by another context (fork): the old one learns it from
	 * TAS_EVT_LEFT; what it sent before that is not its to do. */
	if (conn->ctx_id != ctx_id)
		return;
	switch (cmd->type) {
	case TAS_CMD_SHUTDOWN:
		status = shutdown_flow(conn, cmd->value);
		if (status != 0)
			command_error(app, ctx_id, cmd, status);
		break;
	case TAS_CMD_CLOSE:
		if (!tcp_copies_release(conn, false))
			tcp_app_close_flow(conn);
		break;
	case TAS_CMD_ABORT:
		if (!tcp_copies_release(conn, true))
			tcp_app_abort_flow(conn);
		break;
	case TAS_CMD_SET_OPTION:
		status = tcp_conn_set_option(conn, cmd->value, cmd->cookie);
		if (status != 0)
			command_error(app, ctx_id, cmd, status);
		break;
	}
}

void tcp_app_command(struct service *svc, struct app *app, uint16_t ctx_id,
		     const struct tas_app_cmd *cmd)
{
	(void)svc;
	switch (cmd->type) {
	case TAS_CMD_LISTEN:
		tcp_listen_command(app, ctx_id, cmd);
		break;
	case TAS_CMD_LISTEN_CLOSE:
		tcp_listen_close_command(app, ctx_id, cmd);
		break;
	case TAS_CMD_ACCEPT:
		tcp_accept_command(app, ctx_id, cmd);
		break;
	case TAS_CMD_CONNECT:
		tcp_connect_command(app, ctx_id, cmd);
		break;
	case TAS_CMD_SHUTDOWN:
	case TAS_CMD_CLOSE:
	case TAS_CMD_ABORT:
	case TAS_CMD_ADOPT:
	case TAS_CMD_SET_OPTION:
		flow_command(app, ctx_id, cmd);
		break;
	default:
		command_error(app, ctx_id, cmd, -EINVAL);
	}
}

/* Nobody is left to tell about conn: it goes, with a RST to a peer that
 * knows it.  One the application had closed in order finishes closing
 * (FIN after the data), as Linux's orphaned sockets do: a process may
 * close and exit at once. */
static void abandon(struct tcp_conn *conn)
{
	bool closing = conn->app_done && !conn->rst_on_remove &&
		       conn->state != TCP_CLOSED && conn->state != TCP_SYN_SENT;

	conn->app_gone = true;
	conn->app_done = true;
	if (closing)
		return;
	if (conn->state == TCP_SYN_SENT)
		tcp_conn_drop(conn, false);
	else
		tcp_app_abort_flow(conn);
}

/* The context a connection's events go to is set by a connect, or by the
 * accept that took it off its listener. */
static bool in_contexts(const struct tcp_conn *conn, uint32_t contexts)
{
	return (conn->announced || conn->state == TCP_SYN_SENT) &&
	       (contexts & (1u << conn->ctx_id)) != 0;
}

void tcp_app_gone(struct service *svc, struct app *app)
{
	(void)svc;
	tcp_listen_app_gone(app);
	tcp_deliver_forget(app, TCP_ALL_CONTEXTS);
	/* Backwards: releasing a connection moves the last entry into i. */
	for (uint32_t i = tcp_sp.active_count; i-- > 0;) {
		struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);
		if (conn->app == app)
			abandon(conn);
	}
}

void tcp_app_contexts_gone(struct service *svc, struct app *app,
			   uint32_t contexts)
{
	(void)svc;
	tcp_listen_contexts_gone(app, contexts);
	tcp_deliver_forget(app, contexts);
	for (uint32_t i = tcp_sp.active_count; i-- > 0;) {
		struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);
		if (conn->app != app || !in_contexts(conn, contexts))
			continue;
		/* As an exit closes a process's descriptors: the copies other
		 * processes hold keep the connection open. */
		if (!conn->owner_released && !tcp_copies_release(conn, false))
			abandon(conn);
	}
}

bool tcp_app_context_busy(const struct app *app, uint16_t ctx_id)
{
	for (uint32_t i = 0; i < tcp_sp.active_count; i++) {
		const struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);
		if (conn->app == app && (conn->contexts_seen & (1u << ctx_id)) &&
		    (conn->installed || conn->removing))
			return true;
	}
	return false;
}

void tcp_shutdown_all(struct service *svc)
{
	(void)svc;
	for (uint32_t i = 0; i < tcp_sp.active_count; i++) {
		struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);
		bool peer_knows_us = conn->state == TCP_SYN_RECEIVED ||
				     (conn->installed && !conn->removing &&
				      !tcp_state_is_finished(conn->state));
		if (peer_knows_us)
			tcp_output_flow_rst(conn);
	}
}
