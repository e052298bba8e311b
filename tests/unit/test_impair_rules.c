/*
 * Unit tests for the impairment stage's decisions (tools/impair): the
 * SPEC parser, reproducibility with a seed, the fractions of lost,
 * duplicated and corrupted frames, jitter without reordering, the
 * reorder gap and wait, the rate limiter's serialisation, tail drop and
 * ECN marking, that frames are changed only where they should be, and
 * the targeted drops (drop-syn, drop-synack, drop-fin, drop-offset) with
 * the flow table they learn ISNs in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "impair_flows.h"
#include "impair_frame.h"
#include "impair_rules.h"
#include "impair_spec.h"
#include "test_rand.h"

#define US 1000ull
#define MS (1000 * US)
#define FRAME_MAX 1600
#define MANY 100000
#define ETH 14u
#define ECT0 0x02
#define ECT1 0x01
#define NOT_ECT 0x00
#define CE 0x03
#define PROTO_TCP 6
#define PROTO_UDP 17

struct frame {
	uint8_t bytes[FRAME_MAX];
	size_t len;
};

static uint16_t ipv4_sum(const uint8_t *header, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(header[i] << 8 | header[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A valid header checksum makes the header sum to 0xffff. */
static bool ipv4_checksum_ok(const struct frame *frame)
{
	size_t header_len = (size_t)(frame->bytes[ETH] & 0x0f) * 4;

	return ipv4_sum(frame->bytes + ETH, header_len) == 0xffff;
}

/* Ethernet + IPv4 (ihl 32-bit words, options NOPs) + l4_len bytes of a
 * pattern, then pad zero bytes of Ethernet padding. */
static void build_ipv4(struct frame *frame, uint8_t protocol, uint8_t tos,
		       unsigned ihl, size_t l4_len, size_t pad)
{
	uint8_t *ip = frame->bytes + ETH;
	size_t total = ihl * 4 + l4_len;
	uint16_t sum;

	memset(frame, 0, sizeof(*frame));
	memset(frame->bytes, 0x02, 6);
	memset(frame->bytes + 6, 0x04, 6);
	frame->bytes[12] = 0x08;
	ip[0] = (uint8_t)(0x40 | ihl);
	ip[1] = tos;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[6] = 0x40;   /* DF, not a fragment */
	ip[8] = 64;
	ip[9] = protocol;
	memcpy(ip + 12, (uint8_t[]){ 10, 77, 1, 1, 10, 77, 1, 2 }, 8);
	memset(ip + 20, 1, ihl * 4 - 20);
	for (size_t i = 0; i < l4_len; i++)
		ip[ihl * 4 + i] = (uint8_t)(i * 7 + 3);
	sum = ipv4_sum(ip, ihl * 4);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	frame->len = ETH + total + pad;
}

static void build_tcp(struct frame *frame, uint8_t tos, size_t payload)
{
	build_ipv4(frame, PROTO_TCP, tos, 5, 20 + payload, 0);
}

static void rules_for(struct impair_rules *rules, const char *text,
		      uint64_t seed, uint32_t stream)
{
	struct impair_spec spec;
	char why[IMPAIR_SPEC_WHY_MAX];

	assert_int_equal(impair_spec_parse(text, &spec, why, sizeof(why)), 0);
	impair_rules_init(rules, &spec, seed, stream);
}

static void decide(struct impair_rules *rules, struct frame *frame,
		   uint64_t now_ns, uint32_t id, struct impair_verdict *verdict)
{
	impair_rules_decide(rules, frame->bytes, frame->len, now_ns, id, verdict);
}

/* ---- SPEC ---- */

static void test_spec_all_keys(void **state)
{
	(void)state;
	struct impair_spec spec;
	char why[IMPAIR_SPEC_WHY_MAX];

	assert_int_equal(impair_spec_parse("loss=1.5,delay=10ms,jitter=500us,"
					   "reorder=2,reorder-gap=5,dup=0.5,"
					   "corrupt=3,rate=100mbit,queue=256k,"
					   "ecn=30k,mark=4", &spec, why, sizeof(why)), 0);
	assert_true(spec.loss_pct == 1.5);
	assert_int_equal(spec.delay_ns, 10 * MS);
	assert_int_equal(spec.jitter_ns, 500 * US);
	assert_true(spec.reorder_pct == 2);
	assert_int_equal(spec.reorder_gap, 5);
	assert_true(spec.dup_pct == 0.5);
	assert_true(spec.corrupt_pct == 3);
	assert_int_equal(spec.rate_bps, 100000000);
	assert_int_equal(spec.queue_bytes, 256 * 1024);
	assert_int_equal(spec.ecn_bytes, 30 * 1024);
	assert_true(spec.mark_pct == 4);

	assert_int_equal(impair_spec_parse("delay=2s,rate=3gbit,queue=1500", &spec,
					   why, sizeof(why)), 0);
	assert_int_equal(spec.delay_ns, 2000 * MS);
	assert_int_equal(spec.rate_bps, 3000000000ull);
	assert_int_equal(spec.queue_bytes, 1500);
}

