/*
 * Sending: the segments the fast path builds (Ethernet II, IPv4 per
 * RFC 791 with DF, TCP per RFC 9293 with the RFC 7323 timestamp option
 * when negotiated), the per-core queue manager that decides which flow
 * sends next, and the tx batch.
 *
 * Queue manager: a FIFO of flows with data (or a FIN) they may send now,
 * linked through flow_state.tx_queue_next.  Each turn a flow sends up to
 * FP_TX_SEGMENTS_PER_TURN segments within min(send window, congestion
 * window) and goes to the back if it has more.  A flow the windows stop
 * leaves the FIFO; the ACK that opens them puts it back (and the slow
 * path's persist and retransmission timers cover a lost one).
 *
 * Local delivery: a frame for the service's own address never reaches the
 * port; it goes to the redirect ring of the core owning the receiving
 * flow, marked with good checksums so nobody computes or checks them
 * (doc/internals.md "Fast path").
 */
#include "fp_internal.h"

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "circ_buf.h"
#include "flow_recovery.h"
#include "packet.h"
#include "tcp_options.h"
#include "tcp_seq.h"

#define IPV4_TTL 64

struct tcp_frame {
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint8_t *payload;
};

/* ---- the tx batch and local delivery ---- */

void fp_tx_flush(struct fp_worker *w)
{
	struct fp_core *core = w->core;
	uint16_t sent;

	if (w->tx_count == 0)
		return;
	sent = rte_eth_tx_burst(w->svc->port_id, core->tx_queue, w->tx_batch,
				(uint16_t)w->tx_count);
	core->tx_packets += sent;
	if (sent < w->tx_count) {
		/* Queue full: TCP recovers these like any lost frame. */
		rte_pktmbuf_free_bulk(&w->tx_batch[sent], w->tx_count - sent);
		core->tx_dropped += w->tx_count - sent;
	}
	w->tx_count = 0;
}

static void add_to_batch(struct fp_worker *w, struct rte_mbuf *m)
{
	if (w->tx_count == FP_TX_BATCH)
		fp_tx_flush(w);
	w->tx_batch[w->tx_count++] = m;
}

