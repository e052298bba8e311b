/*
 * Unit tests for pkt_parse() and pkt_fill_checksums(): frames are built
 * byte by byte here, with a checksum written from RFC 1071 independently
 * of DPDK's, so the parser is checked against the wire format rather than
 * against itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>

#include "packet.h"

#define ETH_LEN 14
#define IP_MIN_LEN 20
#define TCP_MIN_LEN 20
#define FRAME_MIN_LEN 60
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17

#define TEST_SEQ 0x01020304u
#define TEST_ACK 0xa0b0c0d0u
#define TEST_WINDOW 0xfedcu
#define TEST_FLAGS (RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG)

struct frame_spec {
	unsigned ip_options_len;  /* multiple of 4, <= 40 */
	unsigned tcp_options_len; /* multiple of 4, <= 40 */
	unsigned payload_len;
	unsigned padding;         /* bytes after the IP datagram */
	uint8_t protocol;
	uint8_t tos;
	uint16_t fragment;        /* flags and offset field */
};

static uint8_t frame[2048] __attribute__((aligned(64)));

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1071: one's complement sum of big-endian 16-bit words. */
static uint32_t sum_words(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len % 2)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold_complement(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint8_t *ip_of(uint8_t *f) { return f + ETH_LEN; }
static unsigned ip_header_len(const uint8_t *f) { return (f[ETH_LEN] & 0xf) * 4u; }
static unsigned ip_total_len(const uint8_t *f) { return get_be16(f + ETH_LEN + 2); }
static uint8_t *tcp_of(uint8_t *f) { return ip_of(f) + ip_header_len(f); }

/* Recompute both checksums from the header fields as they are now. */
static void reference_checksums(uint8_t *f)
{
	uint8_t *ip = ip_of(f);
	unsigned header_len = ip_header_len(f);
	unsigned segment_len = ip_total_len(f) - header_len;
	uint8_t *tcp = tcp_of(f);

	put_be16(ip + 10, 0);
	put_be16(ip + 10, fold_complement(sum_words(ip, header_len, 0)));

	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	put_be16(pseudo + 10, (uint16_t)segment_len);
	put_be16(tcp + 16, 0);
	uint32_t sum = sum_words(pseudo, sizeof(pseudo), 0);
	put_be16(tcp + 16, fold_complement(sum_words(tcp, segment_len, sum)));
}

/* Lay out Ethernet, IPv4 and TCP headers, options and payload; returns
 * the frame length. */
static uint32_t build_frame(uint8_t *f, const struct frame_spec *spec)
{
	unsigned ip_len = IP_MIN_LEN + spec->ip_options_len;
	unsigned tcp_len = TCP_MIN_LEN + spec->tcp_options_len;
	unsigned total = ip_len + tcp_len + spec->payload_len;
	uint8_t *ip = f + ETH_LEN;
	uint8_t *tcp = ip + ip_len;

	memset(f, 0, ETH_LEN + total + spec->padding);
	memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	put_be16(f + 12, RTE_ETHER_TYPE_IPV4);

	ip[0] = (uint8_t)(0x40 | ip_len / 4);
	ip[1] = spec->tos;
	put_be16(ip + 2, (uint16_t)total);
	put_be16(ip + 4, 0x1234);
	put_be16(ip + 6, spec->fragment);
	ip[8] = 64;
	ip[9] = spec->protocol;
	put_be32(ip + 12, 0x0a000001);
	put_be32(ip + 16, 0x0a000002);
	memset(ip + IP_MIN_LEN, 1 /* NOP */, spec->ip_options_len);

	put_be16(tcp, 40000);
	put_be16(tcp + 2, 80);
	put_be32(tcp + 4, TEST_SEQ);
	put_be32(tcp + 8, TEST_ACK);
	tcp[12] = (uint8_t)(tcp_len / 4 << 4);
	tcp[13] = TEST_FLAGS;
	put_be16(tcp + 14, TEST_WINDOW);
	memset(tcp + TCP_MIN_LEN, 1 /* NOP */, spec->tcp_options_len);
	for (unsigned i = 0; i < spec->payload_len; i++)
		tcp[tcp_len + i] = (uint8_t)(i * 7 + 3);
	/* Ethernet padding is garbage as far as IP is concerned. */
	memset(tcp + tcp_len + spec->payload_len, 0xa5, spec->padding);

	reference_checksums(f);
	return ETH_LEN + total + spec->padding;
}

static const struct frame_spec typical = {
	.tcp_options_len = 12, .payload_len = 100, .protocol = IP_PROTO_TCP,
};

static void test_valid_frame_fields(void **state)
{
	(void)state;
	struct pkt_info info;
	uint32_t len = build_frame(frame, &typical);

	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
	assert_ptr_equal(info.eth, frame);
	assert_ptr_equal(info.ip, frame + ETH_LEN);
	assert_ptr_equal(info.tcp, frame + ETH_LEN + IP_MIN_LEN);
	assert_ptr_equal(info.options, frame + ETH_LEN + IP_MIN_LEN + TCP_MIN_LEN);
	assert_int_equal(info.options_len, 12);
	assert_ptr_equal(info.payload, info.options + 12);
	assert_int_equal(info.payload_len, 100);
	assert_int_equal(info.payload[5], (uint8_t)(5 * 7 + 3));
	assert_int_equal(info.seq, TEST_SEQ);
	assert_int_equal(info.ack, TEST_ACK);
	assert_int_equal(info.window, TEST_WINDOW);
	assert_int_equal(info.flags, TEST_FLAGS);
	assert_int_equal(info.ecn, 0);
}

static void test_ecn_bits(void **state)
{
	(void)state;
	struct pkt_info info;

	for (uint8_t ecn = 0; ecn < 4; ecn++) {
		struct frame_spec spec = typical;
		spec.tos = (uint8_t)(0xb8 | ecn); /* DSCP EF plus ECN */
		uint32_t len = build_frame(frame, &spec);
		assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
		assert_int_equal(info.ecn, ecn);
	}
}

static void test_ip_options_skipped(void **state)
{
	(void)state;
	struct pkt_info info;
	struct frame_spec spec = typical;

	spec.ip_options_len = 8;
	uint32_t len = build_frame(frame, &spec);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
	assert_ptr_equal(info.tcp, frame + ETH_LEN + IP_MIN_LEN + 8);
	assert_int_equal(info.payload_len, 100);
	assert_int_equal(info.seq, TEST_SEQ);
}

/* Every proper prefix of a valid frame is rejected as truncated, and never
 * read past: each prefix sits in a heap block of exactly its size. */
static void test_truncated_at_every_length(void **state)
{
	(void)state;
	struct frame_spec spec = typical;
	spec.ip_options_len = 4;
	uint32_t full = build_frame(frame, &spec);

	for (uint32_t len = 0; len < full; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, frame, len);
		struct pkt_info info;
		assert_int_equal(pkt_parse(copy, len, true, &info), PKT_BAD_LENGTH);
		assert_int_equal(pkt_parse(copy, len, false, &info), PKT_BAD_LENGTH);
		free(copy);
	}
}

