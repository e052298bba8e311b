/*
 * Receiving: the fast path's TCP input for established connections and
 * the closing states, as far as data and ACKs go.
 *
 * RFC 9293 section 3.10.7.4 (segment arrival: sequence number check, ACK,
 * segment text, FIN), RFC 7323 (window scale, timestamps: PAWS, TS.Recent,
 * RTT samples), RFC 5681 (duplicate ACKs; the fast retransmit here is a
 * go-back-N), RFC 3168 (ECE counted for congestion control).  Whatever
 * this file does not handle goes to the slow path unchanged (see
 * leave_reason()).
 *
 * A burst is handled in three passes so that memory latency overlaps:
 * parse every frame and prefetch its flow-table slot, look every flow up
 * and prefetch its state, then run TCP input segment by segment.  Events
 * and ACKs are collected per flow and sent once the burst is done.
 */
#include "fp_internal.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "circ_buf.h"
#include "flow_table.h"
#include "packet.h"
#include "tcp_options.h"
#include "tcp_seq.h"

/* RTT samples above this come from a TSecr that is not ours. */
#define RTT_SAMPLE_MAX_US 60000000u
#define DUPACK_THRESHOLD 3

struct rx_segment {
	struct rte_mbuf *mbuf;
	struct pkt_info info;
	struct flow_key key;
	uint32_t hash;
	struct flow_state *flow;  /* NULL: no installed flow */
};

struct seg_timestamp {
	bool present;
	uint32_t val;
	uint32_t ecr;
};

/* The part of a segment the text and FIN steps work on. */
struct seg_text {
	uint32_t seq;
	const uint8_t *data;
	uint32_t len;
	uint32_t end;             /* seq + len as received, where a FIN sits */
	bool fin;
};

/* ---- pass 1: parse and classify ---- */

static bool checksums_verified(const struct rte_mbuf *m)
{
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	return ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	       (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD ||
		l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE);
}

/* Checksums are checked in software unless the NIC, or the core that
 * delivered a local frame, vouches for them; a NIC's "bad" is final. */
static enum pkt_verdict parse_frame(const struct rte_mbuf *m,
				    struct pkt_info *info)
{
	if (m->nb_segs != 1)
		return PKT_BAD_LENGTH; /* larger than the MTU */
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
	    RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return PKT_BAD_IP_CSUM;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
	    RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return PKT_BAD_TCP_CSUM;
	return pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
			 !checksums_verified(m), info);
}

static bool is_bad(enum pkt_verdict verdict)
{
	return verdict != PKT_TCP && verdict != PKT_ARP && verdict != PKT_OTHER;
}

/* Keeps the TCP segments this core owns in segments; hands the rest on.
 * Returns how many it kept. */
