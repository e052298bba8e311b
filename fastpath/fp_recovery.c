/*
 * Loss recovery in the fast path, both directions; everything here works
 * on flow_recovery (flow_recovery.h) and runs only once a segment went
 * missing or arrived out of order.
 *
 * Receiver: RFC 9293 section 3.10.7.4 (segments beyond RCV.NXT are kept),
 * RFC 2018 (SACK blocks on the ACKs, the block of the latest segment
 * first), RFC 2883 (D-SACK: a duplicate is reported once, first), RFC 5681
 * section 4.2 (out-of-order data is acknowledged at once).
 *
 * Sender: RFC 6675 (SACK scoreboard, IsLost, pipe, NextSeg), RFC 6582
 * (NewReno partial ACKs when the peer has no SACK), RFC 5681 section 3.2
 * (three duplicate ACKs), RFC 6298 section 5 and RFC 5681 section 3.1
 * (after a timeout everything not SACKed is resent, starting with one
 * segment).  The congestion window is the slow path's (tx_cwnd); this
 * file decides what to send within it.
 */
#include "fp_internal.h"

#include "flow_recovery.h"
#include "tcp_seq.h"
#include "tx_scoreboard.h"

/* ---- receiver ---- */

static void note_dsack(struct flow_state *flow, struct flow_recovery *rec,
		       struct seq_interval dup)
{
	if (!(flow->flags & FLOW_F_SACK) || dup.start == dup.end)
		return;
	rec->rx_dsack = dup;
	flow->flags |= FLOW_F_DSACK;
}

void fp_rx_duplicate(struct fp_worker *w, struct flow_state *flow,
		     uint32_t start, uint32_t end)
{
	note_dsack(flow, fp_recovery_of(w, flow), (struct seq_interval){ start, end });
}

bool fp_rx_out_of_order(struct fp_worker *w, struct flow_state *flow,
			uint32_t seq, uint32_t len)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	struct seq_interval dup;
	int slot = seq_intervals_add(rec->rx_ooo, &flow->rx_ooo_count,
				     FLOW_OOO_INTERVALS, seq, seq + len, &dup);

	/* No room for another interval: dropped, the peer resends it. */
	if (slot < 0)
		return false;
	rec->rx_ooo_recent = (uint8_t)slot;
	note_dsack(flow, rec, dup);
	return true;
}

uint32_t fp_rx_reassemble(struct fp_worker *w, struct flow_state *flow)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	uint32_t rcv_nxt = flow->rx_next_seq, joined_end = rcv_nxt;

	/* In-order data may have reached into several intervals. */
	for (unsigned i = 0; i < flow->rx_ooo_count &&
			     seq_leq(rec->rx_ooo[i].start, joined_end); i++)
		if (seq_gt(rec->rx_ooo[i].end, joined_end))
			joined_end = rec->rx_ooo[i].end;
	seq_intervals_trim(rec->rx_ooo, &flow->rx_ooo_count, joined_end);
	rec->rx_ooo_recent = 0;
	return joined_end - rcv_nxt;
}

static struct tcp_sack_block sack_block(struct seq_interval iv)
{
	return (struct tcp_sack_block){ iv.start, iv.end };
}

unsigned fp_rx_sack_blocks(struct fp_worker *w, struct flow_state *flow,
			   struct tcp_sack_block *blocks, unsigned max)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	unsigned n = 0;

	if (flow->flags & FLOW_F_DSACK) {
		blocks[n++] = sack_block(rec->rx_dsack);
		flow->flags &= (uint16_t)~FLOW_F_DSACK;
	}
	if (flow->rx_ooo_count == 0)
		return n;
	if (rec->rx_ooo_recent < flow->rx_ooo_count && n < max)
		blocks[n++] = sack_block(rec->rx_ooo[rec->rx_ooo_recent]);
	for (unsigned i = 0; i < flow->rx_ooo_count && n < max; i++)
		if (i != rec->rx_ooo_recent)
			blocks[n++] = sack_block(rec->rx_ooo[i]);
	return n;
}

/* ---- sender: the scoreboard and the recovery state ---- */

static struct tx_scoreboard scoreboard_of(const struct flow_state *flow,
					  const struct flow_recovery *rec)
{
	bool recovering = flow->tx_recovery != FLOW_TX_OPEN;

	return (struct tx_scoreboard){
		.sacked = rec->tx_sacked,
		.count = flow->tx_sacked_count,
		.una = fp_snd_una(flow),
		.limit = recovering ? rec->recovery_point : flow->tx_next_seq,
		.mss = flow->mss,
		.in_recovery = recovering,
		.all_lost = flow->tx_recovery == FLOW_TX_LOSS_RECOVERY,
	};
}

