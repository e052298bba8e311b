/*
 * What the fast path hands the slow path: received frames it does not
 * handle (RFC 9293 section 3.10.7 "SEGMENT ARRIVES", dispatched by the
 * state of the connection the segment belongs to, with RFC 5961 for RST
 * and SYN in synchronized states and RFC 6191 for SYNs meeting TIME-WAIT)
 * and notifications about installed flows.
 */
#include <errno.h>

#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "arp.h"
#include "fastpath.h"
#include "log.h"
#include "packet.h"
#include "tcp.h"
#include "tcp_conn.h"
#include "tcp_connect.h"
#include "tcp_listen.h"
#include "tcp_output.h"
#include "tcp_time_wait.h"

/*
 * A segment of an installed flow that the fast path could not process:
 * a RST or SYN, options it does not read, a FIN it could not consume.
 * RFC 9293 section 3.10.7.4 for the synchronized states.
 */
static void synchronized_input(struct tcp_conn *conn, const struct pkt_info *pkt)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	uint32_t rcv_nxt = flow_read32(&flow->rx_next_seq);
	uint32_t rcv_wnd = flow_read32(&flow->rx_avail);

	/* Second, check the RST bit (RFC 5961 section 3.2). */
	if (pkt->flags & RTE_TCP_RST_FLAG) {
		switch (tcp_rst_action(pkt->seq, rcv_nxt, rcv_wnd)) {
		case TCP_RST_RESET:
			tcp_conn_reset(conn, -ECONNRESET, false);
			break;
		case TCP_RST_CHALLENGE:
			tcp_output_challenge_ack(conn);
			break;
		case TCP_RST_DROP:
			break;
		}
		return;
	}
	/* Fourth, check the SYN bit: whatever its sequence number, a
	 * challenge ACK (RFC 5961 section 4).  It also answers a
	 * retransmitted SYN-ACK whose ACK from us was lost. */
	if (pkt->flags & RTE_TCP_SYN_FLAG) {
		tcp_output_challenge_ack(conn);
		return;
	}
	/* Options the fast path does not read, or a FIN it could not
	 * consume: the receive buffer is the fast path's, so the segment is
	 * dropped and an ACK makes the peer send it again (rare).  An ACK is
	 * never answered with an ACK. */
	if (tcp_segment_len(pkt->flags, pkt->payload_len) > 0)
		tcp_output_flow_ack(conn);
}

/* A SYN that may reopen a 4-tuple in TIME-WAIT. */
static bool syn_reopens(const struct time_wait *tw, const struct pkt_info *pkt)
{
	struct tcp_options options;

	if (tcp_options_parse(pkt->options, pkt->options_len, &options) != 0)
		return false;
	return tcp_time_wait_accepts_syn(pkt->seq, tw->rcv_nxt,
					 options.has_timestamp, options.ts_val,
					 tw->timestamps, tw->ts_recent);
}

/* TIME-WAIT (RFC 9293 section 3.10.7.4); true if the segment is a SYN
 * that ended TIME-WAIT and should open a new connection. */
static bool time_wait_input(struct time_wait *tw, const struct pkt_info *pkt)
{
	/* Second, the RST bit: only an exact one ends TIME-WAIT (RFC 5961). */
	if (pkt->flags & RTE_TCP_RST_FLAG) {
		if (pkt->seq == tw->rcv_nxt)
			time_wait_remove(tw);
		return false;
	}
	/* Fourth, the SYN bit: a new incarnation may start (RFC 6191), any
	 * other SYN gets a challenge ACK. */
	if ((pkt->flags & RTE_TCP_SYN_FLAG) && !(pkt->flags & RTE_TCP_ACK_FLAG) &&
	    syn_reopens(tw, pkt)) {
		time_wait_remove(tw);
		return true;
	}
	/* Eighth, the FIN bit: acknowledge it and restart the 2 MSL
	 * timeout.  Other segments with a length get an ACK too. */
	if (pkt->flags & RTE_TCP_FIN_FLAG)
		time_wait_restart(tw, fp_now_us());
	if ((pkt->flags & RTE_TCP_SYN_FLAG) ||
	    tcp_segment_len(pkt->flags, pkt->payload_len) > 0)
		tcp_output_time_wait_ack(tcp_sp.svc, tw);
	return false;
}

