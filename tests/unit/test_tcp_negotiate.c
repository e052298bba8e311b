/*
 * Unit tests for connection-setup option negotiation: every combination of
 * options offered by us and sent by the peer, MSS defaults and clamps
 * (RFC 9293, RFC 6691), window-scale shifts (RFC 7323), and the options
 * we put on SYN and SYN-ACK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_negotiate.h"

#define OUR_MSS 1460
#define OUR_RX_BUF (1u << 20)  /* needs shift 5 */

static struct tcp_local_options ours_with(unsigned offers)
{
	return (struct tcp_local_options){
		.mss = OUR_MSS,
		.rx_buf_size = OUR_RX_BUF,
		.offer_timestamps = offers & 1,
		.offer_sack = offers & 2,
		.offer_wscale = offers & 4,
	};
}

/* Bit 3 says whether the peer sent an MSS option. */
static struct tcp_options peer_with(unsigned sent)
{
	return (struct tcp_options){
		.has_timestamp = sent & 1,
		.sack_permitted = sent & 2,
		.has_wscale = sent & 4,
		.has_mss = sent & 8,
		.mss = 1400,
		.wscale = 9,
		.ts_val = 0x11223344,
		.ts_ecr = 0,
	};
}

static void test_all_combinations(void **state)
{
	(void)state;

	for (unsigned offers = 0; offers < 8; offers++) {
		for (unsigned sent = 0; sent < 16; sent++) {
			struct tcp_local_options ours = ours_with(offers);
			struct tcp_options peer = peer_with(sent);
			struct tcp_negotiated agreed;
			tcp_negotiate(&ours, &peer, &agreed);

			bool ts = (offers & 1) && (sent & 1);
			bool sack = (offers & 2) && (sent & 2);
			bool ws = (offers & 4) && (sent & 4);
			assert_int_equal(agreed.timestamps, ts);
			assert_int_equal(agreed.sack, sack);
			assert_int_equal(agreed.wscale, ws);
			assert_int_equal(agreed.snd_wscale, ws ? 9 : 0);
			assert_int_equal(agreed.rcv_wscale, ws ? 5 : 0);

			unsigned mss = (sent & 8) ? 1400 : TCP_DEFAULT_MSS;
			assert_int_equal(agreed.send_mss,
					 mss - (ts ? TCP_TS_OPTIONS_LEN : 0));

			/* The SYN-ACK echoes exactly what was agreed. */
			struct tcp_syn_options synack;
			tcp_synack_options(&ours, &peer, 777, &synack);
			assert_true(synack.has_mss);
			assert_int_equal(synack.mss, OUR_MSS);
			assert_int_equal(synack.has_timestamp, ts);
			assert_int_equal(synack.sack_permitted, sack);
			assert_int_equal(synack.has_wscale, ws);
			if (ws)
				assert_int_equal(synack.wscale, 5);
			if (ts) {
				assert_int_equal(synack.ts_val, 777);
				assert_int_equal(synack.ts_ecr, 0x11223344);
			}
		}
	}
}