/* A full scoreboard gives up its highest block for a lower one: what
 * lies lower decides what is resent next. */
static void record_sack(struct flow_state *flow, struct flow_recovery *rec,
			uint32_t start, uint32_t end)
{
	uint8_t *count = &flow->tx_sacked_count;

	if (seq_intervals_add(rec->tx_sacked, count, FLOW_SACKED_BLOCKS, start,
			      end, NULL) >= 0)
		return;
	if (!seq_lt(start, rec->tx_sacked[*count - 1].start))
		return;
	(*count)--;
	seq_intervals_add(rec->tx_sacked, count, FLOW_SACKED_BLOCKS, start, end, NULL);
}

void fp_sack_received(struct fp_worker *w, struct flow_state *flow,
		      const struct tcp_sack_block *blocks, unsigned count)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	uint32_t una = fp_snd_una(flow), snd_nxt = flow->tx_next_seq;

	for (unsigned i = 0; i < count; i++) {
		uint32_t start = blocks[i].start, end = blocks[i].end;

		/* D-SACKs (below SND.UNA) and blocks naming data we never
		 * sent carry nothing for the scoreboard (RFC 2883 section
		 * 4.1, RFC 6675 section 5). */
		if (!seq_lt(start, end) || seq_leq(end, una) ||
		    seq_gt(end, snd_nxt))
			continue;
		if (seq_lt(start, una))
			start = una;
		record_sack(flow, rec, start, end);
	}
}

static void stop_rtt_timing(struct flow_state *flow)
{
	flow->flags &= (uint16_t)~FLOW_F_RTT_TIMING;
}

/* RFC 6675 section 5 steps (4.1) to (4.3): remember how far recovery
 * goes, tell congestion control, resend from SND.UNA. */
static void enter_fast_recovery(struct flow_state *flow,
				struct flow_recovery *rec)
{
	rec->recovery_point = flow->tx_next_seq;
	rec->high_rxt = fp_snd_una(flow);
	flow->tx_recovery = FLOW_TX_FAST_RECOVERY;
	stop_rtt_timing(flow);
	fp_counter_add(&flow->cnt_recoveries, 1);
}

static bool shows_loss(const struct flow_state *flow,
		       const struct flow_recovery *rec)
{
	struct tx_scoreboard sb = scoreboard_of(flow, rec);

	return flow->dupack_count >= TX_DUP_THRESH || tx_scoreboard_una_lost(&sb);
}

void fp_recovery_after_ack(struct fp_worker *w, struct flow_state *flow,
			   bool advanced)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	uint32_t una = fp_snd_una(flow);

	if (flow->tx_sacked_count > 0)
		seq_intervals_trim(rec->tx_sacked, &flow->tx_sacked_count, una);
	if (flow->tx_recovery != FLOW_TX_OPEN) {
		/* A full ACK ends recovery (RFC 6675 step (C), RFC 6582);
		 * a partial one moves the resending on (RFC 6582 step 3). */
		if (!seq_geq(una, rec->recovery_point)) {
			if (advanced && seq_lt(rec->high_rxt, una))
				rec->high_rxt = una;
			return;
		}
		flow->tx_recovery = FLOW_TX_OPEN;
		flow->dupack_count = 0;
	}
	if (flow->tx_sent > 0 && shows_loss(flow, rec))
		enter_fast_recovery(flow, rec);
}

/* Everything not SACKed below SND.NXT is lost and is resent from
 * SND.UNA (RFC 6675 section 5.1, RFC 5681 section 3.1). */
static void enter_loss_recovery(struct flow_state *flow,
				struct flow_recovery *rec)
{
	rec->recovery_point = flow->tx_next_seq;
	rec->high_rxt = fp_snd_una(flow);
	flow->tx_recovery = FLOW_TX_LOSS_RECOVERY;
	flow->dupack_count = 0;
	stop_rtt_timing(flow);
}

void fp_recovery_timeout(struct fp_worker *w, struct flow_state *flow,
			 bool forget_sacks)
{
	if (flow->tx_sent == 0)
		return;
	/* A receiver may discard data it SACKed (RFC 2018 section 8): after
	 * repeated timeouts the scoreboard is not trusted any more. */
	if (forget_sacks)
		flow->tx_sacked_count = 0;
	enter_loss_recovery(flow, fp_recovery_of(w, flow));
}