static void test_padded_frames(void **state)
{
	(void)state;
	struct pkt_info info;
	struct frame_spec spec = { .protocol = IP_PROTO_TCP };

	/* A bare ACK is 54 bytes; Ethernet pads it to 60. */
	spec.padding = FRAME_MIN_LEN - (ETH_LEN + IP_MIN_LEN + TCP_MIN_LEN);
	uint32_t len = build_frame(frame, &spec);
	assert_int_equal(len, FRAME_MIN_LEN);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
	assert_int_equal(info.payload_len, 0);
	assert_int_equal(info.options_len, 0);

	spec.payload_len = 3;
	spec.padding = 200;
	len = build_frame(frame, &spec);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
	assert_int_equal(info.payload_len, 3);
}

static void test_bad_ip_checksum(void **state)
{
	(void)state;
	struct pkt_info info;
	uint32_t len = build_frame(frame, &typical);

	frame[ETH_LEN + 8]--; /* TTL, checksum not updated */
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_IP_CSUM);
	assert_int_equal(pkt_parse(frame, len, false, &info), PKT_TCP);

	/* A flipped bit in an IP option is covered too. */
	struct frame_spec spec = typical;
	spec.ip_options_len = 4;
	len = build_frame(frame, &spec);
	frame[ETH_LEN + IP_MIN_LEN + 2] ^= 0x10;
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_IP_CSUM);
}

static void test_bad_tcp_checksum(void **state)
{
	(void)state;
	struct pkt_info info;
	uint32_t len = build_frame(frame, &typical);

	frame[len - 1] ^= 0x01; /* last payload byte */
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_TCP_CSUM);
	assert_int_equal(pkt_parse(frame, len, false, &info), PKT_TCP);

	/* The pseudo header counts: change the source address and fix only
	 * the IP checksum. */
	len = build_frame(frame, &typical);
	frame[ETH_LEN + 15] ^= 0x01;
	put_be16(ip_of(frame) + 10, 0);
	put_be16(ip_of(frame) + 10, fold_complement(sum_words(ip_of(frame), 20, 0)));
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_TCP_CSUM);
}

