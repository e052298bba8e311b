/*
 * Parsing and validation of received frames: Ethernet II, IPv4 (RFC 791),
 * TCP (RFC 9293).  Everything the fast path and the slow path read from a
 * frame goes through pkt_parse() first, so no header field is used before
 * its length and checksum have been checked.
 */
#ifndef TAS_PACKET_H
#define TAS_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

enum pkt_verdict {
	PKT_TCP = 0,          /* valid IPv4/TCP segment, all fields set */
	PKT_ARP,              /* ARP frame; eth set, payload points at the
	                       * ARP header (payload_len = its 28 bytes) */
	PKT_OTHER,            /* valid but neither TCP nor ARP (ICMP, IPv6..) */
	PKT_BAD_LENGTH,       /* truncated or inconsistent lengths */
	PKT_BAD_IP_CSUM,
	PKT_BAD_TCP_CSUM,
	PKT_BAD_HEADER,       /* IP version/IHL, TCP data offset, fragments */
};

struct pkt_info {
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;    /* NULL unless IPv4 */
	const struct rte_tcp_hdr *tcp;    /* NULL unless PKT_TCP */
	const uint8_t *options;           /* TCP options */
	const uint8_t *payload;
	uint16_t options_len;
	uint16_t payload_len;
	/* Host byte order copies of what the TCP path uses most. */
	uint32_t seq;
	uint32_t ack;
	uint16_t window;                  /* unscaled */
	uint8_t flags;                    /* RTE_TCP_*_FLAG */
	uint8_t ecn;                      /* IP ECN bits */
};

/*
 * Parse and validate the frame of len bytes at frame.  With verify_csum
 * false, checksums are assumed good (the NIC checked them).
 */
enum pkt_verdict pkt_parse(const uint8_t *frame, uint32_t len, bool verify_csum,
			   struct pkt_info *info);

/* Printable name of a verdict, for counters and logs. */
const char *pkt_verdict_name(enum pkt_verdict verdict);

/*
 * Fill the checksums of an IPv4/TCP frame being sent: the IPv4 header
 * checksum and the TCP checksum over pseudo header, header and payload.
 */
void pkt_fill_checksums(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *tcp);

#endif /* TAS_PACKET_H */