/* The IPv4 header of a frame if it is one whose headers fit the mbuf. */
static const struct rte_ipv4_hdr *ipv4_header(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (m->data_len < sizeof(*eth) + sizeof(struct rte_ipv4_hdr) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	return (const struct rte_ipv4_hdr *)(eth + 1);
}

/* The core owning the flow that receives a local frame: for TCP the one
 * of its 4-tuple seen from the receiver, otherwise (the slow path's
 * business) this one. */
static struct fp_core *local_receiver(struct fp_worker *w,
				      const struct rte_mbuf *m,
				      const struct rte_ipv4_hdr *ip)
{
	uint32_t ip_header_len = rte_ipv4_hdr_len(ip);
	const struct rte_tcp_hdr *tcp =
		(const struct rte_tcp_hdr *)((const uint8_t *)ip + ip_header_len);

	if (ip->next_proto_id != IPPROTO_TCP ||
	    m->data_len < sizeof(struct rte_ether_hdr) + ip_header_len +
				  sizeof(*tcp))
		return w->core;
	struct flow_key key = {
		.local_ip = ip->dst_addr,
		.remote_ip = ip->src_addr,
		.local_port = tcp->dst_port,
		.remote_port = tcp->src_port,
	};
	return fp_core_of_hash(w->svc, flow_key_hash(&key));
}

static void deliver_locally(struct fp_worker *w, struct rte_mbuf *m,
			    const struct rte_ipv4_hdr *ip)
{
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	w->core->tx_packets++;
	fp_redirect(w, local_receiver(w, m, ip), m);
}

void fp_tx_frame(struct fp_worker *w, struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = ipv4_header(m);

	if (ip != NULL && ip->dst_addr == w->svc->cfg.local_ip)
		deliver_locally(w, m, ip);
	else
		add_to_batch(w, m);
}

/* ---- building segments ---- */

static void fill_checksums(struct fp_worker *w, struct rte_mbuf *m,
			   struct tcp_frame *frame)
{
	if (!w->svc->tx_csum_offload) {
		pkt_fill_checksums(frame->ip, frame->tcp);
		return;
	}
	m->l2_len = sizeof(struct rte_ether_hdr);
	m->l3_len = sizeof(struct rte_ipv4_hdr);
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
		       RTE_MBUF_F_TX_TCP_CKSUM;
	frame->tcp->cksum = rte_ipv4_phdr_cksum(frame->ip, m->ol_flags);
}

/* What goes into one segment besides the flow's own state. */
struct segment_spec {
	uint32_t seq;
	uint16_t payload_len;
	uint8_t tcp_flags;
	bool ect;                 /* RFC 3168: ECT(0), new data only */
	unsigned sack_count;      /* blocks, on pure ACKs */
	const struct tcp_sack_block *sack;
};

#define IPV4_ECN_ECT0 0x02

static unsigned options_len(const struct flow_state *flow,
			    const struct segment_spec *spec)
{
	unsigned len = (flow->flags & FLOW_F_TIMESTAMPS) ? TCP_TS_OPTIONS_LEN : 0;

	if (spec->sack_count > 0)
		len += tcp_sack_options_len(spec->sack_count);
	return len;
}

static void write_options(struct fp_worker *w, const struct flow_state *flow,
			  const struct segment_spec *spec, uint8_t *options)
{
	if (flow->flags & FLOW_F_TIMESTAMPS) {
		tcp_options_write_timestamp(options, (uint32_t)w->now_us,
					    flow->ts_recent);
		options += TCP_TS_OPTIONS_LEN;
	}
	if (spec->sack_count > 0)
		tcp_options_write_sack(options, spec->sack, spec->sack_count);
}

/* RFC 3168 section 6.1: ECE on every segment while CE must be echoed. */
static uint8_t ecn_flags(const struct flow_state *flow, uint8_t tcp_flags)
{
	if (flow->flags & FLOW_F_ECE_ECHO)
		tcp_flags |= RTE_TCP_ECE_FLAG;
	return tcp_flags;
}

/* Headers of a segment of flow with room for its payload; NULL if the
 * pool is empty. */
static struct rte_mbuf *build_segment(struct fp_worker *w,
				      const struct flow_state *flow,
				      const struct segment_spec *spec,
				      struct tcp_frame *frame)
{
	struct service *svc = w->svc;
	uint16_t tcp_len = (uint16_t)(sizeof(struct rte_tcp_hdr) +
				      options_len(flow, spec));
	uint16_t ip_len = sizeof(struct rte_ipv4_hdr) + tcp_len + spec->payload_len;
	struct rte_mbuf *m = rte_pktmbuf_alloc(svc->pktmbuf_pool);
	struct rte_ether_hdr *eth;

	if (m == NULL ||
	    (eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		     m, sizeof(*eth) + ip_len)) == NULL) {
		rte_pktmbuf_free(m);
		w->core->tx_dropped++;
		return NULL;
	}
	memcpy(&eth->dst_addr, flow->remote_mac, RTE_ETHER_ADDR_LEN);
	eth->src_addr = svc->local_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

	frame->ip = (struct rte_ipv4_hdr *)(eth + 1);
	*frame->ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.type_of_service = spec->ect ? IPV4_ECN_ECT0 : 0,
		.total_length = rte_cpu_to_be_16(ip_len),
		.packet_id = rte_cpu_to_be_16(w->ip_id++),
		.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = IPV4_TTL,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = flow->local_ip,
		.dst_addr = flow->remote_ip,
	};

	frame->tcp = (struct rte_tcp_hdr *)(frame->ip + 1);
	*frame->tcp = (struct rte_tcp_hdr){
		.src_port = flow->local_port,
		.dst_port = flow->remote_port,
		.sent_seq = rte_cpu_to_be_32(spec->seq),
		.recv_ack = rte_cpu_to_be_32(flow->rx_next_seq),
		.data_off = (uint8_t)((tcp_len / 4) << 4),
		.tcp_flags = ecn_flags(flow, spec->tcp_flags),
		.rx_win = rte_cpu_to_be_16(fp_window_field(flow, flow->rx_avail)),
	};
	write_options(w, flow, spec, (uint8_t *)(frame->tcp + 1));
	frame->payload = (uint8_t *)frame->tcp + tcp_len;
	return m;
}

static void send_segment(struct fp_worker *w, const struct flow_state *flow,
			 struct rte_mbuf *m, struct tcp_frame *frame)
{
	if (flow->remote_ip == w->svc->cfg.local_ip) {
		deliver_locally(w, m, frame->ip);
		return;
	}
	fill_checksums(w, m, frame);
	add_to_batch(w, m);
}

