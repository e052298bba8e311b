#include "impair_targets.h"

#include "impair_frame.h"

#define HANDSHAKE_FLAGS (IMPAIR_TCP_SYN | IMPAIR_TCP_ACK | IMPAIR_TCP_RST | \
			 IMPAIR_TCP_FIN)

void impair_targets_init(struct impair_targets *targets)
{
	*targets = (struct impair_targets){ .syn_drops = 0 };
	impair_flows_init(&targets->flows);
}

bool impair_targets_wanted(const struct impair_spec *spec)
{
	return spec->drop_syn || spec->drop_synack || spec->drop_fin ||
	       spec->drop_offset.given;
}

static struct impair_flow_key key_of(const struct impair_tcp_segment *segment)
{
	return (struct impair_flow_key){
		.src_ip = segment->src_ip, .dst_ip = segment->dst_ip,
		.src_port = segment->src_port, .dst_port = segment->dst_port,
	};
}

/* Whether segment is the first to carry the flow's byte at offset:
 * sequence numbers are compared modulo 2^32, as TCP does. */
static bool carries_offset(struct impair_targets *targets,
			   const struct impair_tcp_segment *segment,
			   uint32_t offset)
{
	struct impair_flow_key key = key_of(segment);
	struct impair_flow *flow;
	uint32_t first_byte;

	if (segment->payload_len == 0)
		return false;
	flow = impair_flows_find(&targets->flows, &key);
	if (!flow || flow->offset_dropped)
		return false;
	/* Data follows the SYN, which takes one sequence number. */
	first_byte = segment->seq + (segment->flags & IMPAIR_TCP_SYN ? 1u : 0u) -
		     (flow->isn + 1u);
	if ((uint32_t)(offset - first_byte) >= segment->payload_len)
		return false;
	flow->offset_dropped = true;
	return true;
}

/* One of the first limit: counts it in *dropped. */
static bool take(uint64_t *dropped, uint32_t limit)
{
	if (*dropped >= limit)
		return false;
	(*dropped)++;
	return true;
}

bool impair_targets_drop(struct impair_targets *targets,
			 const struct impair_spec *spec, const uint8_t *frame,
			 size_t len)
{
	struct impair_tcp_segment segment;
	unsigned handshake;

	if (!impair_frame_tcp_segment(frame, len, &segment))
		return false;
	handshake = segment.flags & HANDSHAKE_FLAGS;
	/* Learnt before a drop: the SYN sent again carries the same ISN. */
	if (spec->drop_offset.given && (handshake == IMPAIR_TCP_SYN ||
					handshake == (IMPAIR_TCP_SYN | IMPAIR_TCP_ACK))) {
		struct impair_flow_key key = key_of(&segment);

		impair_flows_learn(&targets->flows, &key, segment.seq);
	}
	if (handshake == IMPAIR_TCP_SYN && take(&targets->syn_drops, spec->drop_syn))
		return true;
	if (handshake == (IMPAIR_TCP_SYN | IMPAIR_TCP_ACK) &&
	    take(&targets->synack_drops, spec->drop_synack))
		return true;
	if ((segment.flags & (IMPAIR_TCP_FIN | IMPAIR_TCP_RST)) == IMPAIR_TCP_FIN &&
	    take(&targets->fin_drops, spec->drop_fin))
		return true;
	if (spec->drop_offset.given &&
	    carries_offset(targets, &segment, spec->drop_offset.bytes)) {
		targets->offset_drops++;
		return true;
	}
	return false;
}
