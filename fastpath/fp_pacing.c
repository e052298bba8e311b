/*
 * Pacing of rate-controlled flows.  The slow path's rate-based congestion
 * control (TIMELY, dctcp-rate, const-rate: slowpath/tcp_cc.h) publishes a
 * rate in flow_state.tx_rate_kbps; such a flow sends only when its clock
 * (flow_recovery.next_send_ns) allows, at most FP_PACING_AHEAD_NS ahead
 * of real time, so that bursts stay a few segments long.  A flow its
 * clock holds back waits on the core's paced list (not in the queue
 * manager's FIFO) until it is due; the core's sleep is bounded by the
 * earliest due time (fp_sleep.c).
 */
#include "fp_internal.h"

#define FP_PACING_AHEAD_NS 20000ull
#define NS_PER_US 1000ull

static uint64_t now_ns(const struct fp_worker *w)
{
	return w->now_us * NS_PER_US;
}

bool fp_pacing_allows(const struct fp_worker *w, const struct flow_state *flow)
{
	uint32_t rate = __atomic_load_n(&flow->tx_rate_kbps, __ATOMIC_RELAXED);

	return rate == 0 ||
	       fp_recovery_of(w, flow)->next_send_ns <= now_ns(w) + FP_PACING_AHEAD_NS;
}

void fp_pacing_sent(struct fp_worker *w, struct flow_state *flow,
		    uint32_t frame_bytes)
{
	uint32_t rate = __atomic_load_n(&flow->tx_rate_kbps, __ATOMIC_RELAXED);
	struct flow_recovery *rec;
	uint64_t start;

	if (rate == 0)
		return;
	rec = fp_recovery_of(w, flow);
	/* An idle flow does not bank credit for a burst later. */
	start = rec->next_send_ns > now_ns(w) ? rec->next_send_ns : now_ns(w);
	/* bits / (kbit/s) = ms / 1000: ns = bits * 10^6 / kbit/s */
	rec->next_send_ns = start + (uint64_t)frame_bytes * 8 * 1000000u / rate;
}

bool fp_pacing_defer(struct fp_worker *w, struct flow_state *flow)
{
	struct flow_recovery *rec = fp_recovery_of(w, flow);

	if (rec->paced_waiting)
		return true;
	if (w->paced_count == FP_PACED_MAX)
		return false; /* the FIFO takes it; it polls its clock there */
	rec->paced_waiting = 1;
	w->paced[w->paced_count++] = fp_flow_id(w, flow);
	return true;
}

static void drop_entry(struct fp_worker *w, unsigned i)
{
	w->paced[i] = w->paced[--w->paced_count];
}

void fp_pacing_forget(struct fp_worker *w, struct flow_state *flow)
{
	uint32_t id = fp_flow_id(w, flow);

	if (!fp_recovery_of(w, flow)->paced_waiting)
		return;
	fp_recovery_of(w, flow)->paced_waiting = 0;
	for (unsigned i = 0; i < w->paced_count; i++)
		if (w->paced[i] == id) {
			drop_entry(w, i);
			return;
		}
}

uint64_t fp_pacing_release(struct fp_worker *w)
{
	uint64_t earliest = UINT64_MAX;

	for (unsigned i = 0; i < w->paced_count;) {
		struct flow_state *flow = &w->svc->flows[w->paced[i]];
		struct flow_recovery *rec = fp_recovery_of(w, flow);

		if (!fp_pacing_allows(w, flow)) {
			if (rec->next_send_ns < earliest)
				earliest = rec->next_send_ns;
			i++;
			continue;
		}
		rec->paced_waiting = 0;
		drop_entry(w, i);
		fp_txq_push(w, flow);
	}
	return earliest == UINT64_MAX ? UINT64_MAX : earliest / NS_PER_US;
}
