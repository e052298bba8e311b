/*
 * Active open: RFC 9293 sections 3.5 and 3.10.7.3 (SYN-SENT), RFC 6528
 * ISNs, RFC 6056 ephemeral ports, RFC 6298 SYN back-off, RFC 7323 and
 * RFC 2018 options, ARP (RFC 826) for the next hop.
 */
#include "tcp_connect.h"

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_tcp.h>

#include "app_registry.h"
#include "arp.h"
#include "fastpath.h"
#include "packet.h"
#include "tcp_conn.h"
#include "tcp_deliver.h"
#include "tcp_listen.h"
#include "tcp_output.h"

#define IPV4_MULTICAST_FIRST_OCTET 224u

static void report_failure(struct app *app, uint16_t ctx_id,
			   const struct tas_app_cmd *cmd, int32_t status)
{
	struct tas_app_event ev = {
		.type = TAS_EVT_CONNECT_FAILED,
		.status = status,
		.cookie = cmd->cookie,
		.value = cmd->type,
		.local_ip = tcp_sp.svc->cfg.local_ip,
		.remote_ip = cmd->ip,
		.remote_port = cmd->port,
	};

	tcp_send_event(app, ctx_id, &ev);
}

/* The connection failed before the application got it: tell it, forget
 * the connection. */
static void fail_connection(struct tcp_conn *conn, int32_t status)
{
	struct tas_app_cmd cmd = {
		.type = TAS_CMD_CONNECT,
		.ip = conn->key.remote_ip,
		.port = conn->key.remote_port,
		.cookie = conn->cookie,
	};

	if (!conn->app_gone)
		report_failure(conn->app, conn->ctx_id, &cmd, status);
	tcp_conn_drop(conn, false);
}

static bool is_unicast_destination(uint32_t ip)
{
	uint32_t host = rte_be_to_cpu_32(ip);

	return host != 0 && host != UINT32_MAX &&
	       (host >> 24) < IPV4_MULTICAST_FIRST_OCTET;
}

/* RFC 6056 section 3.3.3: a per-destination offset plus a global counter;
 * the first port whose 4-tuple no connection, TIME-WAIT entry or listener
 * uses. */
