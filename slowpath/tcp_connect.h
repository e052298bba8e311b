/*
 * Active open (RFC 9293 sections 3.5 and 3.10.7.3): CONNECT, ephemeral
 * port selection (RFC 6056), next-hop resolution, SYN retransmission with
 * exponential back-off from RFC 6298's 1 s, SYN-SENT processing.
 * Simultaneous open (a SYN without ACK in SYN-SENT) is not supported: such
 * a SYN is dropped and the connection goes on waiting for a SYN-ACK.
 */
#ifndef TAS_TCP_CONNECT_H
#define TAS_TCP_CONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "service.h"

/* 6 SYNs, 1+2+4+8+16+32 s apart: -ETIMEDOUT after about a minute. */
#define TCP_SYN_RETRIES 5u

struct app;
struct pkt_info;
struct tcp_conn;

/* TAS_CMD_CONNECT. */
void tcp_connect_command(struct app *app, uint16_t ctx_id,
			 const struct tas_app_cmd *cmd);

/* ARP resolution finished for ip (mac NULL: failed): connections waiting
 * for it send their SYN or fail (an arp_done_fn, arp.h). */
void tcp_connect_arp_done(struct service *svc, uint32_t ip,
			  const struct rte_ether_addr *mac);

/* SYN-SENT processing of a segment. */
void tcp_syn_sent_input(struct tcp_conn *conn, const struct pkt_info *pkt);

/* The SYN retransmission timer expired. */
void tcp_syn_sent_timeout(struct tcp_conn *conn, uint64_t now_us);

#endif /* TAS_TCP_CONNECT_H */