static void test_spec_targeted_keys(void **state)
{
	(void)state;
	struct impair_spec spec;
	char why[IMPAIR_SPEC_WHY_MAX];

	assert_int_equal(impair_spec_parse("drop-syn=2,drop-synack=1,drop-fin=3,"
					   "drop-offset=256m", &spec, why, sizeof(why)), 0);
	assert_int_equal(spec.drop_syn, 2);
	assert_int_equal(spec.drop_synack, 1);
	assert_int_equal(spec.drop_fin, 3);
	assert_true(spec.drop_offset.given);
	assert_int_equal(spec.drop_offset.bytes, 256u * 1024 * 1024);
	/* Offset 0 (the first byte) is an offset, not "off". */
	assert_int_equal(impair_spec_parse("drop-offset=0", &spec, why, sizeof(why)), 0);
	assert_true(spec.drop_offset.given);
	assert_int_equal(spec.drop_offset.bytes, 0);
	assert_int_equal(impair_spec_parse("drop-offset=4294967295", &spec, why,
					   sizeof(why)), 0);
	assert_int_equal(spec.drop_offset.bytes, UINT32_MAX);
	assert_int_equal(impair_spec_parse("loss=1", &spec, why, sizeof(why)), 0);
	assert_false(spec.drop_offset.given);
	assert_int_equal(spec.drop_syn + spec.drop_synack + spec.drop_fin, 0);
}

static void test_spec_defaults(void **state)
{
	(void)state;
	struct impair_spec spec;
	char why[IMPAIR_SPEC_WHY_MAX];

	assert_int_equal(impair_spec_parse("", &spec, why, sizeof(why)), 0);
	assert_true(spec.loss_pct == 0 && spec.rate_bps == 0 && spec.delay_ns == 0);
	assert_int_equal(spec.reorder_gap, IMPAIR_REORDER_GAP_DEFAULT);
	assert_int_equal(impair_spec_parse("rate=10kbit", &spec, why, sizeof(why)), 0);
	assert_int_equal(spec.rate_bps, 10000);
	assert_int_equal(spec.queue_bytes, IMPAIR_QUEUE_DEFAULT_BYTES);
	assert_int_equal(spec.ecn_bytes, 0);
}

static void test_spec_errors(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{ "foo=1", "unknown key 'foo'" },
		{ "loss", "not KEY=VALUE" },
		{ "loss=", "loss:" },
		{ "loss=abc", "loss:" },
		{ "loss=-1", "loss:" },
		{ "loss=100.5", "loss:" },
		{ "loss=nan", "loss:" },
		{ "loss=1,loss=2", "given twice" },
		{ "delay=10", "delay:" },
		{ "delay=10xs", "delay:" },
		{ "delay=61s", "delay:" },
		{ "jitter=1m", "jitter:" },
		{ "rate=100", "rate:" },
		{ "rate=0mbit", "rate:" },
		{ "reorder-gap=0", "reorder-gap:" },
		{ "reorder-gap=2.5", "reorder-gap:" },
		{ "queue=10k", "need rate" },
		{ "ecn=10k", "need rate" },
		{ "rate=1mbit,queue=0", "queue:" },
		{ "rate=1mbit,queue=5x", "queue:" },
		{ "drop-syn=-1", "drop-syn:" },
		{ "drop-syn=1.5", "drop-syn:" },
		{ "drop-synack=2000000", "drop-synack:" },
		{ "drop-fin=x", "drop-fin:" },
		{ "drop-offset=4g", "drop-offset:" },
		{ "drop-offset=-1", "drop-offset:" },
		{ "drop-offset=1.5", "drop-offset:" },
		{ "drop-offset=10q", "drop-offset:" },
		{ "drop-fin=1,drop-fin=1", "given twice" },
		/* the message lists every key, the last one too */
		{ "nope=1", "drop-offset)" },
	};
	struct impair_spec spec;
	char why[IMPAIR_SPEC_WHY_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(impair_spec_parse(bad[i][0], &spec, why, sizeof(why)), -1);
		if (!strstr(why, bad[i][1]))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i][0], why, bad[i][1]);
	}
}

/* ---- reproducibility ---- */

#define MIXED "loss=10,dup=5,corrupt=5,reorder=5,delay=1ms,jitter=200us,mark=10"

/* Decisions and the frames they leave, folded into a fingerprint. */
static uint64_t run_fingerprint(uint64_t seed, uint32_t stream)
{
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;
	uint64_t hash = 1469598103934665603ull, release;
	uint32_t id;

	rules_for(&rules, MIXED, seed, stream);
	for (uint32_t i = 0; i < 5000; i++) {
		build_tcp(&frame, i % 2 ? ECT0 : NOT_ECT, i % 1400);
		decide(&rules, &frame, i * 10 * US, i, &verdict);
		hash = (hash ^ verdict.copies ^ (uint64_t)verdict.hold << 8) * 1099511628211ull;
		for (uint32_t c = 0; c < verdict.copies; c++)
			hash = (hash ^ verdict.release_ns[c]) * 1099511628211ull;
		for (size_t b = 0; b < frame.len; b++)
			hash = (hash ^ frame.bytes[b]) * 1099511628211ull;
		while (impair_rules_release_held(&rules, i * 10 * US, &id, &release))
			hash = (hash ^ id ^ release << 20) * 1099511628211ull;
	}
	return hash;
}

static void test_determinism(void **state)
{
	(void)state;

	assert_int_equal(run_fingerprint(42, 0), run_fingerprint(42, 0));
	assert_int_equal(run_fingerprint(42, 1), run_fingerprint(42, 1));
	assert_int_not_equal(run_fingerprint(42, 0), run_fingerprint(43, 0));
	/* The two directions of one seed are independent streams. */
	assert_int_not_equal(run_fingerprint(42, 0), run_fingerprint(42, 1));
}

/* A key that is absent (or 0) draws no random number, so that it does
 * not shift the decisions of the keys that are given. */
static void test_absent_keys_draw_nothing(void **state)
{
	(void)state;
	struct impair_rules lossy, lossy_zeros;
	struct impair_verdict first, second;
	struct frame frame;

	rules_for(&lossy, "loss=20", 7, 0);
	rules_for(&lossy_zeros, "loss=20,dup=0,corrupt=0,reorder=0,mark=0,"
		  "reorder-gap=4", 7, 0);
	for (uint32_t i = 0; i < 10000; i++) {
		build_tcp(&frame, ECT0, 100);
		decide(&lossy, &frame, i, i, &first);
		decide(&lossy_zeros, &frame, i, i, &second);
		assert_int_equal(first.copies, second.copies);
	}
}

