/*
 * The slow path's timers: handshake retransmissions (RFC 9293, RFC 6298
 * back-off), retransmission timeouts of installed flows (RFC 6298 over the
 * counters the fast path keeps), the persist timer (RFC 9293 section
 * 3.8.6.1), keepalive (RFC 9293 section 3.8.4), congestion control
 * (tcp_cc.h), FIN-WAIT-2 and unread-data
 * checks after the application closed, TIME-WAIT expiry and ARP.
 *
 * Connections are scanned once per tick from the active list, never the
 * whole flow array: every 2 ms while some flow has data in flight (the
 * control interval of congestion control), every 50 ms otherwise, which
 * still detects a first loss well within the 200 ms minimum RTO.
 */
#include <errno.h>

#include "arp.h"
#include "fastpath.h"
#include "tcp.h"
#include "tcp_conn.h"
#include "tcp_connect.h"
#include "tcp_deliver.h"
#include "tcp_listen.h"
#include "tcp_time_wait.h"

/* Also the RTO clock granularity G. */
#define TCP_TIMER_TICK_US TCP_RTO_GRANULARITY_US
#define TCP_IDLE_TICK_US 50000ull
/* Retransmission timeouts in a row before the connection is given up
 * (Linux's tcp_retries2). */
#define TCP_MAX_RTO_RETRIES 15u
/* An orphaned FIN-WAIT-2 connection is dropped after this (Linux's
 * tcp_fin_timeout). */
#define TCP_FIN_WAIT_2_TIMEOUT_US 60000000ull
/* After CLOSE, received data that is still unread this long afterwards
 * will never be read: reset (the delay lets the fast path apply the
 * application's last RX_RELEASE commands, which travel on another ring). */
#define TCP_CLOSE_UNREAD_DELAY_US 10000ull
/* What a peer may delay the ACK of a lone segment (Linux's minimum
 * delayed-ACK timeout; RFC 8985 suggests 200 ms as the worst case). */
#define TCP_PROBE_DELAYED_ACK_US 40000ull
/* Retry interval for events and commands that found a full ring. */
#define TCP_DELIVER_RETRY_US 1000ull

static uint64_t next_scan_us;

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void tcp_timers_flow_installed(struct tcp_conn *conn, uint64_t now_us)
{
	tcp_rto_init(&conn->rto);
	conn->seen_acked_bytes = 0;
	conn->seen_ecn_bytes = 0;
	conn->seen_recoveries = 0;
	conn->seen_rtt_us = 0;
	conn->progress_us = now_us;
	conn->rto_retries = 0;
	conn->probe_sent = false;
	conn->persist_us = 0;
}

void tcp_timers_store_cc(struct tcp_conn *conn)
{
	struct flow_state *flow = tcp_flow_of(conn);
	uint64_t kbps = conn->cc.rate * 8 / 1000;

	if (conn->cc.rate != 0 && kbps == 0)
		kbps = 1;
	__atomic_store_n(&flow->tx_cwnd, conn->cc.cwnd, __ATOMIC_RELAXED);
	__atomic_store_n(&flow->tx_rate_kbps,
			 kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)kbps,
			 __ATOMIC_RELAXED);
}

/* RFC 6298 section 5.4-5.6: retransmit from SND.UNA, back off the timer;
 * RFC 5681 section 3.1: the window collapses. */
static void retransmission_timeout(struct tcp_conn *conn, uint32_t flight,
				   uint64_t now_us)
{
	if (++conn->rto_retries > TCP_MAX_RTO_RETRIES) {
		tcp_conn_reset(conn, -ETIMEDOUT, true);
		return;
	}
	tcp_sp.stats.retransmit_timeouts++;
	tcp_cc_on_timeout(&conn->cc, &tcp_sp.cc_config, flight, now_us);
	tcp_timers_store_cc(conn);
	tcp_rto_backoff(&conn->rto);
	conn->progress_us = now_us;
	/* The core must see the collapsed window before it resends; a
	 * second timeout in a row stops trusting the peer's SACKs. */
	tcp_conn_command_value(conn, FP_CMD_FLOW_RETRANSMIT,
			       conn->rto_retries > 1);
}

/* RFC 8985 section 7.2: PTO = 2 SRTT, plus the peer's delayed-ACK
 * allowance when a single segment is out; at least two ticks.  No probe
 * before the first RTT sample (the RTO is the only timer then). */
static uint64_t probe_timeout(const struct tcp_conn *conn, uint32_t flight)
{
	uint64_t pto = 2ull * conn->rto.srtt_us;

	if (!conn->rto.has_sample)
		return UINT64_MAX;
	if (flight <= conn->cc.mss)
		pto += TCP_PROBE_DELAYED_ACK_US;
	return pto < 2 * TCP_TIMER_TICK_US ? 2 * TCP_TIMER_TICK_US : pto;
}