static unsigned classify(struct fp_worker *w, struct rte_mbuf **frames,
			 unsigned count, struct rx_segment *segments)
{
	struct service *svc = w->svc;
	unsigned kept = 0;

	for (unsigned i = 0; i < count; i++) {
		struct rx_segment *seg = &segments[kept];
		struct rte_mbuf *m = frames[i];
		enum pkt_verdict verdict = parse_frame(m, &seg->info);

		if (is_bad(verdict)) {
			w->core->rx_bad++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (verdict != PKT_TCP) {
			fp_to_slowpath(w, m, SP_EXC_NOT_TCP);
			continue;
		}
		seg->key = (struct flow_key){
			.local_ip = seg->info.ip->dst_addr,
			.remote_ip = seg->info.ip->src_addr,
			.local_port = seg->info.tcp->dst_port,
			.remote_port = seg->info.tcp->src_port,
		};
		seg->hash = flow_key_hash(&seg->key);
		struct fp_core *owner = fp_core_of_hash(svc, seg->hash);
		if (owner != w->core) {
			fp_redirect(w, owner, m);
			continue;
		}
		flow_table_prefetch(svc->flow_table, seg->hash);
		seg->mbuf = m;
		kept++;
	}
	return kept;
}

/* ---- pass 2: look up flows ---- */

static void look_up_flows(struct fp_worker *w, struct rx_segment *segments,
			  unsigned count)
{
	struct service *svc = w->svc;

	for (unsigned i = 0; i < count; i++) {
		struct rx_segment *seg = &segments[i];
		int64_t id = flow_table_lookup(svc->flow_table, &seg->key,
					       seg->hash);

		seg->flow = id < 0 ? NULL : &svc->flows[id];
		if (seg->flow != NULL) {
			rte_prefetch0(seg->flow);
			rte_prefetch0((const uint8_t *)seg->flow + RTE_CACHE_LINE_SIZE);
		}
	}
}

/* ---- pass 3: TCP input ---- */

static bool flow_matches(const struct flow_state *flow,
			 const struct flow_key *key)
{
	return flow->local_ip == key->local_ip &&
	       flow->remote_ip == key->remote_ip &&
	       flow->local_port == key->local_port &&
	       flow->remote_port == key->remote_port;
}

/* Options of a segment on an established connection.  False if one is
 * malformed or unknown.  MSS, window scale and SACK-permitted mean
 * nothing outside a SYN, and SACK blocks are advice go-back-N does not
 * take; timestamps count only if negotiated (RFC 7323 section 3.2). */
static bool read_options(const struct flow_state *flow,
			 const struct pkt_info *info, struct seg_timestamp *ts)
{
	bool negotiated = flow->flags & FLOW_F_TIMESTAMPS;
	struct tcp_options opts;

	ts->present = false;
	if (info->options_len == 0)
		return true;
	if (negotiated &&
	    tcp_options_is_timestamp_only(info->options, info->options_len,
					  &ts->val, &ts->ecr)) {
		ts->present = true;
		return true;
	}
	if (tcp_options_parse(info->options, info->options_len, &opts) != 0 ||
	    opts.has_unknown)
		return false;
	ts->present = negotiated && opts.has_timestamp;
	ts->val = opts.ts_val;
	ts->ecr = opts.ts_ecr;
	return true;
}

/* Why a segment of an installed flow must leave the fast path; 0 if it
 * stays. */
static enum sp_exception_reason leave_reason(const struct flow_state *flow,
					     const struct pkt_info *info,
					     struct seg_timestamp *ts)
{
	/* Connection setup and reset: the slow path's state machine. */
	if (info->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG))
		return SP_EXC_FLAGS;
	/* Urgent data is not offered to applications. */
	if (info->flags & RTE_TCP_URG_FLAG)
		return SP_EXC_OPTIONS;
	/* An option we do not understand. */
	if (!read_options(flow, info, ts))
		return SP_EXC_OPTIONS;
	return 0;
}

/* RFC 9293 section 3.10.7.4, first step, the acceptance table.  With a
 * zero window a segment starting at RCV.NXT still counts, for its ACK and
 * FIN; its data is trimmed ("special allowance ... for valid ACKs"). */
static bool is_acceptable(const struct flow_state *flow, uint32_t seq,
			  uint32_t seg_len)
{
	uint32_t rcv_nxt = flow->rx_next_seq, window = flow->rx_avail;

	if (window == 0)
		return seq == rcv_nxt;
	if (seg_len == 0)
		return seq_in_range(seq, rcv_nxt, window);
	return seq_in_range(seq, rcv_nxt, window) ||
	       seq_in_range(seq + seg_len - 1, rcv_nxt, window);
}

/* RFC 7323 section 5.3 R1: PAWS. */
static bool is_old_timestamp(const struct flow_state *flow,
			     const struct seg_timestamp *ts)
{
	return ts->present && seq_lt(ts->val, flow->ts_recent);
}

/* RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT)
 * then send an ACK, drop the segment".  After a go-back-N (REWOUND) all
 * committed data up to the FIN may have been sent before. */
