/*
 * Passive open: listeners, LISTEN and SYN-RECEIVED processing (RFC 9293
 * sections 3.5, 3.10.7.2 and 3.10.7.4), RFC 5961 challenge ACKs, RFC 6528
 * ISNs, option negotiation (RFC 7323, RFC 2018), the backlog and accepts.
 */
#include "tcp_listen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "app_registry.h"
#include "fastpath.h"
#include "log.h"
#include "packet.h"
#include "tcp_conn.h"
#include "tcp_deliver.h"
#include "tcp_output.h"

struct accept_request {
	uint16_t ctx_id;
	uint64_t cookie;
};

struct tcp_listener {
	bool in_use;
	uint16_t port;                /* network byte order */
	bool local_only;              /* bound to loopback: this host's
				       * connections only */
	struct app *app;
	uint16_t ctx_id;              /* the context that listens */
	uint32_t gen;
	uint32_t backlog;
	uint32_t half_open;           /* SYN-RECEIVED connections */
	uint32_t ready_count;         /* established, not accepted */
	uint32_t ready_head;          /* flow ids, oldest first */
	uint32_t ready_tail;
	struct accept_request *requests; /* ring of TCP_MAX_ACCEPT_REQUESTS */
	uint32_t request_head;
	uint32_t request_count;
};

#define PORT_FREE 0u

static struct {
	struct tcp_listener *listeners;       /* [TCP_MAX_LISTENERS] */
	uint16_t *index_by_port;              /* host order port -> index + 1 */
} ls;

int tcp_listen_init(void)
{
	ls.listeners = calloc(TCP_MAX_LISTENERS, sizeof(*ls.listeners));
	ls.index_by_port = calloc(UINT16_MAX + 1u, sizeof(*ls.index_by_port));
	if (ls.listeners == NULL || ls.index_by_port == NULL) {
		tcp_listen_fini();
		return -ENOMEM;
	}
	return 0;
}

void tcp_listen_fini(void)
{
	if (ls.listeners != NULL)
		for (uint32_t i = 0; i < TCP_MAX_LISTENERS; i++)
			free(ls.listeners[i].requests);
	free(ls.listeners);
	free(ls.index_by_port);
	ls.listeners = NULL;
	ls.index_by_port = NULL;
}

static struct tcp_listener *listener_on_port(uint16_t port)
{
	uint16_t slot = ls.index_by_port[rte_be_to_cpu_16(port)];

	return slot == PORT_FREE ? NULL : &ls.listeners[slot - 1];
}

bool tcp_listen_port_used(uint16_t port)
{
	return listener_on_port(port) != NULL;
}

static uint32_t listener_index(const struct tcp_listener *listener)
{
	return (uint32_t)(listener - ls.listeners);
}

static void send_listen_event(struct app *app, uint16_t ctx_id, uint16_t type,
			      int32_t status, const struct tas_app_cmd *cmd,
			      const struct tcp_listener *listener)
{
	struct tas_app_event ev = {
		.type = type,
		.status = status,
		.flow_id = cmd->flow_id,
		.cookie = cmd->cookie,
		.value = cmd->type,
		.local_ip = tcp_sp.svc->cfg.local_ip,
		.local_port = cmd->port,
	};
	if (listener != NULL) {
		ev.flow_id = listener_index(listener);
		ev.flow_gen = listener->gen;
		ev.value = 0;
	}
	tcp_send_event(app, ctx_id, &ev);
}

/* ---- the ready list: established connections waiting for an accept ---- */

static void ready_append(struct tcp_listener *listener, struct tcp_conn *conn)
{
	conn->ready_prev = listener->ready_tail;
	conn->ready_next = TCP_NO_FLOW;
	if (listener->ready_tail != TCP_NO_FLOW)
		tcp_conn_of(listener->ready_tail)->ready_next = conn->flow_id;
	else
		listener->ready_head = conn->flow_id;
	listener->ready_tail = conn->flow_id;
	listener->ready_count++;
	conn->in_ready_list = true;
}