/* An ACK at SND.NXT; with SACK blocks while data beyond a hole is held
 * or a duplicate is to be reported (RFC 2018, RFC 2883). */
static void send_ack_at(struct fp_worker *w, struct flow_state *flow,
			uint32_t seq)
{
	struct tcp_sack_block sack[TCP_MAX_SACK_BLOCKS];
	struct segment_spec spec = {
		.seq = seq,
		.tcp_flags = RTE_TCP_ACK_FLAG,
		.sack = sack,
	};
	struct tcp_frame frame;
	struct rte_mbuf *m;

	if (fp_rx_has_sack_info(flow))
		spec.sack_count = fp_rx_sack_blocks(
			w, flow, sack,
			(flow->flags & FLOW_F_TIMESTAMPS) ? TCP_SACK_BLOCKS_WITH_TS
							   : TCP_MAX_SACK_BLOCKS);
	m = build_segment(w, flow, &spec, &frame);
	if (m != NULL)
		send_segment(w, flow, m, &frame);
}

void fp_tx_ack(struct fp_worker *w, struct flow_state *flow)
{
	send_ack_at(w, flow, flow->tx_next_seq);
}

void fp_tx_keepalive(struct fp_worker *w, struct flow_state *flow)
{
	/* RFC 9293 section 3.8.4: SEG.SEQ = SND.NXT - 1, no data; the peer
	 * answers with an ACK, or a RST if it forgot the connection. */
	if (flow->tx_sent == 0 && !fp_has_unsent(flow))
		send_ack_at(w, flow, flow->tx_next_seq - 1);
}

/* ---- sending data ---- */

/* Position in the tx buffer of sequence number seq, seq in flight. */
static uint32_t tx_position(const struct flow_state *flow, uint32_t seq)
{
	uint32_t fin = (flow->flags & FLOW_F_TX_FIN_SENT) ? 1 : 0;
	uint32_t behind = flow->tx_next_seq - fin - seq;

	return (flow->tx_pos - behind) & (flow->tx_buf_size - 1);
}

/* Karn's algorithm (RFC 6298 section 3): without timestamps, time one
 * new segment at a time; a retransmission cancels the measurement. */
static void maybe_start_rtt_timing(struct fp_worker *w, struct flow_state *flow)
{
	struct flow_recovery *rec;

	if (flow->flags & (FLOW_F_TIMESTAMPS | FLOW_F_RTT_TIMING))
		return;
	rec = fp_recovery_of(w, flow);
	rec->rtt_seq = flow->tx_next_seq;
	rec->rtt_start_us = (uint32_t)w->now_us;
	flow->flags |= FLOW_F_RTT_TIMING;
}

/* Send len new bytes from SND.NXT, with the FIN if fin.  False if no
 * mbuf. */
static bool send_data(struct fp_worker *w, struct flow_state *flow,
		      uint32_t len, bool fin)
{
	struct segment_spec spec = {
		.seq = flow->tx_next_seq,
		.payload_len = (uint16_t)len,
		.tcp_flags = RTE_TCP_ACK_FLAG,
		.ect = (flow->flags & FLOW_F_ECN) && len > 0,
	};
	struct tcp_frame frame;
	struct rte_mbuf *m;

	if (len > 0 && len == flow->tx_avail)
		spec.tcp_flags |= RTE_TCP_PSH_FLAG;
	if (fin)
		spec.tcp_flags |= RTE_TCP_FIN_FLAG;
	/* RFC 3168 section 6.1.2: CWR on the first new data after the
	 * window was reduced for an ECE. */
	if ((flow->flags & FLOW_F_CWR_PENDING) && len > 0)
		spec.tcp_flags |= RTE_TCP_CWR_FLAG;
	m = build_segment(w, flow, &spec, &frame);
	if (m == NULL)
		return false;
	circ_read(flow->region_base + flow->tx_buf_offset, flow->tx_buf_size,
		  flow->tx_pos, frame.payload, len);

	if (spec.tcp_flags & RTE_TCP_CWR_FLAG)
		flow->flags &= (uint16_t)~FLOW_F_CWR_PENDING;
	maybe_start_rtt_timing(w, flow);
	flow->tx_pos = circ_advance(flow->tx_pos, len, flow->tx_buf_size);
	flow->tx_avail -= len;
	flow->tx_next_seq += len + fin;
	flow->tx_sent += len + fin;
	if (fin)
		flow->flags |= FLOW_F_TX_FIN_SENT;
	fp_pacing_sent(w, flow, m->pkt_len);
	send_segment(w, flow, m, &frame);
	return true;
}