static bool acks_unsent(const struct flow_state *flow, uint32_t ack)
{
	uint32_t sent = flow->tx_sent;

	if (flow->flags & FLOW_F_REWOUND)
		sent += flow->tx_avail + fp_fin_unsent(flow);
	return seq_gt(ack, fp_snd_una(flow) + sent);
}

/* RFC 5681 section 2: nothing new acknowledged, no data, no FIN, the same
 * window, and data outstanding. */
static bool is_duplicate_ack(const struct flow_state *flow,
			     const struct pkt_info *info, uint32_t window)
{
	return info->payload_len == 0 && !(info->flags & RTE_TCP_FIN_FLAG) &&
	       window == flow->tx_remote_win && flow->tx_sent > 0;
}

static void count_duplicate_ack(struct fp_worker *w, struct flow_state *flow)
{
	if (flow->dupack_count == UINT8_MAX)
		return;
	if (++flow->dupack_count == DUPACK_THRESHOLD) {
		fp_tx_go_back_n(flow);
		fp_counter_add(&flow->cnt_fast_retx, 1);
		fp_txq_push(w, flow);
	}
}

/* After a go-back-N the peer may acknowledge, beyond SND.NXT, what it
 * got before: move SND.NXT up to the ACK as if that had been resent. */
static void skip_resend(struct flow_state *flow, uint32_t acked)
{
	uint32_t skip = acked - flow->tx_sent;
	uint32_t data = RTE_MIN(skip, flow->tx_avail);

	flow->tx_pos = circ_advance(flow->tx_pos, data, flow->tx_buf_size);
	flow->tx_avail -= data;
	flow->tx_next_seq += skip;
	flow->tx_sent += skip;
	if (skip > data)
		flow->flags |= FLOW_F_TX_FIN_SENT;
	fp_note_resent(flow);
}

static void sample_rtt(struct fp_worker *w, struct flow_state *flow,
		       uint32_t ts_ecr)
{
	/* Our TSval is the microsecond clock. */
	uint32_t sample = (uint32_t)w->now_us - ts_ecr;
	uint32_t rtt = flow->rtt_us;

	if (ts_ecr == 0 || sample > RTT_SAMPLE_MAX_US)
		return;
	sample = RTE_MAX(sample, 1u);
	rtt = rtt == 0 ? sample : (7 * rtt + sample) / 8;
	__atomic_store_n(&flow->rtt_us, rtt, __ATOMIC_RELAXED);
}

/* SND.UNA < SEG.ACK: acked new sequence numbers (data and maybe our FIN). */
static void ack_new_data(struct fp_worker *w, struct fp_flow_work *work,
			 const struct pkt_info *info,
			 const struct seg_timestamp *ts, uint32_t acked)
{
	struct flow_state *flow = work->flow;

	if (acked > flow->tx_sent)
		skip_resend(flow, acked);
	bool fin_acked = (flow->flags & FLOW_F_TX_FIN_SENT) &&
			 acked == flow->tx_sent;
	uint32_t bytes = acked - fin_acked;

	flow->tx_sent -= acked;
	flow->dupack_count = 0;
	fp_counter_add(&flow->cnt_acked_bytes, bytes);
	if (info->flags & RTE_TCP_ECE_FLAG)
		fp_counter_add(&flow->cnt_ecn_bytes, bytes);
	if (ts->present)
		sample_rtt(w, flow, ts->ecr);
	work->acked_bytes += bytes;
	/* FIN-WAIT-1 -> FIN-WAIT-2, CLOSING -> TIME-WAIT, LAST-ACK -> CLOSED:
	 * the slow path's part. */
	if (fin_acked) {
		flow->flags |= FLOW_F_TX_FIN_ACKED;
		fp_notify_slowpath(w, SP_NOTIFY_TX_FIN_ACKED, fp_flow_id(w, flow),
				   0);
	}
}

