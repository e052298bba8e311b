/*
 * Option negotiation at connection setup: MSS (RFC 9293 section 3.7.1,
 * RFC 6691), window scale and timestamps (RFC 7323), SACK-permitted
 * (RFC 2018).  An option is in effect only if both ends sent it on their
 * SYNs.
 */
#include "tcp_negotiate.h"

#define TCP_MAX_UNSCALED_WINDOW 65535u

uint8_t tcp_wscale_for_buffer(uint32_t rx_buf_size)
{
	uint8_t shift = 0;

	while (shift < TCP_MAX_WSCALE &&
	       (rx_buf_size >> shift) > TCP_MAX_UNSCALED_WINDOW)
		shift++;
	return shift;
}

static uint16_t peer_mss(const struct tcp_options *peer)
{
	if (!peer->has_mss)
		return TCP_DEFAULT_MSS;
	return peer->mss < TCP_MIN_PEER_MSS ? TCP_MIN_PEER_MSS : peer->mss;
}

void tcp_negotiate(const struct tcp_local_options *ours,
		   const struct tcp_options *peer, struct tcp_negotiated *out)
{
	*out = (struct tcp_negotiated){
		.timestamps = ours->offer_timestamps && peer->has_timestamp,
		.sack = ours->offer_sack && peer->sack_permitted,
		.wscale = ours->offer_wscale && peer->has_wscale,
	};

	uint16_t mss = peer_mss(peer);
	if (mss > ours->mss)
		mss = ours->mss;
	/* RFC 6691: the MSS counts payload only; options we put on every
	 * segment come out of it. */
	if (out->timestamps)
		mss -= TCP_TS_OPTIONS_LEN;
	out->send_mss = mss;

	/* RFC 7323 section 2.2: scaling is on only if both sent WS. */
	if (out->wscale) {
		out->snd_wscale = peer->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE
								: peer->wscale;
		out->rcv_wscale = tcp_wscale_for_buffer(ours->rx_buf_size);
	}
}

void tcp_syn_options(const struct tcp_local_options *ours, uint32_t ts_val,
		     struct tcp_syn_options *out)
{
	*out = (struct tcp_syn_options){
		.has_mss = true,
		.mss = ours->mss,
		.has_wscale = ours->offer_wscale,
		.wscale = ours->offer_wscale ?
				  tcp_wscale_for_buffer(ours->rx_buf_size) : 0,
		.sack_permitted = ours->offer_sack,
		.has_timestamp = ours->offer_timestamps,
		.ts_val = ours->offer_timestamps ? ts_val : 0,
	};
}

void tcp_synack_options(const struct tcp_local_options *ours,
			const struct tcp_options *peer_syn, uint32_t ts_val,
			struct tcp_syn_options *out)
{
	struct tcp_negotiated agreed;

	tcp_negotiate(ours, peer_syn, &agreed);
	*out = (struct tcp_syn_options){
		.has_mss = true,
		.mss = ours->mss,
		.has_wscale = agreed.wscale,
		.wscale = agreed.rcv_wscale,
		.sack_permitted = agreed.sack,
		.has_timestamp = agreed.timestamps,
		.ts_val = agreed.timestamps ? ts_val : 0,
		.ts_ecr = agreed.timestamps ? peer_syn->ts_val : 0,
	};
}
