/*
 * Receiving: the fast path's TCP input for established connections and
 * the closing states, as far as data and ACKs go.
 *
 * RFC 9293 section 3.10.7.4 (segment arrival: sequence number check, ACK,
 * segment text, FIN), RFC 7323 (window scale, timestamps: PAWS, TS.Recent,
 * RTT samples), RFC 6298 section 3 (Karn's RTT samples without
 * timestamps), RFC 5681 (duplicate ACKs), RFC 2018 (SACK blocks),
 * RFC 3168 (ECE counted for congestion control, CWR, CE echoed).  What
 * happens once something is missing, in either direction, is
 * fp_recovery.c's.  Whatever this file does not handle goes to the slow
 * path unchanged (see leave_reason()).
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
#include "flow_recovery.h"
#include "flow_table.h"
#include "packet.h"
#include "tcp_options.h"
#include "tcp_seq.h"
#include "tx_scoreboard.h"

/* RTT samples above this come from a TSecr that is not ours. */
#define RTT_SAMPLE_MAX_US 60000000u
#define DUPACK_THRESHOLD TX_DUP_THRESH
#define IPV4_ECN_MASK 0x03
#define IPV4_ECN_CE 0x03

struct rx_segment {
	struct rte_mbuf *mbuf;
	struct pkt_info info;
	struct flow_key key;
	uint32_t hash;
	struct flow_state *flow;  /* NULL: no installed flow */
};

/* The options of a segment that matter once a flow is established. */
struct seg_options {
	bool ts_present;
	uint32_t ts_val;
	uint32_t ts_ecr;
	uint8_t sack_count;
	struct tcp_sack_block sack[TCP_MAX_SACK_BLOCKS];
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
 * nothing outside a SYN; timestamps and SACK blocks count only if
 * negotiated (RFC 7323 section 3.2, RFC 2018 section 2). */
static bool read_options(const struct flow_state *flow,
			 const struct pkt_info *info, struct seg_options *seg)
{
	bool timestamps = flow->flags & FLOW_F_TIMESTAMPS;
	struct tcp_options opts;

	seg->ts_present = false;
	seg->sack_count = 0;
	if (info->options_len == 0)
		return true;
	if (timestamps &&
	    tcp_options_is_timestamp_only(info->options, info->options_len,
					  &seg->ts_val, &seg->ts_ecr)) {
		seg->ts_present = true;
		return true;
	}
	if (tcp_options_parse(info->options, info->options_len, &opts) != 0 ||
	    opts.has_unknown)
		return false;
	seg->ts_present = timestamps && opts.has_timestamp;
	seg->ts_val = opts.ts_val;
	seg->ts_ecr = opts.ts_ecr;
	if (flow->flags & FLOW_F_SACK) {
		seg->sack_count = opts.sack_count;
		memcpy(seg->sack, opts.sack, sizeof(seg->sack));
	}
	return true;
}

/* Why a segment of an installed flow must leave the fast path; 0 if it
 * stays. */
static enum sp_exception_reason leave_reason(const struct flow_state *flow,
					     const struct pkt_info *info,
					     struct seg_options *opts)
{
	/* Connection setup and reset: the slow path's state machine. */
	if (info->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG))
		return SP_EXC_FLAGS;
	/* Urgent data is not offered to applications. */
	if (info->flags & RTE_TCP_URG_FLAG)
		return SP_EXC_OPTIONS;
	/* An option we do not understand. */
	if (!read_options(flow, info, opts))
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
			     const struct seg_options *opts)
{
	return opts->ts_present && seq_lt(opts->ts_val, flow->ts_recent);
}

/* RFC 9293: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT)
 * then send an ACK, drop the segment". */
static bool acks_unsent(const struct flow_state *flow, uint32_t ack)
{
	return seq_gt(ack, flow->tx_next_seq);
}

/* RFC 5681 section 2: nothing new acknowledged, no data, no FIN, the same
 * window, and data outstanding. */
static bool is_duplicate_ack(const struct flow_state *flow,
			     const struct pkt_info *info, uint32_t window)
{
	return info->payload_len == 0 && !(info->flags & RTE_TCP_FIN_FLAG) &&
	       window == flow->tx_remote_win && flow->tx_sent > 0;
}

static void count_duplicate_ack(struct flow_state *flow)
{
	if (flow->dupack_count < UINT8_MAX)
		flow->dupack_count++;
}