static void ready_unlink(struct tcp_listener *listener, struct tcp_conn *conn)
{
	if (conn->ready_prev != TCP_NO_FLOW)
		tcp_conn_of(conn->ready_prev)->ready_next = conn->ready_next;
	else
		listener->ready_head = conn->ready_next;
	if (conn->ready_next != TCP_NO_FLOW)
		tcp_conn_of(conn->ready_next)->ready_prev = conn->ready_prev;
	else
		listener->ready_tail = conn->ready_prev;
	conn->ready_prev = conn->ready_next = TCP_NO_FLOW;
	listener->ready_count--;
	conn->in_ready_list = false;
}

void tcp_listen_forget(struct tcp_conn *conn)
{
	if (conn->listener == TCP_NO_LISTENER)
		return;
	struct tcp_listener *listener = &ls.listeners[conn->listener];
	if (conn->in_ready_list)
		ready_unlink(listener, conn);
	else if (conn->state == TCP_SYN_RECEIVED)
		listener->half_open--;
	conn->listener = TCP_NO_LISTENER;
}

/* Give ready connections to waiting accept requests, oldest first. */
static void match_accepts(struct tcp_listener *listener)
{
	while (listener->ready_count > 0 && listener->request_count > 0) {
		struct accept_request request =
			listener->requests[listener->request_head];
		listener->request_head =
			(listener->request_head + 1) % TCP_MAX_ACCEPT_REQUESTS;
		listener->request_count--;
		/* The context may have gone since it asked. */
		if (!app_context_valid(listener->app, request.ctx_id))
			continue;

		struct tcp_conn *conn = tcp_conn_of(listener->ready_head);
		ready_unlink(listener, conn);
		conn->listener = TCP_NO_LISTENER;
		tcp_conn_announce(conn, request.ctx_id, TAS_EVT_ACCEPTED,
				  request.cookie);
	}
}

/* ---- application commands ---- */

void tcp_listen_command(struct app *app, uint16_t ctx_id,
			const struct tas_app_cmd *cmd)
{
	const struct service_config *cfg = &tcp_sp.svc->cfg;
	uint16_t host_port = rte_be_to_cpu_16(cmd->port);
	int32_t status = 0;

	bool local_only = cmd->ip == rte_cpu_to_be_32(RTE_IPV4_LOOPBACK);

	if (cmd->ip != 0 && cmd->ip != cfg->local_ip && !local_only)
		status = -EADDRNOTAVAIL;
	else if (host_port == 0)
		status = -EINVAL;
	else if (ls.index_by_port[host_port] != PORT_FREE)
		status = -EADDRINUSE;
	if (status != 0) {
		send_listen_event(app, ctx_id, TAS_EVT_LISTEN_DONE, status, cmd, NULL);
		return;
	}

	struct tcp_listener *listener = NULL;
	for (uint32_t i = 0; i < TCP_MAX_LISTENERS && listener == NULL; i++)
		if (!ls.listeners[i].in_use)
			listener = &ls.listeners[i];
	struct accept_request *requests =
		listener == NULL ? NULL
				 : calloc(TCP_MAX_ACCEPT_REQUESTS, sizeof(*requests));
	if (requests == NULL) {
		send_listen_event(app, ctx_id, TAS_EVT_LISTEN_DONE, -ENOBUFS, cmd, NULL);
		return;
	}

	uint32_t backlog = cmd->value;
	if (backlog == 0)
		backlog = 1;
	if (backlog > TCP_MAX_BACKLOG)
		backlog = TCP_MAX_BACKLOG;
	free(listener->requests);
	*listener = (struct tcp_listener){
		.in_use = true,
		.port = cmd->port,
		.local_only = local_only,
		.app = app,
		.ctx_id = ctx_id,
		.gen = listener->gen + 1,
		.backlog = backlog,
		.ready_head = TCP_NO_FLOW,
		.ready_tail = TCP_NO_FLOW,
		.requests = requests,
	};
	ls.index_by_port[host_port] = (uint16_t)(listener_index(listener) + 1);
	send_listen_event(app, ctx_id, TAS_EVT_LISTEN_DONE, 0, cmd, listener);
}

