#include "impair_frame.h"

#define ETHERTYPE_OFFSET 12u
#define ETHERTYPE_IPV4 0x0800u
#define IPV4_MIN_HEADER_LEN 20u
#define IPV4_TOS 1u
#define IPV4_TOTAL_LEN 2u
#define IPV4_FRAGMENT 6u
#define IPV4_PROTOCOL 9u
#define IPV4_CHECKSUM 10u
#define IPV4_MORE_FRAGMENTS 0x2000u
#define IPV4_OFFSET_MASK 0x1fffu
#define IPPROTO_TCP_NUMBER 6u
#define IPV4_SRC 12u
#define IPV4_DST 16u
#define TCP_MIN_HEADER_LEN 20u
#define TCP_SRC_PORT 0u
#define TCP_DST_PORT 2u
#define TCP_SEQ 4u
#define TCP_DATA_OFFSET 12u
#define TCP_FLAGS 13u

static uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Header length of the frame's IPv4 packet, or 0 if the frame does not
 * hold a whole, well-formed one (IP total length within the frame). */
static size_t ipv4_header_len(const uint8_t *frame, size_t len)
{
	const uint8_t *ip = frame + IMPAIR_ETH_HEADER_LEN;
	size_t header_len, total_len;

	if (len < IMPAIR_ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN ||
	    read_be16(frame + ETHERTYPE_OFFSET) != ETHERTYPE_IPV4 ||
	    ip[0] >> 4 != 4)
		return 0;
	header_len = (size_t)(ip[0] & 0x0f) * 4;
	total_len = read_be16(ip + IPV4_TOTAL_LEN);
	if (header_len < IPV4_MIN_HEADER_LEN || total_len < header_len ||
	    IMPAIR_ETH_HEADER_LEN + total_len > len)
		return 0;
	return header_len;
}

bool impair_frame_tcp_span(const uint8_t *frame, size_t len, size_t *start,
			   size_t *end)
{
	const uint8_t *ip = frame + IMPAIR_ETH_HEADER_LEN;
	size_t header_len = ipv4_header_len(frame, len);

	/* A fragment's bytes are checked only after reassembly, if at all. */
	if (header_len == 0 || ip[IPV4_PROTOCOL] != IPPROTO_TCP_NUMBER ||
	    read_be16(ip + IPV4_FRAGMENT) & (IPV4_MORE_FRAGMENTS | IPV4_OFFSET_MASK))
		return false;
	*start = IMPAIR_ETH_HEADER_LEN + header_len;
	*end = IMPAIR_ETH_HEADER_LEN + read_be16(ip + IPV4_TOTAL_LEN);
	return *end - *start >= TCP_MIN_HEADER_LEN;
}

static uint32_t read_be32(const uint8_t *p)
{
	return (uint32_t)read_be16(p) << 16 | read_be16(p + 2);
}

bool impair_frame_tcp_segment(const uint8_t *frame, size_t len,
			      struct impair_tcp_segment *segment)
{
	const uint8_t *ip = frame + IMPAIR_ETH_HEADER_LEN;
	const uint8_t *tcp;
	size_t start, end, header_len;

	if (!impair_frame_tcp_span(frame, len, &start, &end))
		return false;
	tcp = frame + start;
	header_len = (size_t)(tcp[TCP_DATA_OFFSET] >> 4) * 4;
	if (header_len < TCP_MIN_HEADER_LEN || header_len > end - start)
		return false;
	*segment = (struct impair_tcp_segment){
		.src_ip = read_be32(ip + IPV4_SRC),
		.dst_ip = read_be32(ip + IPV4_DST),
		.src_port = read_be16(tcp + TCP_SRC_PORT),
		.dst_port = read_be16(tcp + TCP_DST_PORT),
		.seq = read_be32(tcp + TCP_SEQ),
		.flags = tcp[TCP_FLAGS],
		.payload_len = (uint32_t)(end - start - header_len),
	};
	return true;
}

bool impair_frame_ect(const uint8_t *frame, size_t len)
{
	unsigned ecn;

	if (ipv4_header_len(frame, len) == 0)
		return false;
	ecn = frame[IMPAIR_ETH_HEADER_LEN + IPV4_TOS] & IMPAIR_IPV4_ECN_MASK;
	return ecn != 0 && ecn != IMPAIR_IPV4_ECN_CE;
}

/* RFC 1624 incremental update: HC' = ~(~HC + ~m + m') for the 16-bit
 * word holding the TOS byte, so the rest of the header is not re-read. */
void impair_frame_set_ce(uint8_t *frame)
{
	uint8_t *ip = frame + IMPAIR_ETH_HEADER_LEN;
	uint32_t old_word = read_be16(ip);
	uint32_t new_word, sum;

	ip[IPV4_TOS] |= IMPAIR_IPV4_ECN_CE;
	new_word = read_be16(ip);
	sum = (uint16_t)~read_be16(ip + IPV4_CHECKSUM) + (uint16_t)~old_word + new_word;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip[IPV4_CHECKSUM] = (uint8_t)(~sum >> 8);
	ip[IPV4_CHECKSUM + 1] = (uint8_t)~sum;
}

void impair_frame_flip_bit(uint8_t *frame, size_t bit)
{
	frame[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
}