/* ---- fractions ---- */

static void assert_fraction(uint64_t count, uint64_t of, double percent)
{
	double got = 100.0 * (double)count / (double)of;

	/* 100k trials: the standard deviation of a few percent is ~0.07 %
	 * points; 0.35 is five of them. */
	if (got < percent - 0.35 || got > percent + 0.35)
		fail_msg("%llu of %llu = %.3f %%, expected %.2f %%",
			 (unsigned long long)count, (unsigned long long)of, got, percent);
}

static void test_fractions(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;
	uint64_t copies = 0;

	rules_for(&rules, "loss=5,dup=3,corrupt=2", 1, 0);
	for (uint32_t i = 0; i < MANY; i++) {
		build_tcp(&frame, NOT_ECT, 1000);
		decide(&rules, &frame, i * US, i, &verdict);
		copies += verdict.copies;
	}
	assert_fraction(rules.counters.dropped, MANY, 5);
	/* dup and corrupt apply to the frames loss left. */
	assert_fraction(rules.counters.duplicated, MANY - rules.counters.dropped, 3);
	assert_fraction(rules.counters.corrupted, MANY - rules.counters.dropped, 2);
	assert_int_equal(copies, MANY - rules.counters.dropped + rules.counters.duplicated);
	assert_int_equal(rules.counters.reordered + rules.counters.marked +
			 rules.counters.queue_drops, 0);
}

static void test_nothing_by_default(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame, original;

	rules_for(&rules, "", 1, 0);
	for (uint32_t i = 0; i < 1000; i++) {
		build_tcp(&frame, ECT0, i);
		original = frame;
		decide(&rules, &frame, i * US, i, &verdict);
		assert_int_equal(verdict.copies, 1);
		assert_false(verdict.hold);
		assert_int_equal(verdict.release_ns[0], i * US);
		assert_memory_equal(frame.bytes, original.bytes, frame.len);
	}
}

/* ---- delay, jitter, duplicates ---- */

static void test_jitter_never_reorders(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;
	uint64_t previous = 0;

	rules_for(&rules, "delay=10ms,jitter=5ms", 3, 0);
	/* 10 us apart, far closer than the jitter's 10 ms range. */
	for (uint32_t i = 0; i < 10000; i++) {
		uint64_t now = i * 10 * US, release;

		build_tcp(&frame, NOT_ECT, 100);
		decide(&rules, &frame, now, i, &verdict);
		release = verdict.release_ns[0];
		assert_true(release >= previous);
		assert_true(release >= now + 5 * MS);
		assert_true(release <= now + 15 * MS || release == previous);
		previous = release;
	}
}

/* Frames further apart than the jitter's range: each delay is its own
 * draw over the whole range. */
static void test_jitter_range(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;
	uint64_t lowest = UINT64_MAX, highest = 0, sum = 0;

	rules_for(&rules, "delay=10ms,jitter=5ms", 3, 0);
	for (uint32_t i = 0; i < 10000; i++) {
		uint64_t now = i * 20 * MS, delay;

		build_tcp(&frame, NOT_ECT, 100);
		decide(&rules, &frame, now, i, &verdict);
		delay = verdict.release_ns[0] - now;
		assert_true(delay >= 5 * MS && delay <= 15 * MS);
		lowest = delay < lowest ? delay : lowest;
		highest = delay > highest ? delay : highest;
		sum += delay;
	}
	assert_true(lowest < 5 * MS + 20 * US);
	assert_true(highest > 15 * MS - 20 * US);
	assert_true(sum / 10000 > 10 * MS - 100 * US && sum / 10000 < 10 * MS + 100 * US);
}

/* Jitter larger than the delay: never before the frame arrived. */
static void test_jitter_beyond_delay(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "delay=1ms,jitter=5ms", 3, 0);
	for (uint32_t i = 0; i < 10000; i++) {
		build_tcp(&frame, NOT_ECT, 100);
		decide(&rules, &frame, i * 100 * US, i, &verdict);
		assert_true(verdict.release_ns[0] >= i * 100 * US);
	}
}

static void test_duplicate_follows_original(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	/* 1250 bytes at 100 Mbit/s take 100 us on the wire, the copy too. */
	rules_for(&rules, "dup=100,rate=100mbit,delay=1ms", 3, 0);
	build_tcp(&frame, NOT_ECT, 1250 - ETH - 40);
	decide(&rules, &frame, 0, 0, &verdict);
	assert_int_equal(verdict.copies, 2);
	assert_int_equal(verdict.release_ns[0], 100 * US + MS);
	assert_int_equal(verdict.release_ns[1], 200 * US + MS);
	assert_int_equal(rules.counters.duplicated, 1);
}

/* ---- reordering ---- */

static void test_reorder_gap(void **state)
{
	(void)state;
	enum { FRAMES = 20000 };
	static uint32_t order[FRAMES];
	static uint64_t release_of[FRAMES];
	static bool was_held[FRAMES];
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;
	uint32_t out = 0, id, held = 0;
	uint64_t release;

	rules_for(&rules, "reorder=10,reorder-gap=3", 5, 0);
	for (uint32_t i = 0; i < FRAMES; i++) {
		/* 1 us apart: the 1 ms wait never ends a hold here. */
		build_tcp(&frame, NOT_ECT, 100);
		decide(&rules, &frame, i * US, i, &verdict);
		was_held[i] = verdict.hold;
		if (!verdict.hold) {
			release_of[i] = verdict.release_ns[0];
			order[out++] = i;
		}
		while (impair_rules_release_held(&rules, i * US, &id, &release)) {
			/* right behind the frame that filled the gap */
			assert_int_equal(release, release_of[order[out - 1]]);
			release_of[id] = release;
			order[out++] = id;
		}
	}
	assert_fraction(rules.counters.reordered, FRAMES, 10);
	/* Every held frame left after exactly 3 frames that came after it
	 * (the last few may still be held). */
	for (uint32_t pos = 0; pos < out; pos++) {
		uint32_t passed = 0;

		if (!was_held[order[pos]])
			continue;
		held++;
		for (uint32_t before = 0; before < pos; before++)
			passed += order[before] > order[pos];
		assert_int_equal(passed, 3);
	}
	assert_int_equal(held + rules.held_count, rules.counters.reordered);
}