static void take_rtt_sample(struct flow_state *flow, uint32_t sample)
{
	uint32_t rtt = flow->rtt_us;

	if (sample > RTT_SAMPLE_MAX_US)
		return;
	sample = RTE_MAX(sample, 1u);
	rtt = rtt == 0 ? sample : (7 * rtt + sample) / 8;
	__atomic_store_n(&flow->rtt_us, rtt, __ATOMIC_RELAXED);
}

/* RTT from the echoed timestamp (our TSval is the microsecond clock), or
 * from the segment Karn's rule timed (fp_tx.c). */
static void sample_rtt(struct fp_worker *w, struct flow_state *flow,
		       const struct seg_options *opts, uint32_t ack)
{
	if (opts->ts_present) {
		if (opts->ts_ecr != 0)
			take_rtt_sample(flow, (uint32_t)w->now_us - opts->ts_ecr);
		return;
	}
	if (flow->flags & FLOW_F_RTT_TIMING) {
		struct flow_recovery *rec = fp_recovery_of(w, flow);

		if (seq_geq(ack, rec->rtt_seq)) {
			take_rtt_sample(flow, (uint32_t)w->now_us - rec->rtt_start_us);
			flow->flags &= (uint16_t)~FLOW_F_RTT_TIMING;
		}
	}
}

/* RFC 3168 section 6.1.2: react to ECE (the slow path's congestion
 * control reads cnt_ecn_bytes) at most once per window of data, and say
 * so with CWR on the next new segment. */
static void note_ece(struct fp_worker *w, struct flow_state *flow)
{
	struct flow_recovery *rec;

	if (flow->flags & FLOW_F_CWR_WINDOW)
		return;
	rec = fp_recovery_of(w, flow);
	rec->cwr_seq = flow->tx_next_seq;
	flow->flags |= FLOW_F_CWR_WINDOW | FLOW_F_CWR_PENDING;
}

static void end_cwr_window(struct fp_worker *w, struct flow_state *flow)
{
	if ((flow->flags & FLOW_F_CWR_WINDOW) &&
	    seq_geq(fp_snd_una(flow), fp_recovery_of(w, flow)->cwr_seq))
		flow->flags &= (uint16_t)~FLOW_F_CWR_WINDOW;
}

/* SND.UNA < SEG.ACK: acked new sequence numbers (data and maybe our FIN). */
static void ack_new_data(struct fp_worker *w, struct fp_flow_work *work,
			 const struct pkt_info *info,
			 const struct seg_options *opts, uint32_t acked)
{
	struct flow_state *flow = work->flow;
	bool fin_acked = (flow->flags & FLOW_F_TX_FIN_SENT) &&
			 acked == flow->tx_sent;
	uint32_t bytes = acked - fin_acked;

	flow->tx_sent -= acked;
	flow->dupack_count = 0;
	fp_counter_add(&flow->cnt_acked_bytes, bytes);
	if (flow->flags & FLOW_F_ECN) {
		end_cwr_window(w, flow);
		if (info->flags & RTE_TCP_ECE_FLAG) {
			fp_counter_add(&flow->cnt_ecn_bytes, bytes);
			note_ece(w, flow);
		}
	}
	sample_rtt(w, flow, opts, info->ack);
	work->acked_bytes += bytes;
	/* FIN-WAIT-1 -> FIN-WAIT-2, CLOSING -> TIME-WAIT, LAST-ACK -> CLOSED:
	 * the slow path's part. */
	if (fin_acked) {
		flow->flags |= FLOW_F_TX_FIN_ACKED;
		fp_notify_slowpath(w, SP_NOTIFY_TX_FIN_ACKED, fp_flow_id(w, flow),
				   0);
	}
}

/* Recovery has something to do with this ACK: it is on, or the ACK may
 * start it. */
static bool concerns_recovery(const struct flow_state *flow,
			      const struct seg_options *opts)
{
	return flow->tx_recovery != FLOW_TX_OPEN || flow->tx_sacked_count > 0 ||
	       opts->sack_count > 0 || flow->dupack_count >= DUPACK_THRESHOLD;
}

/* RFC 9293 fifth step, "check the ACK field", for ESTABLISHED and the
 * states after a FIN. */