void fp_recovery_probe(struct fp_worker *w, struct flow_state *flow)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	uint32_t una = fp_snd_una(flow), tail;

	if (flow->tx_sent == 0)
		return;
	if (flow->tx_recovery != FLOW_TX_OPEN) {
		/* The peer fell silent (no ACK at all for the probe timeout)
		 * during recovery: whatever was sent before and is not SACKed
		 * is lost, retransmissions included (RFC 8985's view: it was
		 * sent more than an RTT ago).  The congestion outlasted the
		 * reduction: a new episode, and a new reduction unless a
		 * timeout shrank the window already.  Resend from SND.UNA as
		 * after a timeout, the first segment at once, whatever the
		 * window. */
		struct tx_scoreboard sb;
		struct seq_interval range;

		if (flow->tx_recovery == FLOW_TX_FAST_RECOVERY)
			fp_counter_add(&flow->cnt_recoveries, 1);
		enter_loss_recovery(flow, rec);
		sb = scoreboard_of(flow, rec);
		if (tx_scoreboard_next_lost(&sb, una, &range) &&
		    fp_tx_retransmit(w, flow, range.start, seq_interval_len(&range)))
			rec->high_rxt = range.end;
		return;
	}
	/* RFC 8985 section 7.3: new data if the peer's window allows, else
	 * the last segment sent again, so that the ACK it draws (with SACK
	 * blocks) shows what is missing. */
	if (fp_tx_send_new(w, flow, UINT32_MAX))
		return;
	tail = RTE_MIN(flow->tx_sent, (uint32_t)flow->mss);
	fp_tx_retransmit(w, flow, flow->tx_next_seq - tail, tail);
}

/* ---- sender: what to send ---- */

/* RFC 6675 pipe: in flight, less what was SACKed and what is lost and
 * not yet resent. */
static uint32_t pipe_of(const struct flow_state *flow,
			const struct flow_recovery *rec,
			const struct tx_scoreboard *sb)
{
	uint32_t gone = seq_intervals_bytes(rec->tx_sacked, flow->tx_sacked_count);
	uint32_t from = seq_gt(rec->high_rxt, sb->una) ? rec->high_rxt : sb->una;

	if (sb->in_recovery)
		gone += tx_scoreboard_lost_bytes(sb, from);
	return gone < flow->tx_sent ? flow->tx_sent - gone : 0;
}

/* The next lost range to resend, if recovery is on. */
static bool next_retransmission(const struct flow_state *flow,
				const struct flow_recovery *rec,
				const struct tx_scoreboard *sb,
				struct seq_interval *range)
{
	uint32_t from = seq_gt(rec->high_rxt, sb->una) ? rec->high_rxt : sb->una;

	return sb->in_recovery && flow->tx_cwnd > 0 &&
	       tx_scoreboard_next_lost(sb, from, range);
}

static uint32_t cwnd_room(const struct flow_state *flow, uint32_t pipe)
{
	uint32_t cwnd = __atomic_load_n(&flow->tx_cwnd, __ATOMIC_RELAXED);

	return cwnd > pipe ? cwnd - pipe : 0;
}

bool fp_recovery_may_send(struct fp_worker *w, const struct flow_state *flow)
{
	const struct flow_recovery *rec = fp_recovery_of(w, flow);
	struct tx_scoreboard sb = scoreboard_of(flow, rec);
	uint32_t room = cwnd_room(flow, pipe_of(flow, rec, &sb));
	struct seq_interval range;

	if (room == 0)
		return false;
	return next_retransmission(flow, rec, &sb, &range) ||
	       fp_tx_may_send_new(flow, room);
}

unsigned fp_recovery_send(struct fp_worker *w, struct flow_state *flow,
			  unsigned limit)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);
	unsigned sent = 0;

	while (sent < limit && fp_pacing_allows(w, flow)) {
		struct tx_scoreboard sb = scoreboard_of(flow, rec);
		uint32_t room = cwnd_room(flow, pipe_of(flow, rec, &sb));
		struct seq_interval range;

		if (room == 0)
			break;
		/* RFC 6675 NextSeg rule 1: lost data first ... */
		if (next_retransmission(flow, rec, &sb, &range)) {
			if (!fp_tx_retransmit(w, flow, range.start,
					      seq_interval_len(&range)))
				break;
			rec->high_rxt = range.end;
			sent++;
			continue;
		}
		/* ... then rule 2: new data, within the windows. */
		if (!fp_tx_send_new(w, flow, room))
			break;
		sent++;
	}
	return sent;
}
