/*
 * The few header fields of an Ethernet frame the impairment stage looks
 * at: where an IPv4 packet's TCP segment lies (to corrupt only what the
 * TCP checksum covers), its ECN field (to set CE), and the TCP header's
 * addresses, sequence number and flags (for targeted drops).  Frames
 * that are not plain IPv4 (ARP, IPv6, VLAN-tagged, truncated) are never
 * touched.
 */
#ifndef TAS_IMPAIR_FRAME_H
#define TAS_IMPAIR_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMPAIR_ETH_HEADER_LEN 14u
#define IMPAIR_IPV4_ECN_MASK 0x03u
#define IMPAIR_IPV4_ECN_CE 0x03u
#define IMPAIR_TCP_FIN 0x01u
#define IMPAIR_TCP_SYN 0x02u
#define IMPAIR_TCP_RST 0x04u
#define IMPAIR_TCP_ACK 0x10u

/* What targeted drops need of a TCP segment; addresses and ports as
 * numbers read big-endian from the headers. */
struct impair_tcp_segment {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint32_t seq;
	uint8_t flags;
	uint32_t payload_len;   /* data bytes, without SYN and FIN */
};

/* The TCP segment (header and payload, without Ethernet padding) of an
 * unfragmented IPv4/TCP frame: bytes [*start, *end) of frame. */
bool impair_frame_tcp_span(const uint8_t *frame, size_t len, size_t *start,
			   size_t *end);

/* The TCP header of an unfragmented IPv4/TCP frame whose data offset
 * fits the segment; false for anything else. */
bool impair_frame_tcp_segment(const uint8_t *frame, size_t len,
			      struct impair_tcp_segment *segment);

/* Whether frame is IPv4 with ECT(0) or ECT(1) (not Not-ECT, not CE). */
bool impair_frame_ect(const uint8_t *frame, size_t len);

/* Set CE in the IPv4 header of a frame impair_frame_ect accepted and
 * update the header checksum. */
void impair_frame_set_ce(uint8_t *frame);

/* Flip bit `bit` of frame (bit 0 is the most significant of byte 0). */
void impair_frame_flip_bit(uint8_t *frame, size_t bit);

#endif /* TAS_IMPAIR_FRAME_H */