static void rx_ack(struct fp_worker *w, struct fp_flow_work *work,
		   const struct pkt_info *info, const struct seg_options *opts)
{
	struct flow_state *flow = work->flow;
	uint32_t window = (uint32_t)info->window << flow->snd_wscale;
	uint32_t snd_una = fp_snd_una(flow);

	/* SEG.ACK < SND.UNA: an old duplicate, ignored. */
	if (seq_lt(info->ack, snd_una))
		return;
	uint32_t acked = info->ack - snd_una;
	if (acked > 0)
		ack_new_data(w, work, info, opts, acked);
	else if (is_duplicate_ack(flow, info, window))
		count_duplicate_ack(flow);
	if (concerns_recovery(flow, opts)) {
		fp_sack_received(w, flow, opts->sack, opts->sack_count);
		fp_recovery_after_ack(w, flow, acked > 0);
	}
	/* SND.WND, relative to the new SND.UNA. */
	flow->tx_remote_win = window;
	fp_txq_push(w, flow);
}

/* RFC 7323 section 4.3: TS.Recent follows segments covering
 * Last.ACK.sent, approximated by RCV.NXT. */
static void update_ts_recent(struct flow_state *flow,
			     const struct seg_options *opts, uint32_t seq)
{
	if (opts->ts_present && seq_leq(seq, flow->rx_next_seq) &&
	    seq_geq(opts->ts_val, flow->ts_recent))
		flow->ts_recent = opts->ts_val;
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

static void rx_in_order(struct fp_worker *w, struct fp_flow_work *work,
			const struct seg_text *text)
{
	struct flow_state *flow = work->flow;

	circ_write(rx_buffer(flow), flow->rx_buf_size, flow->rx_head, text->data,
		   text->len);
	advance_rcv_nxt(work, text->len);
	/* Data held beyond the hole is received data once it is filled. */
	if (flow->rx_ooo_count > 0)
		advance_rcv_nxt(work, fp_rx_reassemble(w, flow));
	work->send_ack = true;
}

/* Data beyond a hole goes to its place in the receive buffer, if there is
 * an interval left to remember it by. */
static void rx_out_of_order(struct fp_worker *w, struct flow_state *flow,
			    const struct seg_text *text)
{
	uint32_t pos;

	if (!fp_rx_out_of_order(w, flow, text->seq, text->len))
		return;
	pos = circ_advance(flow->rx_head, text->seq - flow->rx_next_seq,
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
	uint32_t first_seq = text->seq;

	trim_text(flow, text);
	if (text->len < received) {
		work->send_ack = true; /* some was old or beyond the window */
		if (seq_lt(first_seq, flow->rx_next_seq))
			fp_rx_duplicate(w, flow, first_seq,
					first_seq + RTE_MIN(received, flow->rx_next_seq -
								  first_seq));
	}
	if (text->len == 0)
		return;
	if (text->seq == flow->rx_next_seq) {
		rx_in_order(w, work, text);
	} else {
		rx_out_of_order(w, flow, text);
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

/* RFC 3168 section 6.1.3: a CE mark is echoed with ECE until the sender
 * says with CWR that it reduced its window. */
static void rx_ecn(struct flow_state *flow, const struct pkt_info *info)
{
	if (info->flags & RTE_TCP_CWR_FLAG)
		flow->flags &= (uint16_t)~FLOW_F_ECE_ECHO;
	if ((info->ip->type_of_service & IPV4_ECN_MASK) == IPV4_ECN_CE)
		flow->flags |= FLOW_F_ECE_ECHO;
}

static void tcp_input(struct fp_worker *w, struct fp_flow_work *work,
		      const struct pkt_info *info, const struct seg_options *opts)
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
	    is_old_timestamp(flow, opts)) {
		work->send_ack = true;
		return;
	}
	update_ts_recent(flow, opts, text.seq);
	if (flow->flags & FLOW_F_ECN)
		rx_ecn(flow, info);
	/* Second to fourth (RST, security, SYN): the slow path's. */
	/* Fifth: check the ACK field. */
	if (!(info->flags & RTE_TCP_ACK_FLAG))
		return;
	if (acks_unsent(flow, info->ack)) {
		work->send_ack = true;
		return;
	}
	rx_ack(w, work, info, opts);
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
	struct seg_options opts;
	enum sp_exception_reason reason;
	struct fp_flow_work *work;

	if (flow == NULL || !flow_matches(flow, &seg->key))
		return SP_EXC_NO_FLOW;
	if (flow->flags & FLOW_F_DEAD)
		return 0; /* being removed: dropped */
	reason = leave_reason(flow, &seg->info, &opts);
	if (reason != 0)
		return reason;
	work = burst_entry(w, burst, flow);
	if (work == NULL) {
		w->core->rx_dropped++;
		return 0;
	}
	tcp_input(w, work, &seg->info, &opts);
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
		work->flow->rx_last_ms = (uint32_t)(w->now_us / 1000);
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