/* The listener of a command: NULL if the id is not a listener of app. */
static struct tcp_listener *listener_of_command(const struct app *app,
						const struct tas_app_cmd *cmd)
{
	if (cmd->flow_id >= TCP_MAX_LISTENERS)
		return NULL;
	struct tcp_listener *listener = &ls.listeners[cmd->flow_id];
	return listener->in_use && listener->app == app ? listener : NULL;
}

static void close_listener(struct tcp_listener *listener)
{
	uint32_t index = listener_index(listener);

	/* Half-open and unaccepted connections die with the listener, as
	 * with close() of a listening socket: the peers get a RST.  Walk
	 * backwards: dropping may move the last entry into slot i. */
	for (uint32_t i = tcp_sp.active_count; i-- > 0;) {
		struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);
		if (conn->listener == index)
			tcp_conn_drop(conn, true);
	}
	ls.index_by_port[rte_be_to_cpu_16(listener->port)] = PORT_FREE;
	free(listener->requests);
	listener->requests = NULL;
	listener->in_use = false;
	listener->app = NULL;
}

void tcp_listen_close_command(struct app *app, uint16_t ctx_id,
			      const struct tas_app_cmd *cmd)
{
	struct tcp_listener *listener = listener_of_command(app, cmd);

	if (listener == NULL) {
		send_listen_event(app, ctx_id, TAS_EVT_ERROR, -EBADF, cmd, NULL);
		return;
	}
	close_listener(listener);
}

void tcp_accept_command(struct app *app, uint16_t ctx_id,
			const struct tas_app_cmd *cmd)
{
	struct tcp_listener *listener = listener_of_command(app, cmd);

	if (listener == NULL) {
		send_listen_event(app, ctx_id, TAS_EVT_ERROR, -EBADF, cmd, NULL);
		return;
	}
	if (listener->request_count == TCP_MAX_ACCEPT_REQUESTS) {
		send_listen_event(app, ctx_id, TAS_EVT_ERROR, -ENOBUFS, cmd, NULL);
		return;
	}
	uint32_t slot = (listener->request_head + listener->request_count) %
			TCP_MAX_ACCEPT_REQUESTS;
	listener->requests[slot] = (struct accept_request){
		.ctx_id = ctx_id,
		.cookie = cmd->cookie,
	};
	listener->request_count++;
	match_accepts(listener);
}

/* Keep the requests of contexts not in the set, in order. */
static void drop_requests(struct tcp_listener *listener, uint32_t contexts)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < listener->request_count; i++) {
		struct accept_request request =
			listener->requests[(listener->request_head + i) %
					   TCP_MAX_ACCEPT_REQUESTS];
		if (contexts & (1u << request.ctx_id))
			continue;
		listener->requests[(listener->request_head + kept) %
				   TCP_MAX_ACCEPT_REQUESTS] = request;
		kept++;
	}
	listener->request_count = kept;
}

void tcp_listen_contexts_gone(struct app *app, uint32_t contexts)
{
	for (uint32_t i = 0; i < TCP_MAX_LISTENERS; i++)
		if (ls.listeners[i].in_use && ls.listeners[i].app == app)
			drop_requests(&ls.listeners[i], contexts);
}

void tcp_listen_app_gone(struct app *app)
{
	for (uint32_t i = 0; i < TCP_MAX_LISTENERS; i++)
		if (ls.listeners[i].in_use && ls.listeners[i].app == app)
			close_listener(&ls.listeners[i]);
}

/* ---- LISTEN state (RFC 9293 section 3.10.7.2) ---- */

