/*
 * Sequence-number interval lists (seq_interval.h).  Comparisons are
 * modulo 2^32 (tcp_seq.h): every list spans far less than 2^31.
 */
#include "seq_interval.h"

#include <string.h>

#include "tcp_seq.h"

static void remove_range(struct seq_interval *list, uint8_t *count,
			 unsigned first, unsigned n)
{
	memmove(&list[first], &list[first + n],
		(*count - first - n) * sizeof(*list));
	*count = (uint8_t)(*count - n);
}

/* The first part of [start, end) inside list[i]. */
static void overlap_with(const struct seq_interval *iv, uint32_t start,
			 uint32_t end, struct seq_interval *dup)
{
	uint32_t from = seq_gt(iv->start, start) ? iv->start : start;
	uint32_t to = seq_lt(iv->end, end) ? iv->end : end;

	if (seq_lt(from, to))
		*dup = (struct seq_interval){ from, to };
}

int seq_intervals_add(struct seq_interval *list, uint8_t *count, unsigned cap,
		      uint32_t start, uint32_t end, struct seq_interval *dup)
{
	unsigned first = 0, last;

	if (dup != NULL)
		*dup = (struct seq_interval){ start, start };
	/* First interval that ends at or after start: it may touch. */
	while (first < *count && seq_lt(list[first].end, start))
		first++;
	/* Intervals from first on that start at or before end touch too. */
	last = first;
	while (last < *count && seq_leq(list[last].start, end)) {
		if (dup != NULL && dup->start == dup->end)
			overlap_with(&list[last], start, end, dup);
		last++;
	}
	if (last == first) {
		if (*count == cap)
			return -1;
		memmove(&list[first + 1], &list[first],
			(*count - first) * sizeof(*list));
		list[first] = (struct seq_interval){ start, end };
		(*count)++;
		return (int)first;
	}
	/* Merge list[first .. last-1] and the new one into list[first]. */
	if (seq_lt(start, list[first].start))
		list[first].start = start;
	list[first].end = seq_gt(end, list[last - 1].end) ? end : list[last - 1].end;
	remove_range(list, count, first + 1, last - first - 1);
	return (int)first;
}

void seq_intervals_trim(struct seq_interval *list, uint8_t *count, uint32_t seq)
{
	unsigned gone = 0;

	while (gone < *count && seq_leq(list[gone].end, seq))
		gone++;
	remove_range(list, count, 0, gone);
	if (*count > 0 && seq_lt(list[0].start, seq))
		list[0].start = seq;
}

uint32_t seq_intervals_bytes(const struct seq_interval *list, uint8_t count)
{
	uint32_t bytes = 0;

	for (unsigned i = 0; i < count; i++)
		bytes += seq_interval_len(&list[i]);
	return bytes;
}
