/*
 * What one direction of the impairment stage does to its frames: the
 * SPEC of the command line ("loss=1,delay=10ms,rate=100mbit,..."), parsed
 * without side effects so that the unit tests can check every key.
 * Random impairments (loss, dup, ...) and targeted drops (drop-syn,
 * drop-fin, drop-offset, ...: the same frames on every run, for tests of
 * the handshake, the teardown and the end of a transfer).
 */
#ifndef TAS_IMPAIR_SPEC_H
#define TAS_IMPAIR_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMPAIR_REORDER_GAP_DEFAULT 3u
/* Backlog the rate limiter keeps before tail drop when queue= is not given. */
#define IMPAIR_QUEUE_DEFAULT_BYTES (1024u * 1024u)

struct impair_spec {
	double loss_pct;         /* frames dropped at random */
	double dup_pct;          /* frames sent twice */
	double corrupt_pct;      /* IPv4/TCP frames with one bit flipped in TCP */
	double reorder_pct;      /* frames held back behind reorder_gap others */
	double mark_pct;         /* ECT frames CE-marked at random */
	uint64_t delay_ns;       /* added to every frame's departure */
	uint64_t jitter_ns;      /* uniform +- around delay_ns */
	uint32_t reorder_gap;    /* frames a held-back frame lets pass */
	uint64_t rate_bps;       /* serialisation rate; 0: unlimited */
	uint64_t queue_bytes;    /* rate limiter backlog before tail drop */
	uint64_t ecn_bytes;      /* CE-mark ECT frames above this backlog; 0: off */
	uint32_t drop_syn;       /* drop the first N SYNs without ACK */
	uint32_t drop_synack;    /* drop the first N SYN-ACKs */
	uint32_t drop_fin;       /* drop the first N segments carrying FIN */
	/* Drop, in each TCP flow, the first segment carrying this stream
	 * byte (0: the first byte after the SYN); given: the key was set. */
	struct impair_stream_offset {
		bool given;
		uint32_t bytes;
	} drop_offset;
};

/* Room for the longest message impair_spec_parse writes. */
#define IMPAIR_SPEC_WHY_MAX 256

/* A spec that leaves every frame alone. */
void impair_spec_none(struct impair_spec *spec);

/* Parse text (a comma list of KEY=VALUE, possibly empty) into spec.
 * Returns 0, or -1 with a message naming the key and the problem in why. */
int impair_spec_parse(const char *text, struct impair_spec *spec, char *why,
		      size_t why_size);

#endif /* TAS_IMPAIR_SPEC_H */
