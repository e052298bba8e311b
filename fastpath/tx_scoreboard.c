/*
 * Lost holes of the SACK scoreboard (tx_scoreboard.h, RFC 6675).
 */
#include "tx_scoreboard.h"

#include "tcp_seq.h"

static bool is_lost_below(const struct tx_scoreboard *sb, uint32_t sacked_above,
			  unsigned blocks_above)
{
	return blocks_above >= TX_DUP_THRESH ||
	       sacked_above > (TX_DUP_THRESH - 1) * sb->mss;
}

/* Visit the lost part of every hole in order; visit returns true to stop.
 * Hole i lies below sacked[i] (the last one below limit). */
typedef bool (*lost_visitor)(struct seq_interval lost, void *arg);

static void for_each_lost(const struct tx_scoreboard *sb, lost_visitor visit,
			  void *arg)
{
	uint32_t sacked_above = seq_intervals_bytes(sb->sacked, sb->count);
	uint32_t hole_start = sb->una;

	for (unsigned i = 0; i <= sb->count; i++) {
		uint32_t hole_end = i < sb->count ? sb->sacked[i].start : sb->limit;
		uint32_t lost_end = hole_start;

		if (seq_gt(hole_end, sb->limit))
			hole_end = sb->limit;
		if (sb->all_lost || is_lost_below(sb, sacked_above, sb->count - i))
			lost_end = hole_end;
		else if (i == 0 && sb->in_recovery)
			lost_end = seq_lt(sb->una + sb->mss, hole_end) ?
					   sb->una + sb->mss : hole_end;
		if (seq_lt(hole_start, lost_end) &&
		    visit((struct seq_interval){ hole_start, lost_end }, arg))
			return;
		if (i == sb->count || !seq_lt(sb->sacked[i].end, sb->limit))
			return;
		sacked_above -= seq_interval_len(&sb->sacked[i]);
		hole_start = sb->sacked[i].end;
	}
}

bool tx_scoreboard_una_lost(const struct tx_scoreboard *sb)
{
	return sb->count > 0 &&
	       is_lost_below(sb, seq_intervals_bytes(sb->sacked, sb->count),
			     sb->count);
}

struct next_lost_search {
	uint32_t from;
	uint32_t mss;
	bool found;
	struct seq_interval range;
};

static bool take_first_after(struct seq_interval lost, void *arg)
{
	struct next_lost_search *search = arg;

	if (seq_leq(lost.end, search->from))
		return false;
	if (seq_lt(lost.start, search->from))
		lost.start = search->from;
	if (lost.end - lost.start > search->mss)
		lost.end = lost.start + search->mss;
	search->range = lost;
	search->found = true;
	return true;
}

bool tx_scoreboard_next_lost(const struct tx_scoreboard *sb, uint32_t from,
			     struct seq_interval *out)
{
	struct next_lost_search search = { .from = from, .mss = sb->mss };

	for_each_lost(sb, take_first_after, &search);
	*out = search.range;
	return search.found;
}

struct lost_sum {
	uint32_t from;
	uint32_t bytes;
};

static bool add_after(struct seq_interval lost, void *arg)
{
	struct lost_sum *sum = arg;

	if (seq_lt(lost.start, sum->from))
		lost.start = sum->from;
	if (seq_lt(lost.start, lost.end))
		sum->bytes += lost.end - lost.start;
	return false;
}

uint32_t tx_scoreboard_lost_bytes(const struct tx_scoreboard *sb, uint32_t from)
{
	struct lost_sum sum = { .from = from };

	for_each_lost(sb, add_after, &sum);
	return sum.bytes;
}