/* How long the peer has been silent: no new data acknowledged and no
 * segment at all (ACKs carrying SACK blocks during recovery are news
 * too: the retransmission of the first hole is still on its way). */
static uint64_t quiet_us(const struct tcp_conn *conn, uint64_t now_us)
{
	uint32_t heard_ms = flow_read32(&tcp_flow_of(conn)->rx_last_ms);
	uint64_t silent_us = (uint64_t)((uint32_t)(now_us / 1000) - heard_ms) * 1000;
	uint64_t unacked_us = now_us - conn->progress_us;

	return silent_us < unacked_us ? silent_us : unacked_us;
}

/* Persist timer: the peer closed its window and we have data for it;
 * the owning core probes it (FP_CMD_FLOW_TX_KICK sends a zero-window
 * probe) with RTO back-off until it opens. */
static void persist(struct tcp_conn *conn, bool window_closed, uint64_t now_us)
{
	if (!window_closed) {
		conn->persist_us = 0;
		return;
	}
	if (conn->persist_us == 0) {
		conn->persist_backoff_us = conn->rto.rto_us;
		conn->persist_us = now_us + conn->persist_backoff_us;
		return;
	}
	if (now_us < conn->persist_us)
		return;
	tcp_conn_command(conn, FP_CMD_FLOW_TX_KICK);
	conn->persist_backoff_us *= 2;
	if (conn->persist_backoff_us > TCP_RTO_MAX_US)
		conn->persist_backoff_us = TCP_RTO_MAX_US;
	conn->persist_us = now_us + conn->persist_backoff_us;
}

/* Keepalive on an idle connection: after idle_s without a segment from
 * the peer a probe, then one every interval_s; max_probes unanswered
 * reset the connection (Linux's behaviour and knobs). */
static void keepalive(struct tcp_conn *conn, uint64_t now_us)
{
	struct tcp_keepalive *ka = &conn->keepalive;
	uint32_t rx_ms = flow_read32(&tcp_flow_of(conn)->rx_last_ms);

	if (!ka->enabled || (conn->state != TCP_ESTABLISHED &&
			     conn->state != TCP_CLOSE_WAIT))
		return;
	if (ka->next_us == 0 || rx_ms != ka->seen_rx_ms) {
		ka->seen_rx_ms = rx_ms;
		ka->probes_sent = 0;
		ka->next_us = now_us + (uint64_t)ka->idle_s * 1000000u;
		return;
	}
	if (now_us < ka->next_us)
		return;
	if (ka->probes_sent >= ka->max_probes) {
		tcp_conn_reset(conn, -ETIMEDOUT, true);
		return;
	}
	tcp_conn_command(conn, FP_CMD_FLOW_KEEPALIVE);
	ka->probes_sent++;
	ka->next_us = now_us + (uint64_t)ka->interval_s * 1000000u;
}

/* After CLOSE (also once the application is gone, tcp_app.c abandon):
 * data nobody will read, or a peer that never sends its FIN.  An aborted
 * or reset connection (CLOSED) is on its way out already. */
static bool closed_flow_expired(struct tcp_conn *conn, uint64_t now_us)
{
	const struct flow_state *flow = tcp_flow_of(conn);

	if (!conn->app_done || conn->state == TCP_CLOSED)
		return false;
	if (now_us - conn->app_closed_us >= TCP_CLOSE_UNREAD_DELAY_US &&
	    flow_read32(&flow->rx_avail) != flow->rx_buf_size) {
		tcp_conn_reset(conn, -ECONNRESET, true);
		return true;
	}
	if (conn->state == TCP_FIN_WAIT_2 && conn->fin_wait_2_us != 0 &&
	    now_us - conn->fin_wait_2_us >= TCP_FIN_WAIT_2_TIMEOUT_US) {
		tcp_conn_reset(conn, 0, false);
		return true;
	}
	return false;
}

/* RTO, congestion control and persist for an installed flow, from the
 * fast path's counters (read relaxed: a stale value delays by a tick).
 * true while the flow needs the fine tick. */
