#include "impair_flows.h"

#include <string.h>

void impair_flows_init(struct impair_flows *flows)
{
	memset(flows, 0, sizeof(*flows));
}

static bool same_key(const struct impair_flow_key *a,
		     const struct impair_flow_key *b)
{
	return a->src_ip == b->src_ip && a->dst_ip == b->dst_ip &&
	       a->src_port == b->src_port && a->dst_port == b->dst_port;
}

struct impair_flow *impair_flows_find(struct impair_flows *flows,
				      const struct impair_flow_key *key)
{
	for (unsigned i = 0; i < IMPAIR_FLOWS_MAX; i++) {
		struct impair_flow *flow = &flows->flows[i];

		if (flow->in_use && same_key(&flow->key, key)) {
			flow->last_used = ++flows->clock;
			return flow;
		}
	}
	return NULL;
}

/* A free entry, else the one used least recently. */
static struct impair_flow *make_room(struct impair_flows *flows)
{
	struct impair_flow *oldest = &flows->flows[0];

	for (unsigned i = 0; i < IMPAIR_FLOWS_MAX; i++) {
		struct impair_flow *flow = &flows->flows[i];

		if (!flow->in_use)
			return flow;
		if (flow->last_used < oldest->last_used)
			oldest = flow;
	}
	return oldest;
}

struct impair_flow *impair_flows_learn(struct impair_flows *flows,
				       const struct impair_flow_key *key,
				       uint32_t isn)
{
	struct impair_flow *flow = impair_flows_find(flows, key);

	if (flow && flow->isn == isn)
		return flow;
	if (!flow)
		flow = make_room(flows);
	*flow = (struct impair_flow){
		.key = *key,
		.isn = isn,
		.in_use = true,
		.last_used = ++flows->clock,
	};
	return flow;
}