static bool backlog_full(const struct tcp_listener *listener)
{
	return listener->half_open >= listener->backlog ||
	       listener->ready_count >= listener->backlog;
}

/* Until the connection is installed, flows[id] holds what ACKs and RSTs
 * sent during the handshake need. */
static void prepare_handshake_flow(struct tcp_conn *conn,
				   const struct pkt_info *pkt)
{
	struct flow_state *flow = tcp_flow_of(conn);

	flow->rx_next_seq = conn->irs + 1;
	flow->tx_next_seq = conn->iss + 1;
	flow->rx_avail = tcp_sp.svc->cfg.rx_buf_size;
	flow->rcv_wscale = conn->negotiated.rcv_wscale;
	flow->flags = conn->negotiated.timestamps ? FLOW_F_TIMESTAMPS : 0;
	flow->ts_recent = conn->peer_syn.ts_val;
	memcpy(flow->remote_mac, pkt->eth->src_addr.addr_bytes,
	       sizeof(flow->remote_mac));
}

static void open_passive(struct tcp_listener *listener, const struct pkt_info *pkt)
{
	struct tcp_options options;
	struct flow_key key;

	if (tcp_options_parse(pkt->options, pkt->options_len, &options) != 0) {
		tcp_sp.stats.bad_segments++;
		return;
	}
	tcp_key_of_segment(pkt, &key);
	struct tcp_conn *conn = tcp_conn_create(&key);
	if (conn == NULL) {
		tcp_sp.stats.syns_dropped++;
		return;
	}
	uint64_t now_us = fp_now_us();
	conn->state = TCP_SYN_RECEIVED;
	conn->app = listener->app;
	conn->app_id = app_id(listener->app);
	conn->listener = listener_index(listener);
	/* Set RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, select an ISS. */
	conn->irs = pkt->seq;
	conn->iss = isn_generate(&tcp_sp.isn_secret, &key, now_us);
	conn->peer_syn = options;
	tcp_negotiate(&tcp_sp.local_options, &options, &conn->negotiated);
	conn->negotiated.ecn = tcp_ecn_setup_syn(pkt->flags);
	prepare_handshake_flow(conn, pkt);
	listener->half_open++;
	if (tcp_conn_add_pending(conn) != 0) {
		tcp_conn_drop(conn, false);
		return;
	}
	/* Send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.  Data on the SYN is not
	 * kept: the peer sends it again once we acknowledge only the SYN. */
	tcp_output_syn(conn);
	conn->handshake_tries = 1;
	conn->timer_backoff_us = TCP_RTO_INITIAL_US;
	conn->timer_us = now_us + conn->timer_backoff_us;
}

bool tcp_listen_input(const struct pkt_info *pkt)
{
	struct tcp_listener *listener = listener_on_port(pkt->tcp->dst_port);

	/* A loopback listener does not exist for other hosts. */
	if (listener == NULL ||
	    (listener->local_only && pkt->ip->src_addr != tcp_sp.svc->cfg.local_ip))
		return false;
	/* First, check for a RST: an incoming RST is ignored. */
	if (pkt->flags & RTE_TCP_RST_FLAG)
		return true;
	/* Second, check for an ACK: <SEQ=SEG.ACK><CTL=RST>. */
	if (pkt->flags & RTE_TCP_ACK_FLAG) {
		tcp_output_reset_reply(tcp_sp.svc, pkt);
		return true;
	}
	/* Third, check for a SYN (a SYN+FIN is no honest opening). */
	if (!(pkt->flags & RTE_TCP_SYN_FLAG) || (pkt->flags & RTE_TCP_FIN_FLAG))
		return true;
	if (backlog_full(listener)) {
		tcp_sp.stats.syns_dropped++;
		return true;
	}
	open_passive(listener, pkt);
	return true;
}

/* ---- SYN-RECEIVED (RFC 9293 section 3.10.7.4) ---- */

/* The ACK completed the handshake: install the flow, queue it for an
 * accept.  false if the connection could not be kept. */