static int pick_local_port(struct flow_key *key)
{
	const uint32_t count = TCP_EPHEMERAL_LAST - TCP_EPHEMERAL_FIRST + 1;
	uint32_t offset = ephemeral_port_offset(&tcp_sp.port_secret, key->local_ip,
						key->remote_ip, key->remote_port);

	for (uint32_t i = 0; i < count; i++) {
		uint32_t port = TCP_EPHEMERAL_FIRST +
				(offset + tcp_sp.port_counter + i) % count;
		key->local_port = rte_cpu_to_be_16((uint16_t)port);
		if (!tcp_listen_port_used(key->local_port) && !tcp_key_in_use(key)) {
			tcp_sp.port_counter += i + 1;
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

/* Send <SEQ=ISS><CTL=SYN> and arm the retransmission timer. */
static void send_first_syn(struct tcp_conn *conn, const struct rte_ether_addr *mac)
{
	memcpy(tcp_flow_of(conn)->remote_mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	conn->arp_waiting = false;
	tcp_output_syn(conn);
	conn->handshake_tries = 1;
	conn->timer_backoff_us = TCP_RTO_INITIAL_US;
	conn->timer_us = fp_now_us() + conn->timer_backoff_us;
}

static int start_connection(struct app *app, uint16_t ctx_id,
			    const struct tas_app_cmd *cmd)
{
	struct service *svc = tcp_sp.svc;
	struct flow_key key = {
		.local_ip = svc->cfg.local_ip,
		.remote_ip = cmd->ip,
		.remote_port = cmd->port,
	};
	uint32_t next_hop;

	if (!is_unicast_destination(cmd->ip) || cmd->port == 0)
		return -EINVAL;
	if (arp_next_hop(svc, cmd->ip, &next_hop) != 0)
		return -ENETUNREACH;
	int ret = pick_local_port(&key);
	if (ret != 0)
		return ret;
	struct tcp_conn *conn = tcp_conn_create(&key);
	if (conn == NULL)
		return -ENOBUFS;

	uint64_t now_us = fp_now_us();
	conn->state = TCP_SYN_SENT;
	conn->app = app;
	conn->app_id = app_id(app);
	conn->ctx_id = ctx_id;
	conn->cookie = cmd->cookie;
	conn->next_hop = next_hop;
	conn->iss = isn_generate(&tcp_sp.isn_secret, &key, now_us);
	tcp_flow_of(conn)->tx_next_seq = conn->iss + 1;
	ret = tcp_conn_alloc_buffers(conn);
	if (ret == 0)
		ret = tcp_conn_add_pending(conn);
	if (ret != 0) {
		tcp_conn_drop(conn, false);
		return ret;
	}

	struct rte_ether_addr mac;
	ret = arp_resolve(svc, next_hop, &mac, now_us);
	if (ret == 0) {
		send_first_syn(conn, &mac);
	} else if (ret == -EAGAIN) {
		conn->arp_waiting = true;
	} else {
		tcp_conn_drop(conn, false);
		return -EHOSTUNREACH;
	}
	return 0;
}

void tcp_connect_command(struct app *app, uint16_t ctx_id,
			 const struct tas_app_cmd *cmd)
{
	int ret = start_connection(app, ctx_id, cmd);

	if (ret != 0)
		report_failure(app, ctx_id, cmd, ret);
}

void tcp_connect_arp_done(struct service *svc, uint32_t ip,
			  const struct rte_ether_addr *mac)
{
	(void)svc;
	/* Backwards: a failure may move the last entry into slot i. */
	for (uint32_t i = tcp_sp.active_count; i-- > 0;) {
		struct tcp_conn *conn = tcp_conn_of(tcp_sp.active[i]);
		if (!conn->arp_waiting || conn->next_hop != ip)
			continue;
		if (mac != NULL)
			send_first_syn(conn, mac);
		else
			fail_connection(conn, -EHOSTUNREACH);
	}
}

void tcp_syn_sent_timeout(struct tcp_conn *conn, uint64_t now_us)
{
	if (conn->handshake_tries > TCP_SYN_RETRIES) {
		fail_connection(conn, -ETIMEDOUT);
		return;
	}
	tcp_output_syn(conn);
	conn->handshake_tries++;
	conn->timer_backoff_us *= 2;
	conn->timer_us = now_us + conn->timer_backoff_us;
}

static void establish_active(struct tcp_conn *conn, const struct pkt_info *pkt,
			     const struct tcp_options *options)
{
	struct flow_state *flow = tcp_flow_of(conn);

	/* RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ; SND.UNA = SEG.ACK. */
	conn->irs = pkt->seq;
	flow->rx_next_seq = pkt->seq + 1;
	flow->ts_recent = options->ts_val;
	tcp_negotiate(&tcp_sp.local_options, options, &conn->negotiated);
	conn->negotiated.ecn = tcp_ecn_setup_synack(pkt->flags);
	conn->state = TCP_ESTABLISHED;
	conn->timer_us = 0;

	/* The window of a SYN-ACK is never scaled (RFC 7323 section 2.2). */
	if (tcp_conn_install(conn, pkt->window) != 0) {
		fail_connection(conn, -ENOBUFS);
		return;
	}
	/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.  Data on the SYN-ACK is not
	 * kept: acknowledging only the SYN makes the peer send it again. */
	tcp_output_flow_ack(conn);
	tcp_conn_announce(conn, conn->ctx_id, TAS_EVT_CONNECTED, conn->cookie);
}

void tcp_syn_sent_input(struct tcp_conn *conn, const struct pkt_info *pkt)
{
	bool ack = pkt->flags & RTE_TCP_ACK_FLAG;
	bool rst = pkt->flags & RTE_TCP_RST_FLAG;
	struct tcp_options options;

	/* First, check the ACK bit: ISS < SEG.ACK =< SND.NXT. */
	if (ack && !tcp_syn_sent_ack_acceptable(pkt->ack, conn->iss, conn->iss + 1)) {
		if (!rst)
			tcp_output_reset_reply(tcp_sp.svc, pkt);
		return;
	}
	/* Second, check the RST bit: only with an acceptable ACK. */
	if (rst) {
		if (ack)
			fail_connection(conn, -ECONNREFUSED);
		return;
	}
	/* Fourth, check the SYN bit; a SYN without ACK would be a
	 * simultaneous open, which is not supported. */
	if (!(pkt->flags & RTE_TCP_SYN_FLAG) || !ack)
		return;
	if (tcp_options_parse(pkt->options, pkt->options_len, &options) != 0) {
		tcp_sp.stats.bad_segments++;
		return;
	}
	establish_active(conn, pkt, &options);
}