/* RFC 9293 fifth step, "check the ACK field", for ESTABLISHED and the
 * states after a FIN. */
static void rx_ack(struct fp_worker *w, struct fp_flow_work *work,
		   const struct pkt_info *info, const struct seg_timestamp *ts)
{
	struct flow_state *flow = work->flow;
	uint32_t window = (uint32_t)info->window << flow->snd_wscale;
	uint32_t snd_una = fp_snd_una(flow);

	/* SEG.ACK < SND.UNA: an old duplicate, ignored. */
	if (seq_lt(info->ack, snd_una))
		return;
	uint32_t acked = info->ack - snd_una;
	if (acked > 0)
		ack_new_data(w, work, info, ts, acked);
	else if (is_duplicate_ack(flow, info, window))
		count_duplicate_ack(w, flow);
	/* SND.WND, relative to the new SND.UNA. */
	flow->tx_remote_win = window;
	fp_txq_push(w, flow);
}

/* RFC 7323 section 4.3: TS.Recent follows segments covering
 * Last.ACK.sent, approximated by RCV.NXT. */
static void update_ts_recent(struct flow_state *flow,
			     const struct seg_timestamp *ts, uint32_t seq)
{
	if (ts->present && seq_leq(seq, flow->rx_next_seq) &&
	    seq_geq(ts->val, flow->ts_recent))
		flow->ts_recent = ts->val;
}

static uint8_t *rx_buffer(const struct flow_state *flow)
{
	return flow->region_base + flow->rx_buf_offset;
}

static void advance_rcv_nxt(struct fp_flow_work *work, uint32_t len)
{
	struct flow_state *flow = work->flow;

	flow->rx_next_seq += len;
	flow->rx_head = circ_advance(flow->rx_head, len, flow->rx_buf_size);
	flow->rx_avail -= len;
	work->rx_bytes += len;
}

/* The interval beyond the hole is in the buffer already: once the hole
 * is filled it is received data. */
static void merge_out_of_order(struct fp_flow_work *work)
{
	struct flow_state *flow = work->flow;
	uint32_t ooo_end = flow->rx_ooo_start + flow->rx_ooo_len;

	if (flow->rx_ooo_len == 0 || seq_lt(flow->rx_next_seq, flow->rx_ooo_start))
		return;
	if (seq_gt(ooo_end, flow->rx_next_seq))
		advance_rcv_nxt(work, ooo_end - flow->rx_next_seq);
	flow->rx_ooo_len = 0;
}

static void rx_in_order(struct fp_flow_work *work, const struct seg_text *text)
{
	struct flow_state *flow = work->flow;

	circ_write(rx_buffer(flow), flow->rx_buf_size, flow->rx_head, text->data,
		   text->len);
	advance_rcv_nxt(work, text->len);
	merge_out_of_order(work);
	work->send_ack = true;
}

/* One interval beyond a hole is kept: data that extends it (or starts
 * it) goes to its place in the buffer, anything else is dropped and
 * resent by the peer later. */
static void rx_out_of_order(struct flow_state *flow, const struct seg_text *text)
{
	uint32_t start = text->seq, end = text->seq + text->len;
	uint32_t ooo_end = flow->rx_ooo_start + flow->rx_ooo_len;

	if (flow->rx_ooo_len == 0) {
		flow->rx_ooo_start = start;
		flow->rx_ooo_len = text->len;
	} else if (seq_leq(start, ooo_end) && seq_geq(end, flow->rx_ooo_start)) {
		uint32_t new_start = seq_lt(start, flow->rx_ooo_start)
					     ? start : flow->rx_ooo_start;
		uint32_t new_end = seq_gt(end, ooo_end) ? end : ooo_end;

		flow->rx_ooo_start = new_start;
		flow->rx_ooo_len = new_end - new_start;
	} else {
		return;
	}
	uint32_t pos = circ_advance(flow->rx_head, start - flow->rx_next_seq,
				    flow->rx_buf_size);
	circ_write(rx_buffer(flow), flow->rx_buf_size, pos, text->data, text->len);
}