static void test_reorder_wait(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;
	uint32_t id;
	uint64_t release;

	rules_for(&rules, "reorder=100,delay=2ms", 5, 0);
	build_tcp(&frame, NOT_ECT, 100);
	decide(&rules, &frame, 0, 17, &verdict);
	assert_true(verdict.hold);
	assert_int_equal(verdict.release_ns[0], 2 * MS);
	assert_int_equal(impair_rules_next_deadline(&rules), 2 * MS + IMPAIR_REORDER_WAIT_NS);
	assert_false(impair_rules_release_held(&rules, 2 * MS + IMPAIR_REORDER_WAIT_NS - 1,
					       &id, &release));
	/* Called late: it still leaves with its deadline as release time. */
	assert_true(impair_rules_release_held(&rules, 4 * MS, &id, &release));
	assert_int_equal(id, 17);
	assert_int_equal(release, 2 * MS + IMPAIR_REORDER_WAIT_NS);
	assert_int_equal(impair_rules_next_deadline(&rules), UINT64_MAX);
	assert_false(impair_rules_release_held(&rules, 10 * MS, &id, &release));
}

static void test_reorder_bounded(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "reorder=100", 5, 0);
	for (uint32_t i = 0; i < 2 * IMPAIR_HELD_MAX; i++) {
		build_tcp(&frame, NOT_ECT, 100);
		decide(&rules, &frame, 0, i, &verdict);
		assert_int_equal(verdict.hold, i < IMPAIR_HELD_MAX);
	}
	assert_int_equal(rules.counters.reordered, IMPAIR_HELD_MAX);
}

/* ---- rate limiter ---- */

static void test_rate_serialisation(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "rate=100mbit,delay=1ms", 1, 0);
	/* A burst at t = 0: 1250 bytes take 100 us each, back to back. */
	for (uint32_t k = 0; k < 8; k++) {
		build_tcp(&frame, NOT_ECT, 1250 - ETH - 40);
		decide(&rules, &frame, 0, k, &verdict);
		assert_int_equal(verdict.copies, 1);
		assert_int_equal(verdict.release_ns[0], (k + 1) * 100 * US + MS);
	}
	/* After the link went idle: from the arrival, not from the past. */
	build_tcp(&frame, NOT_ECT, 1250 - ETH - 40);
	decide(&rules, &frame, 5 * MS, 8, &verdict);
	assert_int_equal(verdict.release_ns[0], 5 * MS + 100 * US + MS);
	/* 64 bytes at 100 Mbit/s: 5.12 us */
	frame.len = 64;
	decide(&rules, &frame, 10 * MS, 9, &verdict);
	assert_int_equal(verdict.release_ns[0], 10 * MS + 5120 + MS);
}

static void test_queue_tail_drop(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "rate=100mbit,queue=10k", 1, 0);
	build_tcp(&frame, NOT_ECT, 1250 - ETH - 40);
	/* Frame k sees k * 1250 bytes waiting: 8 fit in 10240 bytes. */
	for (uint32_t k = 0; k < 20; k++) {
		decide(&rules, &frame, 0, k, &verdict);
		assert_int_equal(verdict.copies, k < 8 ? 1 : 0);
	}
	assert_int_equal(rules.counters.queue_drops, 12);
	/* Half drained at 400 us: 5000 bytes wait, 4 more fit. */
	for (uint32_t k = 0; k < 5; k++) {
		decide(&rules, &frame, 400 * US, 20 + k, &verdict);
		assert_int_equal(verdict.copies, k < 4 ? 1 : 0);
	}
	assert_int_equal(rules.counters.queue_drops, 13);
	assert_int_equal(rules.counters.dropped, 0);
	/* From the first frame (at 0): the first drop then, the last at
	 * 400 us. */
	assert_int_equal(rules.counters.queue_drop_first_ns, 0);
	assert_int_equal(rules.counters.queue_drop_last_ns, 400 * US);
}

/* What arriving frames found waiting, for the stage's backlog figures. */
static void test_backlog_figures(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "rate=100mbit,queue=10k", 1, 0);
	build_tcp(&frame, NOT_ECT, 1250 - ETH - 40);
	/* Frame k finds k * 1250 bytes; frames 8 and 9 are tail-dropped and
	 * count for neither figure. */
	for (uint32_t k = 0; k < 10; k++)
		decide(&rules, &frame, 0, k, &verdict);
	assert_int_equal(rules.counters.limited, 8);
	assert_int_equal(rules.counters.backlog_peak, 7 * 1250);
	assert_int_equal(rules.counters.backlog_sum, 1250 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7));
	/* An idle link: the next one finds nothing. */
	decide(&rules, &frame, 10 * MS, 10, &verdict);
	assert_int_equal(rules.counters.limited, 9);
	assert_int_equal(rules.counters.backlog_peak, 7 * 1250);
}

