/*
 * The per-connection view for tooling (kill -USR1 $(pidof tas)): one log
 * line per connection with its state, the fast path's view of its
 * transmission (in flight, queued, the peer's window), congestion control
 * (algorithm, cwnd, ssthresh, rate, RTT, RTO) and loss recovery (recovery
 * state, SACK scoreboard entries, retransmitted segments, recoveries
 * entered).  Fields of installed flows are read relaxed: a line is a
 * snapshot, not a consistent cut.
 */
#include <arpa/inet.h>
#include <inttypes.h>

#include "flow_recovery.h"
#include "log.h"
#include "tcp.h"
#include "tcp_conn.h"

static const char *recovery_name(uint8_t recovery)
{
	switch (recovery) {
	case FLOW_TX_OPEN:
		return "open";
	case FLOW_TX_FAST_RECOVERY:
		return "fast-recovery";
	case FLOW_TX_LOSS_RECOVERY:
		return "loss-recovery";
	}
	return "?";
}

static void log_flow(const struct tcp_conn *conn)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	const struct flow_recovery *rec = &tcp_sp.svc->flow_recovery[conn->flow_id];
	char local[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &conn->key.local_ip, local, sizeof(local));
	inet_ntop(AF_INET, &conn->key.remote_ip, remote, sizeof(remote));
	if (!conn->installed) {
		log_info("flow %u %s:%u %s:%u %s", conn->flow_id, local,
			 ntohs(conn->key.local_port), remote,
			 ntohs(conn->key.remote_port), tcp_state_name(conn->state));
		return;
	}
	log_info("flow %u %s:%u %s:%u %s cc=%s cwnd=%u ssthresh=%u "
		 "rate=%" PRIu64 "B/s srtt=%uus rto=%uus flight=%u queued=%u "
		 "snd_wnd=%u recovery=%s sacked_blocks=%u retransmits=%u "
		 "recoveries=%u ecn=%s",
		 conn->flow_id, local, ntohs(conn->key.local_port), remote,
		 ntohs(conn->key.remote_port), tcp_state_name(conn->state),
		 tcp_cc_name(conn->cc.algorithm), conn->cc.cwnd, conn->cc.ssthresh,
		 conn->cc.rate, conn->rto.srtt_us, conn->rto.rto_us,
		 flow_read32(&flow->tx_sent), flow_read32(&flow->tx_avail),
		 flow_read32(&flow->tx_remote_win),
		 recovery_name(__atomic_load_n(&flow->tx_recovery, __ATOMIC_RELAXED)),
		 __atomic_load_n(&flow->tx_sacked_count, __ATOMIC_RELAXED),
		 flow_read32(&rec->cnt_retransmits),
		 flow_read32(&flow->cnt_recoveries),
		 (flow_read16(&flow->flags) & FLOW_F_ECN) ? "on" : "off");
}

void tcp_log_flows(void)
{
	log_info("tcp: %u connections; %" PRIu64 " retransmission timeouts, %" PRIu64
		 " loss probes so far", tcp_sp.active_count,
		 tcp_sp.stats.retransmit_timeouts, tcp_sp.stats.loss_probes);
	for (uint32_t i = 0; i < tcp_sp.active_count; i++)
		log_flow(tcp_conn_of(tcp_sp.active[i]));
}