static void test_padding_not_checksummed(void **state)
{
	(void)state;
	struct pkt_info info;
	struct frame_spec spec = typical;

	spec.padding = 10;
	uint32_t len = build_frame(frame, &spec);
	frame[len - 1] ^= 0xff;
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
}

static void test_bad_ip_header(void **state)
{
	(void)state;
	struct pkt_info info;

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		uint32_t len = build_frame(frame, &typical);
		frame[ETH_LEN] = (uint8_t)(0x40 | ihl);
		assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_HEADER);
	}
	uint32_t len = build_frame(frame, &typical);
	frame[ETH_LEN] = 0x65; /* version 6 in an IPv4 frame */
	reference_checksums(frame);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_HEADER);
}

static void test_inconsistent_ip_lengths(void **state)
{
	(void)state;
	struct pkt_info info;

	/* IHL beyond the frame. */
	struct frame_spec spec = { .protocol = IP_PROTO_TCP };
	uint32_t len = build_frame(frame, &spec);
	frame[ETH_LEN] = 0x4f;
	assert_int_equal(pkt_parse(frame, ETH_LEN + 40, true, &info), PKT_BAD_LENGTH);

	/* Total length shorter than the IP header. */
	len = build_frame(frame, &typical);
	put_be16(ip_of(frame) + 2, 19);
	assert_int_equal(pkt_parse(frame, len, false, &info), PKT_BAD_LENGTH);

	/* Total length longer than the frame. */
	len = build_frame(frame, &typical);
	put_be16(ip_of(frame) + 2, (uint16_t)(ip_total_len(frame) + 1));
	assert_int_equal(pkt_parse(frame, len, false, &info), PKT_BAD_LENGTH);

	/* Room for the IP header but not for a TCP header. */
	len = build_frame(frame, &typical);
	put_be16(ip_of(frame) + 2, IP_MIN_LEN + TCP_MIN_LEN - 1);
	reference_checksums(frame);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_LENGTH);
}

static void test_tcp_data_offset(void **state)
{
	(void)state;
	struct pkt_info info;

	for (uint8_t offset = 0; offset < 5; offset++) {
		uint32_t len = build_frame(frame, &typical);
		tcp_of(frame)[12] = (uint8_t)(offset << 4);
		reference_checksums(frame);
		assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_HEADER);
	}

	/* 60 bytes of header claimed in a 30-byte segment. */
	struct frame_spec spec = { .payload_len = 10, .protocol = IP_PROTO_TCP };
	uint32_t len = build_frame(frame, &spec);
	tcp_of(frame)[12] = 0xf0;
	reference_checksums(frame);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_HEADER);

	/* Header exactly filling the segment: no payload, 40 option bytes. */
	spec = (struct frame_spec){ .tcp_options_len = 40, .protocol = IP_PROTO_TCP };
	len = build_frame(frame, &spec);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
	assert_int_equal(info.options_len, 40);
	assert_int_equal(info.payload_len, 0);
}

static void test_fragments(void **state)
{
	(void)state;
	struct pkt_info info;
	const uint16_t rejected[] = {
		RTE_IPV4_HDR_MF_FLAG,                   /* first fragment */
		1,                                      /* offset 8 bytes */
		RTE_IPV4_HDR_MF_FLAG | 100,
		RTE_IPV4_HDR_OFFSET_MASK,
		RTE_IPV4_HDR_DF_FLAG | 1,
	};

	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		struct frame_spec spec = typical;
		spec.fragment = rejected[i];
		uint32_t len = build_frame(frame, &spec);
		assert_int_equal(pkt_parse(frame, len, true, &info), PKT_BAD_HEADER);
	}

	struct frame_spec spec = typical;
	spec.fragment = RTE_IPV4_HDR_DF_FLAG;
	uint32_t len = build_frame(frame, &spec);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
}

static void test_not_tcp(void **state)
{
	(void)state;
	struct pkt_info info;
	struct frame_spec spec = typical;

	spec.protocol = IP_PROTO_UDP;
	uint32_t len = build_frame(frame, &spec);
	assert_int_equal(pkt_parse(frame, len, true, &info), PKT_OTHER);
	assert_ptr_equal(info.ip, frame + ETH_LEN);
	assert_null(info.tcp);

	/* IPv6 and VLAN-tagged frames are left alone. */
	const uint16_t ether_types[] = { RTE_ETHER_TYPE_IPV6, RTE_ETHER_TYPE_VLAN,
					 RTE_ETHER_TYPE_QINQ, 0x88cc /* LLDP */ };
	for (size_t i = 0; i < sizeof(ether_types) / sizeof(ether_types[0]); i++) {
		len = build_frame(frame, &typical);
		put_be16(frame + 12, ether_types[i]);
		assert_int_equal(pkt_parse(frame, len, true, &info), PKT_OTHER);
		assert_ptr_equal(info.eth, frame);
		assert_null(info.ip);
		assert_null(info.tcp);
	}

	/* Even a bare Ethernet header is a valid "other" frame. */
	assert_int_equal(pkt_parse(frame, ETH_LEN, true, &info), PKT_OTHER);
}