/* Drop times count from the direction's first frame, not from 0. */
static void test_queue_drop_times(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "rate=100mbit,queue=2k", 1, 0);
	build_tcp(&frame, NOT_ECT, 1250 - ETH - 40);
	decide(&rules, &frame, 7 * MS, 0, &verdict);
	assert_int_equal(rules.counters.queue_drop_first_ns, 0);
	decide(&rules, &frame, 7 * MS + 10 * US, 1, &verdict);
	decide(&rules, &frame, 7 * MS + 30 * US, 2, &verdict);
	assert_int_equal(rules.counters.queue_drops, 2);
	assert_int_equal(rules.counters.queue_drop_first_ns, 10 * US);
	assert_int_equal(rules.counters.queue_drop_last_ns, 30 * US);
}

static void test_ecn_marks_only_ect(void **state)
{
	(void)state;
	static const uint8_t codepoints[] = { ECT0, NOT_ECT, ECT1, CE };
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame, original;
	uint64_t expected = 0;

	rules_for(&rules, "rate=100mbit,ecn=5k", 1, 0);
	for (uint32_t k = 0; k < 40; k++) {
		uint8_t ecn = codepoints[k % 4];
		/* Frame k sees k * 1250 bytes waiting, above 5120 from k = 5. */
		bool congested = k >= 5;
		bool ect = ecn == ECT0 || ecn == ECT1;

		build_tcp(&frame, (uint8_t)(0xb8 | ecn), 1250 - ETH - 40);
		original = frame;
		decide(&rules, &frame, 0, k, &verdict);
		assert_int_equal(verdict.copies, 1);
		assert_true(ipv4_checksum_ok(&frame));
		if (congested && ect) {
			expected++;
			assert_int_equal(frame.bytes[ETH + 1], 0xb8 | CE);
			/* only the TOS byte and the checksum changed */
			original.bytes[ETH + 1] = frame.bytes[ETH + 1];
			original.bytes[ETH + 10] = frame.bytes[ETH + 10];
			original.bytes[ETH + 11] = frame.bytes[ETH + 11];
		}
		assert_memory_equal(frame.bytes, original.bytes, frame.len);
	}
	assert_int_equal(rules.counters.marked, expected);
}

static void test_random_marks(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame, original;
	uint64_t ect_frames = 0;

	rules_for(&rules, "mark=50", 9, 0);
	for (uint32_t i = 0; i < MANY; i++) {
		uint8_t ecn = (uint8_t)(i % 3 == 0 ? NOT_ECT : i % 3 == 1 ? ECT0 : ECT1);

		build_tcp(&frame, ecn, 64);
		original = frame;
		decide(&rules, &frame, i * US, i, &verdict);
		assert_true(ipv4_checksum_ok(&frame));
		if (ecn == NOT_ECT)
			assert_memory_equal(frame.bytes, original.bytes, frame.len);
		else
			ect_frames++;
	}
	assert_fraction(rules.counters.marked, ect_frames, 50);
}

/* ---- what corruption and marking may touch ---- */

static size_t differing_bit(const struct frame *a, const struct frame *b,
			    unsigned *count)
{
	size_t bit = SIZE_MAX;

	*count = 0;
	for (size_t i = 0; i < a->len; i++) {
		uint8_t diff = a->bytes[i] ^ b->bytes[i];

		for (unsigned j = 0; j < 8; j++) {
			if (diff & (0x80u >> j)) {
				(*count)++;
				bit = i * 8 + j;
			}
		}
	}
	return bit;
}

static void test_corrupt_only_tcp(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame, original;
	struct test_rand rand = test_rand_seed(11);
	unsigned flips, in_header = 0, in_payload = 0;

	rules_for(&rules, "corrupt=100", 2, 0);
	for (uint32_t i = 0; i < 20000; i++) {
		unsigned ihl = 5 + test_rand_below(&rand, 3);
		size_t payload = test_rand_below(&rand, 1400);
		/* short frames carry Ethernet padding, which TCP never sees */
		size_t pad = payload < 6 ? 6 - payload : 0;
		size_t tcp_start = ETH + ihl * 4, tcp_end;
		size_t bit;

		build_ipv4(&frame, PROTO_TCP, ECT0, ihl, 20 + payload, pad);
		tcp_end = tcp_start + 20 + payload;
		original = frame;
		decide(&rules, &frame, i * US, i, &verdict);
		bit = differing_bit(&frame, &original, &flips);
		assert_int_equal(flips, 1);
		assert_true(bit >= tcp_start * 8 && bit < tcp_end * 8);
		in_header += bit < (tcp_start + 20) * 8;
		in_payload += bit >= (tcp_start + 20) * 8;
	}
	assert_int_equal(rules.counters.corrupted, 20000);
	assert_true(in_header > 100 && in_payload > 100);
}

static void test_corrupt_leaves_other_frames(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame, original;

	rules_for(&rules, "corrupt=100", 2, 0);
	for (uint32_t i = 0; i < 400; i++) {
		switch (i % 4) {
		case 0: /* UDP */
			build_ipv4(&frame, PROTO_UDP, NOT_ECT, 5, 200, 0);
			break;
		case 1: /* an IPv4 fragment of a TCP segment */
			build_tcp(&frame, NOT_ECT, 200);
			frame.bytes[ETH + 6] = 0x20;   /* more fragments */
			break;
		case 2: /* ARP */
			build_tcp(&frame, NOT_ECT, 200);
			frame.bytes[12] = 0x08;
			frame.bytes[13] = 0x06;
			break;
		default: /* IP total length beyond the frame (truncated) */
			build_tcp(&frame, NOT_ECT, 200);
			frame.len -= 10;
			break;
		}
		original = frame;
		decide(&rules, &frame, i * US, i, &verdict);
		assert_int_equal(verdict.copies, 1);
		assert_memory_equal(frame.bytes, original.bytes, frame.len);
	}
	assert_int_equal(rules.counters.corrupted, 0);
}

