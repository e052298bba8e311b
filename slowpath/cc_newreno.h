/*
 * NewReno's reactions to loss, which DCTCP shares (RFC 8257 section 3.5:
 * a DCTCP sender reacts to loss as conventional TCP does).
 */
#ifndef TAS_CC_NEWRENO_H
#define TAS_CC_NEWRENO_H

#include <stdint.h>

#include "tcp_cc.h"

/* Fast retransmit (RFC 5681 section 3.2 step 2, RFC 6582): ssthresh =
 * max(flight / 2, 2 * mss), cwnd = ssthresh once recovery deflates. */
void cc_newreno_on_loss(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			uint32_t flight, uint64_t now_us);

/* Retransmission timeout (RFC 5681 section 3.1): ssthresh by equation
 * (4) as above, cwnd to the loss window, TCP_CC_LOSS_SEGMENTS * mss. */
void cc_newreno_on_timeout(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			   uint32_t flight, uint64_t now_us);

#endif /* TAS_CC_NEWRENO_H */