/* A segment of no installed flow.  true if m was consumed. */
static bool unsynchronized_input(struct service *svc, const struct pkt_info *pkt,
				 const struct flow_key *key, uint32_t hash,
				 struct rte_mbuf *m)
{
	struct tcp_conn *conn = tcp_conn_lookup_pending(key, hash);
	if (conn != NULL) {
		if (conn->state == TCP_SYN_SENT) {
			tcp_syn_sent_input(conn, pkt);
			return false;
		}
		return tcp_syn_received_input(conn, pkt, m);
	}

	struct time_wait *tw = time_wait_lookup(key, hash);
	if (tw != NULL && !time_wait_input(tw, pkt))
		return false;

	if (tcp_listen_input(pkt))
		return false;
	/* CLOSED: every segment but a RST is answered with a RST. */
	tcp_output_reset_reply(svc, pkt);
	return false;
}

static bool segment_input(struct service *svc, const struct pkt_info *pkt,
			  struct rte_mbuf *m, enum sp_exception_reason reason)
{
	struct flow_key key;

	tcp_key_of_segment(pkt, &key);
	uint32_t hash = flow_key_hash(&key);
	int64_t id = flow_table_lookup(svc->flow_table, &key, hash);
	if (id < 0)
		return unsynchronized_input(svc, pkt, &key, hash, m);

	struct tcp_conn *conn = tcp_conn_of((uint32_t)id);
	if (!conn->installed || conn->removing)
		return false;
	/* Installed after the fast path looked: it can handle it now. */
	if (reason == SP_EXC_NO_FLOW)
		return tcp_conn_redirect(conn, m);
	synchronized_input(conn, pkt);
	return false;
}

void tcp_handle_exception(struct service *svc, struct rte_mbuf *m,
			  enum sp_exception_reason reason)
{
	struct pkt_info pkt;
	bool consumed = false;

	/* The fast path validated lengths and checksums before handing the
	 * frame over; parsing again only recovers the pointers. */
	enum pkt_verdict verdict = m->nb_segs == 1 ?
		pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *),
			  rte_pktmbuf_data_len(m), false, &pkt) :
		PKT_BAD_LENGTH;

	if (verdict == PKT_ARP)
		arp_input(svc, &pkt, fp_now_us());
	else if (verdict == PKT_TCP && pkt.ip->dst_addr == svc->cfg.local_ip)
		consumed = segment_input(svc, &pkt, m, reason);
	else if (verdict != PKT_OTHER)
		tcp_sp.stats.bad_segments++;
	if (!consumed)
		rte_pktmbuf_free(m);
}

static void fin_event(struct tcp_conn *conn, enum tcp_close_event event)
{
	if (!conn->installed || conn->removing)
		return;
	conn->state = tcp_state_after(conn->state, event);
	if (conn->state == TCP_FIN_WAIT_2)
		conn->fin_wait_2_us = fp_now_us();
	tcp_conn_progress_close(conn);
}

void tcp_handle_notify(struct service *svc, const struct sp_notify *n)
{
	if (n->type == SP_NOTIFY_APP_ERROR) {
		log_warn("tcp: application %u sent an invalid command to core %u",
			 n->value, n->core);
		return;
	}
	if (n->flow_id >= svc->cfg.max_flows)
		return;
	struct tcp_conn *conn = tcp_conn_of(n->flow_id);
	if (!conn->in_use || conn->releasing)
		return;

	switch (n->type) {
	case SP_NOTIFY_RX_FIN:
		fin_event(conn, TCP_EV_RECV_FIN);
		break;
	case SP_NOTIFY_TX_FIN_ACKED:
		fin_event(conn, TCP_EV_FIN_ACKED);
		break;
	case SP_NOTIFY_FLOW_REMOVED:
		tcp_conn_removed(conn);
		break;
	default:
		log_warn("tcp: unknown notification %u from core %u", n->type,
			 n->core);
	}
}