/* RFC 1624's incremental checksum against a full recomputation, for
 * headers of every length and random contents. */
static void test_set_ce_checksum(void **state)
{
	(void)state;
	struct test_rand rand = test_rand_seed(5);
	struct frame frame;

	for (uint32_t i = 0; i < MANY; i++) {
		unsigned ihl = 5 + test_rand_below(&rand, 11);
		uint8_t *ip = frame.bytes + ETH;
		uint16_t sum;

		build_ipv4(&frame, PROTO_TCP, 0, ihl, 20, 0);
		for (unsigned b = 4; b < ihl * 4; b++)
			if (b != 10 && b != 11)
				ip[b] = (uint8_t)test_rand_next(&rand);
		ip[1] = (uint8_t)((test_rand_next(&rand) & 0xfc) |
				  (i % 2 ? ECT0 : ECT1));
		ip[10] = ip[11] = 0;
		sum = ipv4_sum(ip, ihl * 4);
		ip[10] = (uint8_t)(~sum >> 8);
		ip[11] = (uint8_t)~sum;
		assert_true(impair_frame_ect(frame.bytes, frame.len));
		impair_frame_set_ce(frame.bytes);
		assert_int_equal(ip[1] & 3, CE);
		assert_false(impair_frame_ect(frame.bytes, frame.len));
		assert_true(ipv4_checksum_ok(&frame));
	}
}

static void test_short_frames(void **state)
{
	(void)state;
	struct frame frame;
	size_t start, end;

	build_tcp(&frame, ECT0, 0);
	for (size_t len = 0; len < ETH + 40; len++) {
		assert_false(impair_frame_tcp_span(frame.bytes, len, &start, &end));
		assert_false(impair_frame_ect(frame.bytes, len));
	}
	assert_true(impair_frame_tcp_span(frame.bytes, ETH + 40, &start, &end));
	assert_int_equal(start, ETH + 20);
	assert_int_equal(end, ETH + 40);
}

/* ---- targeted drops ---- */

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10
#define MSS 1000u

struct endpoints {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
};

static const struct endpoints client = { { 10, 77, 1, 2 }, { 10, 77, 1, 1 }, 40000, 5001 };

/* An IPv4/TCP frame of e with seq, flags and payload bytes; SYNs carry
 * 12 bytes of options, as real ones do, to exercise the data offset. */
static void build_segment(struct frame *frame, const struct endpoints *e,
			  uint32_t seq, uint8_t flags, size_t payload)
{
	size_t header = flags & SYN ? 32 : 20;
	uint8_t *ip = frame->bytes + ETH, *tcp = ip + 20;

	build_ipv4(frame, PROTO_TCP, NOT_ECT, 5, header + payload, 0);
	memcpy(ip + 12, e->src, 4);
	memcpy(ip + 16, e->dst, 4);
	memset(tcp, 0, header);
	tcp[0] = (uint8_t)(e->sport >> 8);
	tcp[1] = (uint8_t)e->sport;
	tcp[2] = (uint8_t)(e->dport >> 8);
	tcp[3] = (uint8_t)e->dport;
	for (int i = 0; i < 4; i++)
		tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
	tcp[12] = (uint8_t)(header / 4 << 4);
	tcp[13] = flags;
	memset(tcp + 20, 1, header - 20);   /* NOP options */
}

/* Whether rules pass the segment (one copy) or drop it (none). */
static bool passes(struct impair_rules *rules, const struct endpoints *e,
		   uint32_t seq, uint8_t flags, size_t payload)
{
	static uint32_t id;
	struct impair_verdict verdict;
	struct frame frame;

	build_segment(&frame, e, seq, flags, payload);
	decide(rules, &frame, 0, id++, &verdict);
	assert_true(verdict.copies <= 1);
	return verdict.copies == 1;
}

static void test_drop_syn(void **state)
{
	(void)state;
	struct impair_rules rules;

	rules_for(&rules, "drop-syn=2", 1, 0);
	/* Neither SYN-ACKs, nor SYNs with RST or FIN, nor data count. */
	assert_true(passes(&rules, &client, 100, SYN | ACK, 0));
	assert_true(passes(&rules, &client, 100, SYN | RST, 0));
	assert_true(passes(&rules, &client, 100, SYN | FIN, 0));
	assert_true(passes(&rules, &client, 100, ACK, 500));
	assert_false(passes(&rules, &client, 100, SYN, 0));
	assert_false(passes(&rules, &client, 100, SYN, 0));
	assert_true(passes(&rules, &client, 100, SYN, 0));
	assert_true(passes(&rules, &client, 100, SYN, 0));
	assert_int_equal(rules.targets.syn_drops, 2);
	assert_int_equal(rules.targets.synack_drops + rules.targets.fin_drops +
			 rules.targets.offset_drops + rules.counters.dropped, 0);
}

static void test_drop_synack(void **state)
{
	(void)state;
	struct impair_rules rules;

	rules_for(&rules, "drop-synack=1", 1, 0);
	assert_true(passes(&rules, &client, 7, SYN, 0));
	assert_false(passes(&rules, &client, 7, SYN | ACK, 0));
	assert_true(passes(&rules, &client, 7, SYN | ACK, 0));
	assert_int_equal(rules.targets.synack_drops, 1);
	assert_int_equal(rules.targets.syn_drops, 0);
}

static void test_drop_fin(void **state)
{
	(void)state;
	struct impair_rules rules;

	rules_for(&rules, "drop-fin=2", 1, 0);
	assert_true(passes(&rules, &client, 1, ACK, 100));
	/* A reset is no FIN to retransmit, whatever its flags. */
	assert_true(passes(&rules, &client, 1, FIN | RST | ACK, 0));
	/* Data with FIN, then the FIN sent again: both count. */
	assert_false(passes(&rules, &client, 1, FIN | ACK, 100));
	assert_false(passes(&rules, &client, 101, FIN | ACK, 0));
	assert_true(passes(&rules, &client, 101, FIN | ACK, 0));
	assert_int_equal(rules.targets.fin_drops, 2);
}

