/*
 * DCTCP's estimate of the fraction of marked bytes, RFC 8257 section 3.3,
 * shared by the window (dctcp) and the rate (dctcp-rate) variants:
 *   at the end of each observation window, F = marked / acked and
 *   alpha = (1 - g) * alpha + g * F, with g = 1 / 2^cfg->dctcp_g_shift;
 *   a reduction multiplies by (1 - alpha / 2).
 * alpha is fixed point, CC_DCTCP_ALPHA_ONE = 1.0.
 */
#ifndef TAS_CC_DCTCP_ALPHA_H
#define TAS_CC_DCTCP_ALPHA_H

#include <stdint.h>

#include "tcp_cc.h"

#define CC_DCTCP_ALPHA_ONE 1024u

/* alpha = 1, as RFC 8257 recommends: the first marks halve the window
 * as RFC 3168 would; the first observation window is window_bytes. */
void cc_dctcp_alpha_init(struct tcp_cc *cc, uint32_t window_bytes);  /* > 0 */

/* Count one interval's acked and marked bytes.  When they complete the
 * observation window, update alpha (once per window they span) and
 * close the window.  Returns the marked bytes, at most the acked ones. */
uint32_t cc_dctcp_alpha_observe(struct tcp_cc *cc,
				const struct tcp_cc_config *cfg,
				const struct tcp_cc_sample *sample);

/* At the end of the interval: if the window closed, open the next one
 * with window_bytes, what the sender has out now (RFC 8257: the window
 * ends at the SND.NXT of its start), so after this interval's growth or
 * reduction. */
void cc_dctcp_alpha_open(struct tcp_cc *cc, uint32_t window_bytes);  /* > 0 */

/* value * (1 - alpha / 2) */
uint64_t cc_dctcp_alpha_reduce(const struct tcp_cc *cc, uint64_t value);

#endif /* TAS_CC_DCTCP_ALPHA_H */
