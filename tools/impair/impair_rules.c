#include "impair_rules.h"

#include <string.h>

#include "impair_frame.h"

#define NS_PER_SEC 1000000000ull
#define BITS_PER_BYTE 8u

void impair_rules_init(struct impair_rules *rules,
		       const struct impair_spec *spec, uint64_t seed,
		       uint32_t stream)
{
	memset(rules, 0, sizeof(*rules));
	rules->spec = *spec;
	impair_random_seed(&rules->random, seed, stream);
	impair_targets_init(&rules->targets);
}

static void corrupt(struct impair_rules *rules, uint8_t *frame, size_t len)
{
	size_t start, end;

	if (!impair_frame_tcp_span(frame, len, &start, &end) ||
	    !impair_random_chance(&rules->random, rules->spec.corrupt_pct))
		return;
	impair_frame_flip_bit(frame, start * BITS_PER_BYTE +
			      impair_random_below(&rules->random,
						  (end - start) * BITS_PER_BYTE));
	rules->counters.corrupted++;
}

static void mark(struct impair_rules *rules, uint8_t *frame)
{
	impair_frame_set_ce(frame);
	rules->counters.marked++;
}

/* Bytes the rate limiter still has to send at now_ns: what lies between
 * now and the moment the link becomes free. */
static uint64_t backlog_bytes(const struct impair_rules *rules, uint64_t now_ns)
{
	if (rules->link_free_ns <= now_ns)
		return 0;
	return (uint64_t)((unsigned __int128)(rules->link_free_ns - now_ns) *
			  rules->spec.rate_bps / (BITS_PER_BYTE * NS_PER_SEC));
}

/* Pass a frame of len bytes through the rate limiter: false if it is
 * tail-dropped, else its departure time (now without a rate).  An ECT
 * frame (*ect) arriving above the ECN threshold gets CE (and is no
 * longer ECT). */
static bool rate_limit(struct impair_rules *rules, uint8_t *frame, size_t len,
		       bool *ect, uint64_t now_ns, uint64_t *departure_ns)
{
	const struct impair_spec *spec = &rules->spec;
	uint64_t backlog, start;

	if (spec->rate_bps == 0) {
		*departure_ns = now_ns;
		return true;
	}
	backlog = backlog_bytes(rules, now_ns);
	if (backlog + len > spec->queue_bytes) {
		struct impair_counters *counters = &rules->counters;

		if (counters->queue_drops++ == 0)
			counters->queue_drop_first_ns = now_ns - rules->start_ns;
		counters->queue_drop_last_ns = now_ns - rules->start_ns;
		return false;
	}
	rules->counters.limited++;
	rules->counters.backlog_sum += backlog;
	if (backlog > rules->counters.backlog_peak)
		rules->counters.backlog_peak = backlog;
	if (*ect && spec->ecn_bytes && backlog > spec->ecn_bytes) {
		mark(rules, frame);
		*ect = false;
	}
	start = rules->link_free_ns > now_ns ? rules->link_free_ns : now_ns;
	rules->link_free_ns = start + (uint64_t)((unsigned __int128)len *
						 BITS_PER_BYTE * NS_PER_SEC /
						 spec->rate_bps);
	*departure_ns = rules->link_free_ns;
	return true;
}

/* Departure plus delay and jitter, but never before the previous release
 * of this direction: jitter spreads frames out, it does not reorder. */
static uint64_t release_time(struct impair_rules *rules, uint64_t departure_ns)
{
	const struct impair_spec *spec = &rules->spec;
	uint64_t release = departure_ns + spec->delay_ns;

	if (spec->jitter_ns) {
		uint64_t offset = impair_random_below(&rules->random,
						      2 * spec->jitter_ns + 1);
		/* release + offset - jitter, not below the departure itself */
		release += offset;
		release = release >= departure_ns + spec->jitter_ns
				  ? release - spec->jitter_ns
				  : departure_ns;
	}
	if (release < rules->last_release_ns)
		release = rules->last_release_ns;
	rules->last_release_ns = release;
	return release;
}

static void hold(struct impair_rules *rules, uint32_t id, uint64_t release_ns)
{
	rules->held[rules->held_count++] = (struct impair_held){
		.id = id,
		.frames_left = rules->spec.reorder_gap,
		.deadline_ns = release_ns + IMPAIR_REORDER_WAIT_NS,
	};
	rules->counters.reordered++;
}

/* A frame that left normally passes every frame held before it. */
static void pass_held(struct impair_rules *rules)
{
	for (uint32_t i = 0; i < rules->held_count; i++) {
		if (rules->held[i].frames_left)
			rules->held[i].frames_left--;
	}
}

void impair_rules_decide(struct impair_rules *rules, uint8_t *frame,
			 size_t len, uint64_t now_ns, uint32_t id,
			 struct impair_verdict *verdict)
{
	const struct impair_spec *spec = &rules->spec;
	uint64_t departure;
	bool ect;

	*verdict = (struct impair_verdict){ .copies = 0 };
	if (!rules->started) {
		rules->started = true;
		rules->start_ns = now_ns;
	}
	/* Before anything random: a targeted drop picks the same frame
	 * whatever the seed and the other keys. */
	if (impair_targets_wanted(spec) &&
	    impair_targets_drop(&rules->targets, spec, frame, len))
		return;
	if (impair_random_chance(&rules->random, spec->loss_pct)) {
		rules->counters.dropped++;
		return;
	}
	ect = (spec->mark_pct > 0 || spec->ecn_bytes) && impair_frame_ect(frame, len);
	if (!rate_limit(rules, frame, len, &ect, now_ns, &departure))
		return;
	if (ect && impair_random_chance(&rules->random, spec->mark_pct))
		mark(rules, frame);
	if (spec->corrupt_pct > 0)
		corrupt(rules, frame, len);
	verdict->release_ns[verdict->copies++] = release_time(rules, departure);
	/* The copy is the frame as it leaves: the same marks and bit flips. */
	ect = false;
	if (impair_random_chance(&rules->random, spec->dup_pct) &&
	    rate_limit(rules, frame, len, &ect, now_ns, &departure)) {
		verdict->release_ns[verdict->copies++] = release_time(rules, departure);
		rules->counters.duplicated++;
	}
	if (rules->held_count < IMPAIR_HELD_MAX &&
	    impair_random_chance(&rules->random, spec->reorder_pct)) {
		hold(rules, id, verdict->release_ns[0]);
		verdict->hold = true;
		return;
	}
	pass_held(rules);
}

bool impair_rules_release_held(struct impair_rules *rules, uint64_t now_ns,
			       uint32_t *id, uint64_t *release_ns)
{
	for (uint32_t i = 0; i < rules->held_count; i++) {
		const struct impair_held *held = &rules->held[i];

		if (held->frames_left && held->deadline_ns > now_ns)
			continue;
		/* Right behind the frame that filled its gap (the latest
		 * release), or at its deadline. */
		if (held->frames_left && held->deadline_ns > rules->last_release_ns)
			rules->last_release_ns = held->deadline_ns;
		*id = held->id;
		*release_ns = rules->last_release_ns;
		memmove(&rules->held[i], &rules->held[i + 1],
			(rules->held_count - i - 1) * sizeof(rules->held[0]));
		rules->held_count--;
		return true;
	}
	return false;
}

uint64_t impair_rules_next_deadline(const struct impair_rules *rules)
{
	uint64_t earliest = UINT64_MAX;

	for (uint32_t i = 0; i < rules->held_count; i++) {
		if (rules->held[i].deadline_ns < earliest)
			earliest = rules->held[i].deadline_ns;
	}
	return earliest;
}