static void test_arp(void **state)
{
	(void)state;
	struct pkt_info info;
	const uint32_t arp_frame_len = ETH_LEN + 28;

	memset(frame, 0, FRAME_MIN_LEN);
	put_be16(frame + 12, RTE_ETHER_TYPE_ARP);
	put_be16(frame + ETH_LEN, RTE_ARP_HRD_ETHER);
	put_be16(frame + ETH_LEN + 2, RTE_ETHER_TYPE_IPV4);
	frame[ETH_LEN + 4] = 6;
	frame[ETH_LEN + 5] = 4;
	put_be16(frame + ETH_LEN + 6, RTE_ARP_OP_REQUEST);

	assert_int_equal(pkt_parse(frame, arp_frame_len, true, &info), PKT_ARP);
	assert_ptr_equal(info.eth, frame);
	assert_ptr_equal(info.payload, frame + ETH_LEN);
	assert_int_equal(info.payload_len, 28);
	assert_null(info.ip);
	assert_null(info.tcp);

	assert_int_equal(pkt_parse(frame, FRAME_MIN_LEN, true, &info), PKT_ARP);
	assert_int_equal(pkt_parse(frame, arp_frame_len - 1, true, &info),
			 PKT_BAD_LENGTH);
}

/* Build with the checksum fields zeroed, fill them with
 * pkt_fill_checksums, and compare with the reference. */
static void test_fill_checksums_round_trip(void **state)
{
	(void)state;
	const unsigned payload_lens[] = { 0, 1, 2, 3, 99, 100, 1448, 1459 };

	for (size_t i = 0; i < sizeof(payload_lens) / sizeof(payload_lens[0]); i++) {
		struct frame_spec spec = typical;
		spec.payload_len = payload_lens[i];
		spec.ip_options_len = (unsigned)(i % 2) * 4;
		uint32_t len = build_frame(frame, &spec);
		uint16_t ip_csum = get_be16(ip_of(frame) + 10);
		uint16_t tcp_csum = get_be16(tcp_of(frame) + 16);

		memset(ip_of(frame) + 10, 0x55, 2);
		memset(tcp_of(frame) + 16, 0x55, 2);
		pkt_fill_checksums((struct rte_ipv4_hdr *)ip_of(frame),
				   (struct rte_tcp_hdr *)tcp_of(frame));
		assert_int_equal(get_be16(ip_of(frame) + 10), ip_csum);
		/* 0x0000 and 0xffff are the same one's complement zero. */
		uint16_t filled = get_be16(tcp_of(frame) + 16);
		assert_true(filled == tcp_csum ||
			    (uint16_t)(filled + tcp_csum) == 0xffff);

		struct pkt_info info;
		assert_int_equal(pkt_parse(frame, len, true, &info), PKT_TCP);
		assert_int_equal(info.payload_len, payload_lens[i]);
	}
}

static void test_verdict_names(void **state)
{
	(void)state;
	const enum pkt_verdict verdicts[] = {
		PKT_TCP, PKT_ARP, PKT_OTHER, PKT_BAD_LENGTH,
		PKT_BAD_IP_CSUM, PKT_BAD_TCP_CSUM, PKT_BAD_HEADER,
	};
	const size_t count = sizeof(verdicts) / sizeof(verdicts[0]);

	for (size_t i = 0; i < count; i++) {
		const char *name = pkt_verdict_name(verdicts[i]);
		assert_non_null(name);
		assert_true(strlen(name) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(name, pkt_verdict_name(verdicts[j]));
	}
	assert_non_null(pkt_verdict_name((enum pkt_verdict)1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_frame_fields),
		cmocka_unit_test(test_ecn_bits),
		cmocka_unit_test(test_ip_options_skipped),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_padded_frames),
		cmocka_unit_test(test_bad_ip_checksum),
		cmocka_unit_test(test_bad_tcp_checksum),
		cmocka_unit_test(test_padding_not_checksummed),
		cmocka_unit_test(test_bad_ip_header),
		cmocka_unit_test(test_inconsistent_ip_lengths),
		cmocka_unit_test(test_tcp_data_offset),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_fill_checksums_round_trip),
		cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
