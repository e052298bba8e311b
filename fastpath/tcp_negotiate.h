/*
 * Option negotiation at connection setup: MSS (RFC 9293 section 3.7.1,
 * RFC 6691), window scale and timestamps (RFC 7323), SACK-permitted
 * (RFC 2018).  Pure functions used by the slow path for passive and
 * active opens.
 *
 * Passive open: tcp_negotiate(ours, peer SYN) gives the flow's parameters,
 * tcp_synack_options(ours, peer SYN, ...) the options of the SYN-ACK.
 * Active open: tcp_syn_options(ours, ...) the options of the SYN, then
 * tcp_negotiate(ours, peer SYN-ACK) the flow's parameters.
 */
#ifndef TAS_TCP_NEGOTIATE_H
#define TAS_TCP_NEGOTIATE_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp_options.h"

/* RFC 9293 section 3.7.1: the send MSS when the peer sends no MSS option. */
#define TCP_DEFAULT_MSS 536
/* Floor for a peer's MSS, as Linux's tcp_min_snd_mss: tiny segments would
 * let a peer make us send a packet per few bytes. */
#define TCP_MIN_PEER_MSS 48
/* IPv4 and TCP headers without options (RFC 6691). */
#define TCP_IPV4_HEADERS_LEN 40

/* What we offer: the same for every connection of a service. */
struct tcp_local_options {
	uint16_t mss;             /* tcp_mss_from_mtu(mtu) */
	uint32_t rx_buf_size;     /* our receive buffer, sets our shift */
	bool offer_timestamps;
	bool offer_sack;
	bool offer_wscale;
};

/* The agreed parameters of a connection. */
struct tcp_negotiated {
	/* Payload bytes per data segment (flow_state.mss): min(peer MSS or
	 * 536, our MSS), less the timestamp option each segment carries when
	 * timestamps are on (RFC 6691). */
	uint16_t send_mss;
	bool timestamps;          /* both sent TS */
	bool sack;                /* both sent SACK-permitted */
	bool wscale;              /* both sent WS; otherwise both shifts 0 */
	bool ecn;                 /* RFC 3168 ECN-setup SYN and SYN-ACK (the
				   * slow path sets it, from the flags) */
	uint8_t snd_wscale;       /* peer's shift, clamped to TCP_MAX_WSCALE */
	uint8_t rcv_wscale;       /* our shift */
};

/* The MSS to advertise for an interface MTU (68 or more, RFC 791). */
static inline uint16_t tcp_mss_from_mtu(uint16_t mtu)
{
	return (uint16_t)(mtu - TCP_IPV4_HEADERS_LEN);
}

/* Smallest shift that brings rx_buf_size within a 16-bit window, at most
 * TCP_MAX_WSCALE. */
uint8_t tcp_wscale_for_buffer(uint32_t rx_buf_size);

/* Agree on the options of a connection from what we offer and what the
 * peer put on its SYN (passive open) or SYN-ACK (active open). */
void tcp_negotiate(const struct tcp_local_options *ours,
		   const struct tcp_options *peer, struct tcp_negotiated *out);

/* Options of our SYN (active open). */
void tcp_syn_options(const struct tcp_local_options *ours, uint32_t ts_val,
		     struct tcp_syn_options *out);

/* Options of our SYN-ACK (passive open): MSS always; TS, SACK-permitted
 * and WS only where the peer's SYN carried them too (RFC 7323 and RFC 2018
 * forbid sending them otherwise).  ts_ecr echoes the peer's TSval. */
void tcp_synack_options(const struct tcp_local_options *ours,
			const struct tcp_options *peer_syn, uint32_t ts_val,
			struct tcp_syn_options *out);

#endif /* TAS_TCP_NEGOTIATE_H */