static bool installed_flow_tick(struct tcp_conn *conn, uint64_t now_us)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	uint32_t flight = flow_read32(&flow->tx_sent);
	uint32_t acked = flow_read32(&flow->cnt_acked_bytes);
	uint32_t ecn = flow_read32(&flow->cnt_ecn_bytes);
	uint32_t recoveries = flow_read32(&flow->cnt_recoveries);
	uint32_t rtt_us = flow_read32(&flow->rtt_us);
	uint32_t old_cwnd = conn->cc.cwnd;
	uint64_t old_rate = conn->cc.rate;

	if (closed_flow_expired(conn, now_us))
		return false;
	if (rtt_us != 0 && rtt_us != conn->seen_rtt_us) {
		conn->seen_rtt_us = rtt_us;
		tcp_rto_sample(&conn->rto, rtt_us);
	}
	if (recoveries != conn->seen_recoveries) {
		conn->seen_recoveries = recoveries;
		tcp_cc_on_loss(&conn->cc, &tcp_sp.cc_config, flight, now_us);
	}
	if (acked != conn->seen_acked_bytes) {
		conn->progress_us = now_us;
		conn->rto_retries = 0;
		conn->probe_sent = false;
	}
	struct tcp_cc_sample sample = {
		.now_us = now_us,
		.acked_bytes = acked - conn->seen_acked_bytes,
		.ecn_bytes = ecn - conn->seen_ecn_bytes,
		.rtt_us = rtt_us,
		.flight = flight,
	};
	/* No growth while the fast path recovers (RFC 5681 section 3.2,
	 * RFC 6675): the window stays at the reduction until it is done. */
	if (__atomic_load_n(&flow->tx_recovery, __ATOMIC_RELAXED) != FLOW_TX_OPEN)
		sample.acked_bytes = sample.ecn_bytes = 0;
	conn->seen_acked_bytes = acked;
	conn->seen_ecn_bytes = ecn;
	if (sample.acked_bytes > 0 || (rtt_us != 0 && flight > 0))
		tcp_cc_on_ack(&conn->cc, &tcp_sp.cc_config, &sample);
	if (conn->cc.cwnd != old_cwnd || conn->cc.rate != old_rate)
		tcp_timers_store_cc(conn);

	if (flight == 0) {
		/* RFC 6298 (5.2): nothing outstanding, the timer is off. */
		conn->progress_us = now_us;
		persist(conn, flow_read32(&flow->tx_remote_win) == 0 &&
				      flow_read32(&flow->tx_avail) > 0,
			now_us);
		keepalive(conn, now_us);
		return conn->persist_us != 0;
	}
	conn->persist_us = 0;
	conn->keepalive.next_us = 0;
	if (now_us - conn->progress_us >= conn->rto.rto_us)
		retransmission_timeout(conn, flight, now_us);
	else if (!conn->probe_sent &&
		 quiet_us(conn, now_us) >= probe_timeout(conn, flight)) {
		conn->probe_sent = true;
		tcp_sp.stats.loss_probes++;
		tcp_conn_command(conn, FP_CMD_FLOW_PROBE);
	}
	return true;
}

/* One connection's timers; true if it needs the fine tick.  *handshake_us
 * is lowered to its handshake retransmission time, if any. */
static bool connection_tick(struct tcp_conn *conn, uint64_t now_us,
			    uint64_t *handshake_us)
{
	bool handshake_due = conn->timer_us != 0 && now_us >= conn->timer_us;

	switch (conn->state) {
	case TCP_SYN_SENT:
		if (handshake_due)
			tcp_syn_sent_timeout(conn, now_us);
		break;
	case TCP_SYN_RECEIVED:
		if (handshake_due)
			tcp_syn_received_timeout(conn, now_us);
		break;
	default:
		if (conn->installed && !conn->removing)
			return installed_flow_tick(conn, now_us);
		return false;
	}
	/* The timeout may have released the connection. */
	if (conn->in_use && !conn->releasing && conn->timer_us != 0 &&
	    conn->timer_us < *handshake_us)
		*handshake_us = conn->timer_us;
	return false;
}

uint64_t tcp_timers_run(struct service *svc, uint64_t now_us)
{
	uint64_t next = UINT64_MAX;

	if (now_us >= next_scan_us) {
		uint64_t handshake_us = UINT64_MAX;
		bool busy = false;
		/* Backwards: a connection released here moves the last
		 * entry into its slot. */
		for (uint32_t i = tcp_sp.active_count; i-- > 0;)
			busy |= connection_tick(tcp_conn_of(tcp_sp.active[i]),
						now_us, &handshake_us);
		next_scan_us = now_us + (busy ? TCP_TIMER_TICK_US : TCP_IDLE_TICK_US);
		next_scan_us = earliest(next_scan_us, handshake_us);
	}
	if (tcp_sp.active_count > 0)
		next = next_scan_us;
	next = earliest(next, arp_timers_run(svc, now_us));
	next = earliest(next, time_wait_expire(now_us));
	if (tcp_deliver_flush())
		next = earliest(next, now_us + TCP_DELIVER_RETRY_US);
	return next;
}