bool fp_tx_retransmit(struct fp_worker *w, struct flow_state *flow,
		      uint32_t seq, uint32_t len)
{
	uint32_t fin_seq = flow->tx_next_seq - 1;
	bool fin = (flow->flags & FLOW_F_TX_FIN_SENT) &&
		   seq_gt(seq + len, fin_seq);
	uint32_t data_len = fin ? fin_seq - seq : len;
	/* Retransmissions are not ECN-capable (RFC 3168 section 6.1.5). */
	struct segment_spec spec = {
		.seq = seq,
		.payload_len = (uint16_t)data_len,
		.tcp_flags = RTE_TCP_ACK_FLAG | (fin ? RTE_TCP_FIN_FLAG : 0),
	};
	struct tcp_frame frame;
	struct rte_mbuf *m = build_segment(w, flow, &spec, &frame);

	if (m == NULL)
		return false;
	circ_read(flow->region_base + flow->tx_buf_offset, flow->tx_buf_size,
		  tx_position(flow, seq), frame.payload, data_len);
	flow->flags &= (uint16_t)~FLOW_F_RTT_TIMING;
	fp_counter_add(&fp_recovery_of(w, flow)->cnt_retransmits, 1);
	fp_pacing_sent(w, flow, m->pkt_len);
	send_segment(w, flow, m, &frame);
	return true;
}

/* Nagle (RFC 9293 section 3.7.4) and sender silly-window avoidance
 * (section 3.8.6.2.1): a segment shorter than the MSS goes out only if
 * nothing is in flight, or, with TCP_NODELAY, if it carries everything
 * we have. */
static bool worth_sending(const struct flow_state *flow, uint32_t len)
{
	if (len == flow->mss || flow->tx_sent == 0)
		return true;
	return (flow->flags & FLOW_F_NODELAY) && len == flow->tx_avail;
}

/* The next new segment flow may send with room bytes allowed: len bytes,
 * and the FIN if fin. */
static bool next_segment(const struct flow_state *flow, uint32_t room,
			 uint32_t *len, bool *fin)
{
	*len = RTE_MIN(RTE_MIN((uint32_t)flow->mss, flow->tx_avail), room);
	/* The FIN rides on the last segment and takes a sequence number,
	 * so it needs one more byte of window. */
	*fin = fp_fin_unsent(flow) && *len == flow->tx_avail && room > *len;
	if (*len == 0)
		return *fin;
	return worth_sending(flow, *len);
}

/* Room the peer's window leaves beyond what is in flight. */
static uint32_t window_room(const struct flow_state *flow)
{
	return flow->tx_remote_win > flow->tx_sent ?
		       flow->tx_remote_win - flow->tx_sent : 0;
}

/* Bytes the windows let us put in flight: min(SND.WND, cwnd) - in flight. */
static uint32_t send_room(const struct flow_state *flow)
{
	uint32_t cwnd = __atomic_load_n(&flow->tx_cwnd, __ATOMIC_RELAXED);
	uint32_t window = RTE_MIN(flow->tx_remote_win, cwnd);

	return window > flow->tx_sent ? window - flow->tx_sent : 0;
}

bool fp_tx_may_send_new(const struct flow_state *flow, uint32_t cwnd_room)
{
	uint32_t len;
	bool fin;

	return next_segment(flow, RTE_MIN(cwnd_room, window_room(flow)), &len,
			    &fin);
}

bool fp_tx_send_new(struct fp_worker *w, struct flow_state *flow,
		    uint32_t cwnd_room)
{
	uint32_t len;
	bool fin;

	return next_segment(flow, RTE_MIN(cwnd_room, window_room(flow)), &len,
			    &fin) &&
	       send_data(w, flow, len, fin);
}

/* Whether recovery decides what flow sends (fp_recovery.c). */
static bool is_recovering(const struct flow_state *flow)
{
	return flow->tx_recovery != FLOW_TX_OPEN || flow->tx_sacked_count > 0;
}

