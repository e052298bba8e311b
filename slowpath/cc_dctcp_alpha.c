/*
 * DCTCP's marked-fraction estimate alpha, RFC 8257 section 3.3.
 */
#include "cc_dctcp_alpha.h"

/* alpha has 10 fractional bits: a smaller g would not move it. */
#define DCTCP_G_SHIFT_MAX 10u
/* Fixed point of the (1 - g)^n decay, finer than alpha's. */
#define DECAY_ONE 65536u

void cc_dctcp_alpha_init(struct tcp_cc *cc, uint32_t window_bytes)
{
	cc->state.dctcp.alpha = CC_DCTCP_ALPHA_ONE;
	cc->state.dctcp.window_acked = 0;
	cc->state.dctcp.window_marked = 0;
	cc->state.dctcp.window_bytes = window_bytes;
}

/* (1 - g)^windows by squaring: a control interval can span many
 * observation windows (2 ms against RTTs of tens of microseconds). */
static uint64_t decay_over(unsigned g_shift, uint64_t windows)
{
	uint64_t base = DECAY_ONE - (DECAY_ONE >> g_shift);
	uint64_t decay = DECAY_ONE;

	while (windows != 0 && decay != 0) {
		if (windows & 1)
			decay = decay * base / DECAY_ONE;
		base = base * base / DECAY_ONE;
		windows >>= 1;
	}
	return decay;
}

uint32_t cc_dctcp_alpha_observe(struct tcp_cc *cc,
				const struct tcp_cc_config *cfg,
				const struct tcp_cc_sample *sample)
{
	uint32_t acked = sample->acked_bytes;
	uint32_t marked = sample->ecn_bytes < acked ? sample->ecn_bytes : acked;
	uint64_t seen = (uint64_t)cc->state.dctcp.window_acked + acked;
	uint64_t seen_marked = (uint64_t)cc->state.dctcp.window_marked + marked;
	uint32_t window = cc->state.dctcp.window_bytes;
	unsigned g_shift = cfg->dctcp_g_shift < DCTCP_G_SHIFT_MAX ?
				   cfg->dctcp_g_shift : DCTCP_G_SHIFT_MAX;

	if (seen < window) {
		cc->state.dctcp.window_acked = (uint32_t)seen;
		cc->state.dctcp.window_marked = (uint32_t)seen_marked;
		return marked;
	}
	/* The counters cannot tell how the marks fell across the windows
	 * of one interval: every window gets the interval's fraction F,
	 * and n updates toward the same F add up to
	 * alpha = F + (alpha - F) * (1 - g)^n.  The division truncates
	 * towards F, so alpha settles on F rather than next to it. */
	int64_t fraction = (int64_t)(seen_marked * CC_DCTCP_ALPHA_ONE / seen);
	int64_t distance = (int64_t)cc->state.dctcp.alpha - fraction;
	int64_t decay = (int64_t)decay_over(g_shift, seen / window);

	cc->state.dctcp.alpha =
		(uint32_t)(fraction + distance * decay / DECAY_ONE);
	cc->state.dctcp.window_acked = 0;
	cc->state.dctcp.window_marked = 0;
	cc->state.dctcp.window_bytes = 0;
	return marked;
}

void cc_dctcp_alpha_open(struct tcp_cc *cc, uint32_t window_bytes)
{
	if (cc->state.dctcp.window_bytes == 0)
		cc->state.dctcp.window_bytes = window_bytes;
}

uint64_t cc_dctcp_alpha_reduce(const struct tcp_cc *cc, uint64_t value)
{
	return value - value * cc->state.dctcp.alpha /
			       (2 * CC_DCTCP_ALPHA_ONE);
}