/* Drop what was received before and what does not fit the window. */
static void trim_text(const struct flow_state *flow, struct seg_text *text)
{
	uint32_t old = 0, fits;

	if (seq_lt(text->seq, flow->rx_next_seq))
		old = RTE_MIN(flow->rx_next_seq - text->seq, text->len);
	text->seq += old;
	text->data += old;
	text->len -= old;
	fits = flow->rx_avail - (text->seq - flow->rx_next_seq);
	text->len = RTE_MIN(text->len, fits);
}

/* RFC 9293 seventh step, "process the segment text". */
static void rx_text(struct fp_worker *w, struct fp_flow_work *work,
		    struct seg_text *text)
{
	struct flow_state *flow = work->flow;
	uint32_t received = text->len;

	/* CLOSE-WAIT and later: text after the peer's FIN is ignored. */
	if (flow->flags & FLOW_F_RX_FIN) {
		work->send_ack = true;
		return;
	}
	trim_text(flow, text);
	if (text->len < received)
		work->send_ack = true; /* some was old or beyond the window */
	if (text->len == 0)
		return;
	if (text->seq == flow->rx_next_seq) {
		rx_in_order(work, text);
	} else {
		rx_out_of_order(flow, text);
		/* A duplicate ACK at once tells the peer about the hole
		 * (RFC 5681 section 4.2). */
		fp_tx_ack(w, flow);
	}
}

/* RFC 9293 eighth step, "check the FIN bit": a FIN right after the data
 * we have consumes a sequence number; one beyond a hole is only
 * acknowledged, and the peer sends it again. */
static void rx_fin(struct fp_worker *w, struct fp_flow_work *work,
		   const struct seg_text *text)
{
	struct flow_state *flow = work->flow;

	work->send_ack = true;
	if ((flow->flags & FLOW_F_RX_FIN) || text->end != flow->rx_next_seq)
		return;
	flow->rx_next_seq++;
	flow->flags |= FLOW_F_RX_FIN;
	work->peer_fin = true;
	fp_notify_slowpath(w, SP_NOTIFY_RX_FIN, fp_flow_id(w, flow),
			   flow->rx_next_seq);
}

static void tcp_input(struct fp_worker *w, struct fp_flow_work *work,
		      const struct pkt_info *info, const struct seg_timestamp *ts)
{
	struct flow_state *flow = work->flow;
	struct seg_text text = {
		.seq = info->seq,
		.data = info->payload,
		.len = info->payload_len,
		.end = info->seq + info->payload_len,
		.fin = info->flags & RTE_TCP_FIN_FLAG,
	};

	/* First: check the sequence number (and PAWS, RFC 7323 5.3).  An
	 * unacceptable segment gets an ACK (RSTs went to the slow path). */
	if (!is_acceptable(flow, text.seq, text.len + text.fin) ||
	    is_old_timestamp(flow, ts)) {
		work->send_ack = true;
		return;
	}
	update_ts_recent(flow, ts, text.seq);
	/* Second to fourth (RST, security, SYN): the slow path's. */
	/* Fifth: check the ACK field. */
	if (!(info->flags & RTE_TCP_ACK_FLAG))
		return;
	if (acks_unsent(flow, info->ack)) {
		work->send_ack = true;
		return;
	}
	rx_ack(w, work, info, ts);
	/* Sixth (URG): the slow path's.  Seventh: the segment text. */
	if (text.len > 0)
		rx_text(w, work, &text);
	/* Eighth: the FIN bit. */
	if (text.fin)
		rx_fin(w, work, &text);
}

/* The flow's entry in this burst, or NULL if the segment must be dropped
 * because the flow's application is not taking events (fp_app.c).  A
 * flow whose context is gone goes on without events: a connection its
 * process closed and left finishes closing, one that other processes
 * hold copies of waits for one to adopt it (tcp_copies.h). */
