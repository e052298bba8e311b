/*
 * Frame parsing and validation: Ethernet II, ARP (RFC 826), IPv4 (RFC 791,
 * checksum per RFC 1071), TCP (RFC 9293 section 3.1).
 *
 * Every length is checked against the bytes actually present before the
 * field it covers is read.  The frame may be longer than the IP datagram
 * (Ethernet pads frames to 60 bytes), never shorter.
 */
#include "packet.h"

#include <rte_arp.h>
#include <rte_byteorder.h>

#define IP_VERSION_4 4
#define TCP_MIN_DATA_OFFSET 5

static inline bool is_fragment(const struct rte_ipv4_hdr *ip)
{
	uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);

	return (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

/* Summing a header with its checksum in place gives 0xffff, so the
 * complemented sums DPDK returns are 0 exactly when the checksum is right. */
static inline bool ip_checksum_ok(const struct rte_ipv4_hdr *ip)
{
	return rte_ipv4_cksum(ip) == 0;
}

static inline bool tcp_checksum_ok(const struct rte_ipv4_hdr *ip,
				   const struct rte_tcp_hdr *tcp)
{
	return rte_ipv4_udptcp_cksum(ip, tcp) == 0;
}

static enum pkt_verdict parse_tcp(const struct rte_ipv4_hdr *ip,
				  uint32_t ip_header_len, uint32_t ip_total_len,
				  bool verify_csum, struct pkt_info *info)
{
	const uint8_t *segment = (const uint8_t *)ip + ip_header_len;
	uint32_t segment_len = ip_total_len - ip_header_len;
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)segment;

	if (segment_len < sizeof(*tcp))
		return PKT_BAD_LENGTH;
	uint32_t data_offset = tcp->data_off >> 4;
	uint32_t tcp_header_len = data_offset * 4;
	if (data_offset < TCP_MIN_DATA_OFFSET || tcp_header_len > segment_len)
		return PKT_BAD_HEADER;
	if (verify_csum && !tcp_checksum_ok(ip, tcp))
		return PKT_BAD_TCP_CSUM;

	info->tcp = tcp;
	info->options = segment + sizeof(*tcp);
	info->options_len = (uint16_t)(tcp_header_len - sizeof(*tcp));
	info->payload = segment + tcp_header_len;
	info->payload_len = (uint16_t)(segment_len - tcp_header_len);
	info->seq = rte_be_to_cpu_32(tcp->sent_seq);
	info->ack = rte_be_to_cpu_32(tcp->recv_ack);
	info->window = rte_be_to_cpu_16(tcp->rx_win);
	info->flags = tcp->tcp_flags;
	return PKT_TCP;
}

static enum pkt_verdict parse_ipv4(const uint8_t *l3, uint32_t l3_len,
				   bool verify_csum, struct pkt_info *info)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;

	if (l3_len < sizeof(*ip))
		return PKT_BAD_LENGTH;
	if ((ip->version_ihl >> 4) != IP_VERSION_4 ||
	    (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) < RTE_IPV4_MIN_IHL)
		return PKT_BAD_HEADER;
	uint32_t header_len = rte_ipv4_hdr_len(ip);
	uint32_t total_len = rte_be_to_cpu_16(ip->total_length);
	if (header_len > l3_len || total_len < header_len || total_len > l3_len)
		return PKT_BAD_LENGTH;
	if (verify_csum && !ip_checksum_ok(ip))
		return PKT_BAD_IP_CSUM;
	/* Reassembly is not offered: a fragment never reaches TCP. */
	if (is_fragment(ip))
		return PKT_BAD_HEADER;

	info->ip = ip;
	info->ecn = ip->type_of_service & RTE_IPV4_HDR_ECN_MASK;
	if (ip->next_proto_id != IPPROTO_TCP)
		return PKT_OTHER;
	return parse_tcp(ip, header_len, total_len, verify_csum, info);
}

enum pkt_verdict pkt_parse(const uint8_t *frame, uint32_t len, bool verify_csum,
			   struct pkt_info *info)
{
	*info = (struct pkt_info){ 0 };
	if (len < sizeof(struct rte_ether_hdr))
		return PKT_BAD_LENGTH;

	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const uint8_t *l3 = frame + sizeof(*eth);
	uint32_t l3_len = len - sizeof(*eth);
	info->eth = eth;

	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_IPV4:
		return parse_ipv4(l3, l3_len, verify_csum, info);
	case RTE_ETHER_TYPE_ARP:
		if (l3_len < sizeof(struct rte_arp_hdr))
			return PKT_BAD_LENGTH;
		info->payload = l3;
		info->payload_len = (uint16_t)sizeof(struct rte_arp_hdr);
		return PKT_ARP;
	default:
		/* IPv6, VLAN-tagged frames, ...: not ours to interpret. */
		return PKT_OTHER;
	}
}

const char *pkt_verdict_name(enum pkt_verdict verdict)
{
	switch (verdict) {
	case PKT_TCP:
		return "tcp";
	case PKT_ARP:
		return "arp";
	case PKT_OTHER:
		return "other";
	case PKT_BAD_LENGTH:
		return "bad_length";
	case PKT_BAD_IP_CSUM:
		return "bad_ip_csum";
	case PKT_BAD_TCP_CSUM:
		return "bad_tcp_csum";
	case PKT_BAD_HEADER:
		return "bad_header";
	}
	return "unknown";
}

void pkt_fill_checksums(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *tcp)
{
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
}