/* Send up to limit segments of flow; returns how many went out. */
static unsigned send_from_flow(struct fp_worker *w, struct flow_state *flow,
			       unsigned limit)
{
	unsigned sent = 0;
	uint32_t len;
	bool fin;

	if (is_recovering(flow))
		return fp_recovery_send(w, flow, limit);
	while (sent < limit && fp_pacing_allows(w, flow) &&
	       next_segment(flow, send_room(flow), &len, &fin) &&
	       send_data(w, flow, len, fin))
		sent++;
	return sent;
}

static bool may_send(struct fp_worker *w, const struct flow_state *flow)
{
	uint32_t len;
	bool fin;

	if (is_recovering(flow))
		return fp_recovery_may_send(w, flow);
	return next_segment(flow, send_room(flow), &len, &fin);
}

void fp_tx_window_probe(struct fp_worker *w, struct flow_state *flow)
{
	/* RFC 9293 section 3.8.6.1: with nothing in flight to bring an ACK,
	 * a closed window is probed (the slow path's persist timer asks with
	 * FP_CMD_FLOW_TX_KICK).  As Linux does, with an old sequence number
	 * and no data: the peer answers with its window, and no byte beyond
	 * it is in flight to be dropped and wait for a retransmission
	 * timeout once the window opens.  A lone FIN goes as it is. */
	if (flow->tx_sent > 0 || window_room(flow) > 0)
		return;
	if (flow->tx_avail > 0)
		send_ack_at(w, flow, flow->tx_next_seq - 1);
	else if (fp_fin_unsent(flow))
		send_data(w, flow, 0, true);
}

/* ---- the queue manager ---- */

void fp_txq_push(struct fp_worker *w, struct flow_state *flow)
{
	uint32_t id = fp_flow_id(w, flow);

	if (flow->flags & (FLOW_F_IN_TX_QUEUE | FLOW_F_DEAD) ||
	    !may_send(w, flow))
		return;
	if (!fp_pacing_allows(w, flow) && fp_pacing_defer(w, flow))
		return;
	flow->flags |= FLOW_F_IN_TX_QUEUE;
	flow->tx_queue_next = FLOW_INDEX_NONE;
	if (w->txq_tail == FLOW_INDEX_NONE)
		w->txq_head = id;
	else
		w->svc->flows[w->txq_tail].tx_queue_next = id;
	w->txq_tail = id;
}

static struct flow_state *txq_pop(struct fp_worker *w)
{
	struct flow_state *flow = &w->svc->flows[w->txq_head];

	w->txq_head = flow->tx_queue_next;
	if (w->txq_head == FLOW_INDEX_NONE)
		w->txq_tail = FLOW_INDEX_NONE;
	flow->flags &= (uint16_t)~FLOW_F_IN_TX_QUEUE;
	return flow;
}

/* Removal is rare (FP_CMD_FLOW_REMOVE): a walk is fine. */
void fp_txq_remove(struct fp_worker *w, struct flow_state *flow)
{
	struct flow_state *flows = w->svc->flows;
	uint32_t id = fp_flow_id(w, flow), prev = FLOW_INDEX_NONE;

	fp_pacing_forget(w, flow);
	if (!(flow->flags & FLOW_F_IN_TX_QUEUE))
		return;
	for (uint32_t cur = w->txq_head; cur != id; cur = flows[cur].tx_queue_next)
		prev = cur;
	if (prev == FLOW_INDEX_NONE)
		w->txq_head = flow->tx_queue_next;
	else
		flows[prev].tx_queue_next = flow->tx_queue_next;
	if (w->txq_tail == id)
		w->txq_tail = prev;
	flow->flags &= (uint16_t)~FLOW_F_IN_TX_QUEUE;
}

unsigned fp_tx_flows(struct fp_worker *w)
{
	unsigned budget = FP_TX_BUDGET, total = 0;

	if (w->paced_count > 0)
		w->paced_due_us = fp_pacing_release(w);
	while (total < budget && w->txq_head != FLOW_INDEX_NONE) {
		struct flow_state *flow = txq_pop(w);
		unsigned turn = RTE_MIN(budget - total, FP_TX_SEGMENTS_PER_TURN);
		unsigned sent = send_from_flow(w, flow, turn);

		total += sent;
		fp_txq_push(w, flow);
		if (sent == 0 && may_send(w, flow))
			break; /* out of mbufs: try again next iteration */
	}
	return total;
}
