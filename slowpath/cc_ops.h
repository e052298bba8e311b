/*
 * One table of functions per congestion control algorithm (tcp_cc.h).
 * tcp_cc.c does the work every algorithm shares (MSS and window clamps,
 * minimum RTT) and hands the rest to the table of tcp_cc.algorithm.
 */
#ifndef TAS_CC_OPS_H
#define TAS_CC_OPS_H

#include <stdint.h>

#include "tcp_cc.h"

struct tcp_cc_ops {
	const char *name;  /* as --cc and TAS_CMD_SET_CC spell it */
	/* After tcp_cc_init's common part (mss, windows, ssthresh); NULL
	 * when the common part is all the algorithm needs. */
	void (*init)(struct tcp_cc *cc, const struct tcp_cc_config *cfg);
	/* cc->min_rtt_us already includes sample->rtt_us. */
	void (*on_ack)(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		       const struct tcp_cc_sample *sample);
	void (*on_loss)(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			uint32_t flight, uint64_t now_us);
	void (*on_timeout)(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			   uint32_t flight, uint64_t now_us);
};

extern const struct tcp_cc_ops cc_newreno_ops;
extern const struct tcp_cc_ops cc_cubic_ops;
extern const struct tcp_cc_ops cc_dctcp_ops;
extern const struct tcp_cc_ops cc_dctcp_rate_ops;
extern const struct tcp_cc_ops cc_timely_ops;
extern const struct tcp_cc_ops cc_const_rate_ops;

#endif /* TAS_CC_OPS_H */
