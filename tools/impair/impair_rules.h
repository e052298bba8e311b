/*
 * The impairment stage's decisions for one direction, free of sockets and
 * clocks: given a frame and the time it arrived, whether it is dropped,
 * duplicated, corrupted, CE-marked or held back for reordering, and when
 * each copy leaves.  The same spec, seed, stream and input (frames and
 * times) always give the same decisions.
 *
 * A frame goes through, in this order: targeted drops (drop-syn,
 * drop-synack, drop-fin, drop-offset: impair_targets.h); random loss;
 * the rate limiter (tail drop above queue=, CE above ecn=, serialisation
 * at rate=); random CE marking (mark=); corruption (one bit of an
 * IPv4/TCP frame's TCP segment); delay and jitter (never earlier than the
 * frame before it in this direction); duplication (the copy queues right
 * behind the original, through the rate limiter too); reordering.
 */
#ifndef TAS_IMPAIR_RULES_H
#define TAS_IMPAIR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "impair_random.h"
#include "impair_spec.h"
#include "impair_targets.h"

/* Frames held back for reordering at once; more are not held. */
#define IMPAIR_HELD_MAX 64u
/* A held frame leaves at most this long after it would have, if fewer
 * than reorder_gap frames come after it. */
#define IMPAIR_REORDER_WAIT_NS 1000000u
#define IMPAIR_MAX_COPIES 2u

struct impair_counters {
	uint64_t dropped;       /* by loss= */
	uint64_t duplicated;    /* copies made by dup= */
	uint64_t corrupted;     /* by corrupt= */
	uint64_t reordered;     /* held back by reorder= */
	uint64_t marked;        /* CE set by mark= or ecn= */
	uint64_t queue_drops;   /* tail drops at the rate limiter */
	/* When the first and the last of them happened, in ns after the
	 * first frame of this direction (0 without drops): a slow start's
	 * overshoot or a steady state's losses. */
	uint64_t queue_drop_first_ns;
	uint64_t queue_drop_last_ns;
	/* What frames entering the rate limiter found waiting: the most,
	 * and the sum (over limited frames, for the mean), in bytes. */
	uint64_t limited;
	uint64_t backlog_peak;
	uint64_t backlog_sum;
};

/* A frame held back: the caller's id for it, how many frames must still
 * pass it, and when it leaves anyway. */
struct impair_held {
	uint32_t id;
	uint32_t frames_left;
	uint64_t deadline_ns;
};

struct impair_rules {
	struct impair_spec spec;
	struct impair_random random;
	uint64_t link_free_ns;     /* when the rate limiter has sent all it has */
	uint64_t last_release_ns;  /* latest release time given so far */
	bool started;              /* a frame was decided: start_ns is set */
	uint64_t start_ns;         /* when the first frame arrived */
	struct impair_held held[IMPAIR_HELD_MAX];   /* in the order held */
	uint32_t held_count;
	struct impair_counters counters;
	struct impair_targets targets;   /* with its own counters */
};

struct impair_verdict {
	uint32_t copies;   /* 0: the frame is dropped; 2: it is duplicated */
	/* Copy 0 is held back: the caller keeps it under its id until
	 * impair_rules_release_held returns that id. */
	bool hold;
	uint64_t release_ns[IMPAIR_MAX_COPIES];   /* when each copy leaves */
};

/* Decisions for one direction: stream tells the directions apart. */
void impair_rules_init(struct impair_rules *rules,
		       const struct impair_spec *spec, uint64_t seed,
		       uint32_t stream);

/* Decide the fate of a frame of len bytes that arrived at now_ns; the
 * frame may be modified in place (corrupted, CE-marked) and is known to
 * the caller as id (used if it is held).  Release times never decrease
 * from one call to the next, except for held frames. */
void impair_rules_decide(struct impair_rules *rules, uint8_t *frame,
			 size_t len, uint64_t now_ns, uint32_t id,
			 struct impair_verdict *verdict);

/* The next held frame that may leave now (enough frames passed it, or
 * its wait is over), with its release time, which is no earlier than any
 * given before; call after each decision and when
 * impair_rules_next_deadline has come, until it returns false. */
bool impair_rules_release_held(struct impair_rules *rules, uint64_t now_ns,
			       uint32_t *id, uint64_t *release_ns);

/* When the earliest held frame leaves anyway; UINT64_MAX if none is. */
uint64_t impair_rules_next_deadline(const struct impair_rules *rules);

#endif /* TAS_IMPAIR_RULES_H */