static struct fp_flow_work *burst_entry(struct fp_worker *w,
					struct fp_burst_flows *burst,
					struct flow_state *flow)
{
	struct fp_flow_work *work = fp_burst_find(burst, flow);
	struct fp_context *ctx = NULL;

	if (work != NULL)
		return work;
	if (flow->flags & FLOW_F_ANNOUNCED) {
		ctx = fp_context_of(w, flow->app_id, flow->ctx_id);
		if (ctx != NULL && !fp_context_ready(w, ctx))
			return NULL;
	}
	work = fp_burst_add(burst, flow);
	work->ctx = ctx;
	return work;
}

/* Handle one segment of this core; returns why it must go to the slow
 * path, or 0 once it is done with it. */
static enum sp_exception_reason rx_segment(struct fp_worker *w,
					   struct fp_burst_flows *burst,
					   const struct rx_segment *seg)
{
	struct flow_state *flow = seg->flow;
	struct seg_timestamp ts;
	enum sp_exception_reason reason;
	struct fp_flow_work *work;

	if (flow == NULL || !flow_matches(flow, &seg->key))
		return SP_EXC_NO_FLOW;
	if (flow->flags & FLOW_F_DEAD)
		return 0; /* being removed: dropped */
	reason = leave_reason(flow, &seg->info, &ts);
	if (reason != 0)
		return reason;
	work = burst_entry(w, burst, flow);
	if (work == NULL) {
		w->core->rx_dropped++;
		return 0;
	}
	tcp_input(w, work, &seg->info, &ts);
	return 0;
}

/* Events in order (data before EOF), and one ACK per flow. */
static void finish_burst(struct fp_worker *w, struct fp_burst_flows *burst)
{
	for (unsigned i = 0; i < burst->count; i++) {
		struct fp_flow_work *work = &burst->work[i];
		struct fp_context *ctx = work->ctx;

		if (ctx != NULL && work->rx_bytes > 0)
			fp_flow_event(w, ctx, work->flow, TAS_EVT_RX_DATA,
				      work->rx_bytes);
		if (ctx != NULL && work->acked_bytes > 0)
			fp_flow_event(w, ctx, work->flow, TAS_EVT_TX_ACKED,
				      work->acked_bytes);
		if (ctx != NULL && work->peer_fin)
			fp_flow_event(w, ctx, work->flow, TAS_EVT_PEER_FIN, 0);
		if (work->send_ack)
			fp_tx_ack(w, work->flow);
	}
	fp_events_flush(w);
}

static void rx_burst(struct fp_worker *w, struct rte_mbuf **frames,
		     unsigned count)
{
	struct rx_segment segments[FP_BURST];
	struct fp_burst_flows burst = { .count = 0 };
	unsigned kept = classify(w, frames, count, segments);

	look_up_flows(w, segments, kept);
	for (unsigned i = 0; i < kept; i++) {
		struct rx_segment *seg = &segments[i];
		enum sp_exception_reason reason = rx_segment(w, &burst, seg);

		if (reason != 0)
			fp_to_slowpath(w, seg->mbuf, reason);
		else
			rte_pktmbuf_free(seg->mbuf);
	}
	finish_burst(w, &burst);
}

unsigned fp_rx_poll(struct fp_worker *w)
{
	struct fp_core *core = w->core;
	struct rte_mbuf *frames[FP_BURST];
	unsigned received, redirected;

	received = rte_eth_rx_burst(w->svc->port_id, core->rx_queue, frames,
				    FP_BURST);
	core->rx_packets += received;
	if (received > 0)
		rx_burst(w, frames, received);
	redirected = rte_ring_sc_dequeue_burst(core->redirect_ring,
					       (void **)frames, FP_BURST, NULL);
	if (redirected > 0)
		rx_burst(w, frames, redirected);
	return received + redirected;
}
