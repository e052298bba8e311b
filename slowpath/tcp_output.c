/*
 * Frames for the slow path's control segments: Ethernet II, IPv4
 * (RFC 791), TCP (RFC 9293) with SYN options (RFC 7323, RFC 2018) or the
 * timestamp option.
 */
#include "tcp_output.h"

#include <errno.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "fastpath.h"
#include "packet.h"
#include "tcp_conn.h"
#include "tcp_state.h"
#include "tcp_time_wait.h"

#define IPV4_DEFAULT_TTL 64
#define IPV4_VERSION_IHL 0x45
#define MAX_UNSCALED_WINDOW 65535u

uint32_t tcp_ts_now(void)
{
	return (uint32_t)fp_now_us();
}

uint16_t tcp_output_window(const struct flow_state *flow)
{
	uint32_t window = flow_read32(&flow->rx_avail) >> flow->rcv_wscale;

	return window > MAX_UNSCALED_WINDOW ? MAX_UNSCALED_WINDOW : (uint16_t)window;
}

static unsigned write_options(const struct tcp_segment_spec *seg, uint8_t *buf)
{
	if (seg->syn_options != NULL)
		return tcp_options_write_syn(buf, seg->syn_options);
	if (seg->timestamps) {
		tcp_options_write_timestamp(buf, seg->ts_val, seg->ts_ecr);
		return TCP_TS_OPTIONS_LEN;
	}
	return 0;
}

/* Checksums in software for frames to ourselves: a looped-back frame
 * never passes the NIC that would have filled them. */
static void fill_checksums(struct service *svc, struct rte_mbuf *m,
			   struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *tcp,
			   bool to_self)
{
	if (!svc->tx_csum_offload || to_self) {
		pkt_fill_checksums(ip, tcp);
		return;
	}
	m->l2_len = sizeof(struct rte_ether_hdr);
	m->l3_len = sizeof(struct rte_ipv4_hdr);
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
		       RTE_MBUF_F_TX_TCP_CKSUM;
	ip->hdr_checksum = 0;
	tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
}

int tcp_output_segment(struct service *svc, const struct tcp_segment_spec *seg)
{
	uint8_t options[TCP_SYN_OPTIONS_MAX];
	unsigned options_len = write_options(seg, options);
	uint16_t tcp_len = (uint16_t)(sizeof(struct rte_tcp_hdr) + options_len);
	uint16_t ip_len = (uint16_t)(sizeof(struct rte_ipv4_hdr) + tcp_len);
	uint16_t frame_len = (uint16_t)(sizeof(struct rte_ether_hdr) + ip_len);

	struct rte_mbuf *m = rte_pktmbuf_alloc(svc->pktmbuf_pool);
	if (m == NULL)
		return -ENOMEM;
	uint8_t *frame = (uint8_t *)rte_pktmbuf_append(m, frame_len);
	if (frame == NULL) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}

	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	eth->dst_addr = seg->dst_mac;
	eth->src_addr = svc->local_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = IPV4_VERSION_IHL,
		.total_length = rte_cpu_to_be_16(ip_len),
		.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = IPV4_DEFAULT_TTL,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = seg->key.local_ip,
		.dst_addr = seg->key.remote_ip,
	};

	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	*tcp = (struct rte_tcp_hdr){
		.src_port = seg->key.local_port,
		.dst_port = seg->key.remote_port,
		.sent_seq = rte_cpu_to_be_32(seg->seq),
		.recv_ack = rte_cpu_to_be_32(seg->ack),
		.data_off = (uint8_t)((tcp_len / 4) << 4),
		.tcp_flags = seg->flags,
		.rx_win = rte_cpu_to_be_16(seg->window),
	};
	memcpy(tcp + 1, options, options_len);

	fill_checksums(svc, m, ip, tcp, seg->key.remote_ip == svc->cfg.local_ip);
	return fp_send_packet(fp_core_of_hash(svc, flow_key_hash(&seg->key)), m);
}

static void spec_for_conn(const struct tcp_conn *conn,
			  struct tcp_segment_spec *seg)
{
	const struct flow_state *flow = tcp_flow_of(conn);

	*seg = (struct tcp_segment_spec){ .key = conn->key };
	memcpy(seg->dst_mac.addr_bytes, flow->remote_mac, RTE_ETHER_ADDR_LEN);
}