static void test_mss(void **state)
{
	(void)state;
	struct tcp_local_options ours = ours_with(0);
	struct tcp_options peer = { 0 };
	struct tcp_negotiated agreed;

	/* No option: the RFC 9293 default, unless ours is smaller. */
	tcp_negotiate(&ours, &peer, &agreed);
	assert_int_equal(agreed.send_mss, 536);
	ours.mss = 500;
	tcp_negotiate(&ours, &peer, &agreed);
	assert_int_equal(agreed.send_mss, 500);

	const struct {
		uint16_t ours, peer, expected;
	} cases[] = {
		{ 1460, 1460, 1460 },
		{ 1460, 9000, 1460 },  /* jumbo peer, our MTU limits */
		{ 8960, 1460, 1460 },
		{ 1460, 1000, 1000 },
		{ 1460, 100, 100 },
		{ 1460, 48, 48 },
		{ 1460, 47, 48 },      /* floored */
		{ 1460, 0, 48 },
		{ 1460, 65535, 1460 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ours.mss = cases[i].ours;
		peer.has_mss = true;
		peer.mss = cases[i].peer;
		tcp_negotiate(&ours, &peer, &agreed);
		assert_int_equal(agreed.send_mss, cases[i].expected);
	}

	/* With timestamps every segment carries 12 option bytes. */
	ours = ours_with(1);
	peer = (struct tcp_options){ .has_mss = true, .mss = 1460,
				     .has_timestamp = true };
	tcp_negotiate(&ours, &peer, &agreed);
	assert_int_equal(agreed.send_mss, 1448);

	assert_int_equal(tcp_mss_from_mtu(1500), 1460);
	assert_int_equal(tcp_mss_from_mtu(9000), 8960);
}

static void test_wscale_for_buffer(void **state)
{
	(void)state;
	const struct {
		uint32_t buf;
		uint8_t shift;
	} cases[] = {
		{ 0, 0 },
		{ 1, 0 },
		{ 65535, 0 },
		{ 65536, 1 },
		{ 131071, 1 },
		{ 131072, 2 },
		{ 1u << 20, 5 },
		{ 1u << 30, 14 },
		{ (1u << 30) - 1, 14 },
		{ UINT32_MAX, 14 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(tcp_wscale_for_buffer(cases[i].buf), cases[i].shift);

	/* The smallest sufficient shift for every power of two and its
	 * neighbours. */
	for (unsigned bit = 0; bit < 32; bit++) {
		for (int delta = -1; delta <= 1; delta++) {
			uint32_t buf = (uint32_t)(1ull << bit) + (uint32_t)delta;
			uint8_t shift = tcp_wscale_for_buffer(buf);
			assert_true(shift <= TCP_MAX_WSCALE);
			if (shift < TCP_MAX_WSCALE)
				assert_true((buf >> shift) <= 65535);
			if (shift > 0)
				assert_true((buf >> (shift - 1)) > 65535);
		}
	}
}

static void test_wscale_negotiation(void **state)
{
	(void)state;
	struct tcp_local_options ours = ours_with(4);
	struct tcp_options peer = { .has_wscale = true, .wscale = 0 };
	struct tcp_negotiated agreed;

	/* Shift 0 on both sides still means scaling is on. */
	ours.rx_buf_size = 65535;
	tcp_negotiate(&ours, &peer, &agreed);
	assert_true(agreed.wscale);
	assert_int_equal(agreed.snd_wscale, 0);
	assert_int_equal(agreed.rcv_wscale, 0);

	/* A peer shift above 14 (built without the parser) is clamped. */
	peer.wscale = 200;
	ours.rx_buf_size = 1u << 31;
	tcp_negotiate(&ours, &peer, &agreed);
	assert_int_equal(agreed.snd_wscale, 14);
	assert_int_equal(agreed.rcv_wscale, 14);

	/* We offer but the peer does not: neither side scales. */
	peer.has_wscale = false;
	tcp_negotiate(&ours, &peer, &agreed);
	assert_false(agreed.wscale);
	assert_int_equal(agreed.snd_wscale, 0);
	assert_int_equal(agreed.rcv_wscale, 0);
}

static void test_syn_options(void **state)
{
	(void)state;

	for (unsigned offers = 0; offers < 8; offers++) {
		struct tcp_local_options ours = ours_with(offers);
		struct tcp_syn_options syn;
		tcp_syn_options(&ours, 12345, &syn);

		assert_true(syn.has_mss);
		assert_int_equal(syn.mss, OUR_MSS);
		assert_int_equal(syn.has_timestamp, (offers & 1) != 0);
		assert_int_equal(syn.sack_permitted, (offers & 2) != 0);
		assert_int_equal(syn.has_wscale, (offers & 4) != 0);
		if (offers & 1) {
			assert_int_equal(syn.ts_val, 12345);
			assert_int_equal(syn.ts_ecr, 0);
		}
		if (offers & 4)
			assert_int_equal(syn.wscale, 5);

		/* What we send parses back as what we offered, and a peer
		 * echoing it all gives the offered options. */
		uint8_t buf[TCP_SYN_OPTIONS_MAX];
		unsigned len = tcp_options_write_syn(buf, &syn);
		struct tcp_options parsed;
		assert_int_equal(tcp_options_parse(buf, len, &parsed), 0);
		struct tcp_negotiated agreed;
		tcp_negotiate(&ours, &parsed, &agreed);
		assert_int_equal(agreed.timestamps, (offers & 1) != 0);
		assert_int_equal(agreed.sack, (offers & 2) != 0);
		assert_int_equal(agreed.wscale, (offers & 4) != 0);
		assert_int_equal(agreed.send_mss,
				 OUR_MSS - ((offers & 1) ? TCP_TS_OPTIONS_LEN : 0));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_combinations),
		cmocka_unit_test(test_mss),
		cmocka_unit_test(test_wscale_for_buffer),
		cmocka_unit_test(test_wscale_negotiation),
		cmocka_unit_test(test_syn_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