static bool establish_passive(struct tcp_conn *conn, const struct pkt_info *pkt)
{
	struct tcp_listener *listener = &ls.listeners[conn->listener];
	struct tcp_options options;

	if (tcp_conn_alloc_buffers(conn) != 0)
		return false;
	if (conn->negotiated.timestamps &&
	    tcp_options_parse(pkt->options, pkt->options_len, &options) == 0 &&
	    options.has_timestamp)
		tcp_flow_of(conn)->ts_recent = options.ts_val;

	/* The window of a non-SYN segment is scaled (RFC 7323 section 2.3). */
	uint32_t snd_wnd = (uint32_t)pkt->window << conn->negotiated.snd_wscale;
	listener->half_open--;
	conn->state = TCP_ESTABLISHED;
	conn->timer_us = 0;
	if (tcp_conn_install(conn, snd_wnd) != 0) {
		conn->state = TCP_SYN_RECEIVED;
		listener->half_open++;
		return false;
	}
	ready_append(listener, conn);
	match_accepts(listener);
	return true;
}

bool tcp_syn_received_input(struct tcp_conn *conn, const struct pkt_info *pkt,
			    struct rte_mbuf *m)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	uint32_t seg_len = tcp_segment_len(pkt->flags, pkt->payload_len);
	bool syn = pkt->flags & RTE_TCP_SYN_FLAG;
	bool rst = pkt->flags & RTE_TCP_RST_FLAG;

	/* The peer's SYN again: our SYN-ACK was lost. */
	if (syn && !(pkt->flags & RTE_TCP_ACK_FLAG) && pkt->seq == conn->irs) {
		tcp_output_syn(conn);
		return false;
	}
	/* First, check sequence number. */
	if (!tcp_segment_acceptable(pkt->seq, seg_len, flow->rx_next_seq,
				    flow->rx_avail)) {
		if (!rst)
			tcp_output_challenge_ack(conn);
		return false;
	}
	/* Second, check the RST bit (RFC 5961 section 3.2).  A passively
	 * opened connection just goes away: the listener stays. */
	if (rst) {
		enum tcp_rst_action action =
			tcp_rst_action(pkt->seq, flow->rx_next_seq, flow->rx_avail);
		if (action == TCP_RST_RESET)
			tcp_conn_drop(conn, false);
		else if (action == TCP_RST_CHALLENGE)
			tcp_output_challenge_ack(conn);
		return false;
	}
	/* Fourth, check the SYN bit (RFC 5961 section 4). */
	if (syn) {
		tcp_output_challenge_ack(conn);
		return false;
	}
	/* Fifth, check the ACK field. */
	if (!(pkt->flags & RTE_TCP_ACK_FLAG))
		return false;
	if (pkt->ack != conn->iss + 1) {
		tcp_output_reset_reply(tcp_sp.svc, pkt);
		return false;
	}
	/* A full accept queue drops the ACK; the peer's retransmission or
	 * ours of the SYN-ACK tries again later (as Linux does). */
	if (ls.listeners[conn->listener].ready_count >=
	    ls.listeners[conn->listener].backlog)
		return false;
	if (!establish_passive(conn, pkt)) {
		tcp_conn_drop(conn, true);
		return false;
	}
	/* Sixth and on (URG, text, FIN): the fast path owns the flow now;
	 * hand it the segment if there is anything in it for it. */
	if (pkt->payload_len > 0 || (pkt->flags & RTE_TCP_FIN_FLAG))
		return tcp_conn_redirect(conn, m);
	return false;
}

void tcp_syn_received_timeout(struct tcp_conn *conn, uint64_t now_us)
{
	if (conn->handshake_tries > TCP_SYNACK_RETRIES) {
		tcp_conn_drop(conn, false);
		return;
	}
	tcp_output_syn(conn);
	conn->handshake_tries++;
	conn->timer_backoff_us *= 2;
	conn->timer_us = now_us + conn->timer_backoff_us;
}