/* A flow of MSS-sized segments from ISN isn: the one holding byte
 * `offset` is dropped once, the retransmission and the rest pass, and the
 * SYN itself is never taken for data. */
static void check_offset_drop(uint32_t isn, uint32_t offset)
{
	struct impair_rules rules;
	char spec[64];
	uint32_t target = offset / MSS;

	snprintf(spec, sizeof(spec), "drop-offset=%u", offset);
	rules_for(&rules, spec, 1, 0);
	assert_true(passes(&rules, &client, isn, SYN, 0));
	for (uint32_t k = 0; k < 20; k++)
		assert_int_equal(passes(&rules, &client, isn + 1 + k * MSS, ACK, MSS),
				 k != target);
	assert_true(passes(&rules, &client, isn + 1 + target * MSS, ACK, MSS));
	/* retransmitted in smaller pieces: still not dropped again */
	assert_true(passes(&rules, &client, isn + 1 + offset, ACK, 1));
	assert_int_equal(rules.targets.offset_drops, 1);
}

static void test_drop_offset(void **state)
{
	(void)state;

	check_offset_drop(1000, 0);
	check_offset_drop(1000, 4999);      /* the last byte of segment 4 */
	check_offset_drop(1000, 5000);      /* the first of segment 5 */
	check_offset_drop(1000, 19999);     /* the last byte of all */
	/* across the wrap of the sequence space */
	check_offset_drop(UINT32_MAX - 2500, 7321);
	check_offset_drop(UINT32_MAX, 0);
}

static void test_drop_offset_per_flow(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct endpoints other = client, unseen = client;

	other.sport = 40001;
	unseen.sport = 40002;
	rules_for(&rules, "drop-offset=1500", 1, 0);
	/* The server's side: its ISN comes with the SYN-ACK. */
	assert_true(passes(&rules, &client, 5000, SYN | ACK, 0));
	assert_true(passes(&rules, &other, 9000, SYN, 0));
	assert_false(passes(&rules, &client, 5001 + 1000, ACK, 1000));
	assert_true(passes(&rules, &other, 9001 + 1000, ACK, 499));
	assert_false(passes(&rules, &other, 9001 + 1499, ACK, 2));
	/* No SYN seen: no stream offsets known, nothing to drop. */
	assert_true(passes(&rules, &unseen, 1001, ACK, 1000));
	assert_int_equal(rules.targets.offset_drops, 2);
	/* A new connection on the 4-tuple (another ISN) is a new flow. */
	assert_true(passes(&rules, &client, 70000, SYN, 0));
	assert_false(passes(&rules, &client, 70001 + 1500, ACK, 10));
	/* The same SYN again is not. */
	assert_true(passes(&rules, &client, 70000, SYN, 0));
	assert_true(passes(&rules, &client, 70001 + 1500, ACK, 10));
	assert_int_equal(rules.targets.offset_drops, 3);
}

static void test_drop_offset_syn_with_data(void **state)
{
	(void)state;
	struct impair_rules rules;

	rules_for(&rules, "drop-offset=0", 1, 0);
	/* A SYN is no data: byte 0 is the one after it. */
	assert_true(passes(&rules, &client, 300, SYN, 0));
	assert_false(passes(&rules, &client, 301, ACK, 10));
	/* A SYN carrying data (TFO) is learnt and may be dropped itself:
	 * its 10 bytes are offsets 0 to 9. */
	rules_for(&rules, "drop-offset=9", 1, 0);
	assert_false(passes(&rules, &client, 300, SYN, 10));
	assert_int_equal(rules.targets.offset_drops, 1);
	rules_for(&rules, "drop-offset=10", 1, 0);
	assert_true(passes(&rules, &client, 300, SYN, 10));
	assert_false(passes(&rules, &client, 311, ACK, 10));
	assert_int_equal(rules.targets.offset_drops, 1);
}

/* Targeted drops come first and draw no random number: the random
 * decisions about all other frames stay those of the same seed without
 * them. */
static void test_targets_before_random(void **state)
{
	(void)state;
	struct impair_rules plain, targeted;
	struct impair_verdict first, second;
	struct frame frame;

	rules_for(&plain, "loss=30,dup=10", 4, 0);
	rules_for(&targeted, "loss=30,dup=10,drop-fin=2000,drop-offset=0", 4, 0);
	for (uint32_t i = 0; i < 10000; i++) {
		bool fin = i % 7 == 0;

		build_segment(&frame, &client, i * MSS, fin ? FIN | ACK : ACK, MSS);
		decide(&targeted, &frame, i, i, &second);
		if (fin) {
			assert_int_equal(second.copies, 0);
			continue;
		}
		decide(&plain, &frame, i, i, &first);
		assert_int_equal(first.copies, second.copies);
	}
	assert_int_equal(targeted.targets.fin_drops, (10000 + 6) / 7);
	/* no SYN seen: no offset drop */
	assert_int_equal(targeted.targets.offset_drops, 0);
	/* loss=100 cannot take a targeted frame's count away */
	rules_for(&targeted, "loss=100,drop-syn=1", 4, 0);
	assert_false(passes(&targeted, &client, 1, SYN, 0));
	assert_false(passes(&targeted, &client, 1, SYN, 0));
	assert_int_equal(targeted.targets.syn_drops, 1);
	assert_int_equal(targeted.counters.dropped, 1);
}

