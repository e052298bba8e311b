/*
 * Control segments the slow path sends (RFC 9293): SYN, SYN-ACK, ACK,
 * challenge ACK (RFC 5961), RST, and ACKs for TIME-WAIT.  Frames are built
 * in mbufs from the service's pool and handed to the fast-path core that
 * owns the 4-tuple, which transmits them in order with its own segments.
 */
#ifndef TAS_TCP_OUTPUT_H
#define TAS_TCP_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "flow_table.h"
#include "service.h"
#include "tcp_options.h"

struct pkt_info;
struct tcp_conn;

struct tcp_segment_spec {
	struct flow_key key;          /* local address and port: the source */
	struct rte_ether_addr dst_mac;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;                /* RTE_TCP_*_FLAG */
	uint16_t window;              /* as written in the header */
	const struct tcp_syn_options *syn_options; /* SYN and SYN-ACK only */
	bool timestamps;              /* NOP NOP TS on other segments */
	uint32_t ts_val;
	uint32_t ts_ecr;
};

/* Build and send one segment.  0 or -errno (no mbuf, ring full). */
int tcp_output_segment(struct service *svc, const struct tcp_segment_spec *seg);

/* TSval clock: the fast path's microsecond clock, so that the RTT the fast
 * path measures from echoes of our segments is right too. */
uint32_t tcp_ts_now(void);

/* Our receive window as the header carries it for an installed or
 * prepared flow: rx_avail >> rcv_wscale, at most 65535. */
uint16_t tcp_output_window(const struct flow_state *flow);

/* SYN (active open) or SYN-ACK (passive open) of a connection in the
 * handshake, with the options negotiated or offered. */
int tcp_output_syn(struct tcp_conn *conn);

/* ACK carrying the flow's current SND.NXT/RCV.NXT/window (also the
 * challenge ACK of RFC 5961). */
int tcp_output_flow_ack(struct tcp_conn *conn);

/* The same as a challenge ACK (RFC 5961 section 3.2), rate-limited as
 * section 7 asks so that it cannot be used to flood a peer. */
int tcp_output_challenge_ack(struct tcp_conn *conn);

/* RST (with ACK) at the flow's current SND.NXT. */
int tcp_output_flow_rst(struct tcp_conn *conn);

/* ACK from a TIME-WAIT entry (retransmitted FIN, unacceptable segment). */
struct time_wait;
int tcp_output_time_wait_ack(struct service *svc, const struct time_wait *tw);

/* RFC 9293 section 3.10.7.1: answer a segment that belongs to no
 * connection with a RST (nothing for a RST). */
void tcp_output_reset_reply(struct service *svc, const struct pkt_info *pkt);

#endif /* TAS_TCP_OUTPUT_H */