int tcp_output_syn(struct tcp_conn *conn)
{
	struct tcp_segment_spec seg;
	struct tcp_syn_options options;
	const struct tcp_local_options *ours = &tcp_sp.local_options;
	uint32_t window = ours->rx_buf_size;

	spec_for_conn(conn, &seg);
	seg.seq = conn->iss;
	/* RFC 7323 section 2.2: the window of a SYN is never scaled. */
	seg.window = window > MAX_UNSCALED_WINDOW ? MAX_UNSCALED_WINDOW
						  : (uint16_t)window;
	/* RFC 3168 section 6.1.1: an ECN-setup SYN carries ECE and CWR,
	 * the SYN-ACK that agrees ECE alone. */
	if (conn->state == TCP_SYN_RECEIVED) {
		tcp_synack_options(ours, &conn->peer_syn, tcp_ts_now(), &options);
		seg.flags = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG |
			    (conn->negotiated.ecn ? RTE_TCP_ECE_FLAG : 0);
		seg.ack = conn->irs + 1;
	} else {
		tcp_syn_options(ours, tcp_ts_now(), &options);
		seg.flags = RTE_TCP_SYN_FLAG;
		if (tcp_sp.svc->cfg.ecn == SERVICE_ECN_ON)
			seg.flags |= RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG;
	}
	seg.syn_options = &options;
	return tcp_output_segment(tcp_sp.svc, &seg);
}

int tcp_output_flow_ack(struct tcp_conn *conn)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	struct tcp_segment_spec seg;

	spec_for_conn(conn, &seg);
	seg.seq = flow_read32(&flow->tx_next_seq);
	seg.ack = flow_read32(&flow->rx_next_seq);
	seg.flags = RTE_TCP_ACK_FLAG;
	seg.window = tcp_output_window(flow);
	if (flow_read16(&flow->flags) & FLOW_F_TIMESTAMPS) {
		seg.timestamps = true;
		seg.ts_val = tcp_ts_now();
		seg.ts_ecr = flow_read32(&flow->ts_recent);
	}
	return tcp_output_segment(tcp_sp.svc, &seg);
}

/* RFC 5961 section 7: at most this many challenge ACKs a second, all
 * connections together (Linux's default tcp_challenge_ack_limit). */
#define CHALLENGE_ACKS_PER_SECOND 1000u
#define US_PER_SECOND 1000000u

static bool challenge_ack_allowed(void)
{
	static uint64_t second;
	static uint32_t sent;
	uint64_t now_second = fp_now_us() / US_PER_SECOND;

	if (now_second != second) {
		second = now_second;
		sent = 0;
	}
	return sent++ < CHALLENGE_ACKS_PER_SECOND;
}

int tcp_output_challenge_ack(struct tcp_conn *conn)
{
	if (!challenge_ack_allowed())
		return -EBUSY;
	return tcp_output_flow_ack(conn);
}

int tcp_output_time_wait_ack(struct service *svc, const struct time_wait *tw)
{
	struct tcp_segment_spec seg = {
		.key = tw->key,
		.seq = tw->snd_nxt,
		.ack = tw->rcv_nxt,
		.flags = RTE_TCP_ACK_FLAG,
		.window = tw->window,
		.timestamps = tw->timestamps,
		.ts_val = tcp_ts_now(),
		.ts_ecr = tw->ts_recent,
	};

	memcpy(seg.dst_mac.addr_bytes, tw->remote_mac, RTE_ETHER_ADDR_LEN);
	return tcp_output_segment(svc, &seg);
}

int tcp_output_flow_rst(struct tcp_conn *conn)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	struct tcp_segment_spec seg;

	spec_for_conn(conn, &seg);
	seg.seq = flow_read32(&flow->tx_next_seq);
	seg.ack = flow_read32(&flow->rx_next_seq);
	seg.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	tcp_sp.stats.resets_sent++;
	return tcp_output_segment(tcp_sp.svc, &seg);
}

void tcp_output_reset_reply(struct service *svc, const struct pkt_info *pkt)
{
	struct tcp_reset_reply reply;

	if (!tcp_reset_for_segment(pkt->flags, pkt->seq, pkt->ack,
				   pkt->payload_len, &reply))
		return;

	struct tcp_segment_spec seg = {
		.dst_mac = pkt->eth->src_addr,
		.seq = reply.seq,
		.ack = reply.ack,
		.flags = (uint8_t)(RTE_TCP_RST_FLAG |
				   (reply.with_ack ? RTE_TCP_ACK_FLAG : 0)),
	};
	tcp_key_of_segment(pkt, &seg.key);
	tcp_sp.stats.resets_sent++;
	tcp_output_segment(svc, &seg);
}