static void test_targets_ignore_non_tcp(void **state)
{
	(void)state;
	struct impair_rules rules;
	struct impair_verdict verdict;
	struct frame frame;

	rules_for(&rules, "drop-syn=100,drop-synack=100,drop-fin=100", 1, 0);
	/* A UDP datagram whose bytes would read as a SYN */
	build_segment(&frame, &client, 1, SYN, 0);
	frame.bytes[ETH + 9] = PROTO_UDP;
	decide(&rules, &frame, 0, 0, &verdict);
	assert_int_equal(verdict.copies, 1);
	/* A data offset beyond the segment: not a TCP header to trust */
	build_segment(&frame, &client, 1, FIN, 0);
	frame.bytes[ETH + 20 + 12] = 0xf0;
	decide(&rules, &frame, 0, 1, &verdict);
	assert_int_equal(verdict.copies, 1);
	/* A fragment */
	build_segment(&frame, &client, 1, SYN | ACK, 0);
	frame.bytes[ETH + 6] = 0x20;
	decide(&rules, &frame, 0, 2, &verdict);
	assert_int_equal(verdict.copies, 1);
	assert_int_equal(rules.targets.syn_drops + rules.targets.synack_drops +
			 rules.targets.fin_drops, 0);
}

static void test_tcp_segment_fields(void **state)
{
	(void)state;
	struct impair_tcp_segment segment;
	struct frame frame;

	build_segment(&frame, &client, 0xdeadbeef, SYN | ACK, 37);
	assert_true(impair_frame_tcp_segment(frame.bytes, frame.len, &segment));
	assert_int_equal(segment.src_ip, 0x0a4d0102);
	assert_int_equal(segment.dst_ip, 0x0a4d0101);
	assert_int_equal(segment.src_port, 40000);
	assert_int_equal(segment.dst_port, 5001);
	assert_int_equal(segment.seq, 0xdeadbeef);
	assert_int_equal(segment.flags, SYN | ACK);
	assert_int_equal(segment.payload_len, 37);
	/* Ethernet padding after a short segment is no payload. */
	build_ipv4(&frame, PROTO_TCP, NOT_ECT, 5, 20, 6);
	frame.bytes[ETH + 20 + 12] = 0x50;
	assert_true(impair_frame_tcp_segment(frame.bytes, frame.len, &segment));
	assert_int_equal(segment.payload_len, 0);
}

static void test_flow_table(void **state)
{
	(void)state;
	struct impair_flows flows;
	struct impair_flow_key key = { .src_ip = 1, .dst_ip = 2, .dst_port = 80 };
	struct impair_flow *flow;

	impair_flows_init(&flows);
	for (uint16_t port = 0; port < IMPAIR_FLOWS_MAX; port++) {
		key.src_port = port;
		assert_non_null(impair_flows_learn(&flows, &key, port * 10u));
	}
	/* Flow 0 used again: flow 1 is now the least recently used. */
	key.src_port = 0;
	assert_non_null(impair_flows_find(&flows, &key));
	key.src_port = IMPAIR_FLOWS_MAX;
	impair_flows_learn(&flows, &key, 7);
	key.src_port = 1;
	assert_null(impair_flows_find(&flows, &key));
	for (uint16_t port = 0; port <= IMPAIR_FLOWS_MAX; port++) {
		key.src_port = port;
		flow = impair_flows_find(&flows, &key);
		if (port == 1)
			continue;
		assert_non_null(flow);
		assert_int_equal(flow->isn, port == IMPAIR_FLOWS_MAX ? 7 : port * 10u);
	}
	/* A renewed ISN starts the flow over. */
	key.src_port = 2;
	flow = impair_flows_find(&flows, &key);
	flow->offset_dropped = true;
	assert_true(impair_flows_learn(&flows, &key, 20)->offset_dropped);
	flow = impair_flows_learn(&flows, &key, 21);
	assert_false(flow->offset_dropped);
	assert_int_equal(flow->isn, 21);
	/* other fields of the key matter too */
	key.dst_port = 81;
	assert_null(impair_flows_find(&flows, &key));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_all_keys),
		cmocka_unit_test(test_spec_defaults),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_absent_keys_draw_nothing),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_nothing_by_default),
		cmocka_unit_test(test_jitter_never_reorders),
		cmocka_unit_test(test_jitter_range),
		cmocka_unit_test(test_jitter_beyond_delay),
		cmocka_unit_test(test_duplicate_follows_original),
		cmocka_unit_test(test_reorder_gap),
		cmocka_unit_test(test_reorder_wait),
		cmocka_unit_test(test_reorder_bounded),
		cmocka_unit_test(test_rate_serialisation),
		cmocka_unit_test(test_queue_tail_drop),
		cmocka_unit_test(test_backlog_figures),
		cmocka_unit_test(test_queue_drop_times),
		cmocka_unit_test(test_ecn_marks_only_ect),
		cmocka_unit_test(test_random_marks),
		cmocka_unit_test(test_corrupt_only_tcp),
		cmocka_unit_test(test_corrupt_leaves_other_frames),
		cmocka_unit_test(test_set_ce_checksum),
		cmocka_unit_test(test_short_frames),
		cmocka_unit_test(test_spec_targeted_keys),
		cmocka_unit_test(test_drop_syn),
		cmocka_unit_test(test_drop_synack),
		cmocka_unit_test(test_drop_fin),
		cmocka_unit_test(test_drop_offset),
		cmocka_unit_test(test_drop_offset_per_flow),
		cmocka_unit_test(test_drop_offset_syn_with_data),
		cmocka_unit_test(test_targets_before_random),
		cmocka_unit_test(test_targets_ignore_non_tcp),
		cmocka_unit_test(test_tcp_segment_fields),
		cmocka_unit_test(test_flow_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
