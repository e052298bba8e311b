/*
 * Pure TCP decisions: RFC 9293 (states, acceptability, resets), RFC 5961
 * (blind reset and SYN protection), RFC 6191 (TIME-WAIT reuse).
 */
#include "tcp_state.h"

#include <rte_tcp.h>

#include "tcp_seq.h"

const char *tcp_state_name(enum tcp_state state)
{
	switch (state) {
	case TCP_CLOSED:
		return "CLOSED";
	case TCP_SYN_SENT:
		return "SYN-SENT";
	case TCP_SYN_RECEIVED:
		return "SYN-RECEIVED";
	case TCP_ESTABLISHED:
		return "ESTABLISHED";
	case TCP_FIN_WAIT_1:
		return "FIN-WAIT-1";
	case TCP_FIN_WAIT_2:
		return "FIN-WAIT-2";
	case TCP_CLOSING:
		return "CLOSING";
	case TCP_TIME_WAIT:
		return "TIME-WAIT";
	case TCP_CLOSE_WAIT:
		return "CLOSE-WAIT";
	case TCP_LAST_ACK:
		return "LAST-ACK";
	}
	return "?";
}

/* RFC 9293 figure 5, the synchronized part. */
enum tcp_state tcp_state_after(enum tcp_state state, enum tcp_close_event event)
{
	switch (event) {
	case TCP_EV_SEND_FIN:
		if (state == TCP_ESTABLISHED)
			return TCP_FIN_WAIT_1;
		if (state == TCP_CLOSE_WAIT)
			return TCP_LAST_ACK;
		return state;
	case TCP_EV_RECV_FIN:
		if (state == TCP_ESTABLISHED)
			return TCP_CLOSE_WAIT;
		if (state == TCP_FIN_WAIT_1)
			return TCP_CLOSING;
		if (state == TCP_FIN_WAIT_2)
			return TCP_TIME_WAIT;
		return state;
	case TCP_EV_FIN_ACKED:
		if (state == TCP_FIN_WAIT_1)
			return TCP_FIN_WAIT_2;
		if (state == TCP_CLOSING)
			return TCP_TIME_WAIT;
		if (state == TCP_LAST_ACK)
			return TCP_CLOSED;
		return state;
	}
	return state;
}

bool tcp_state_is_finished(enum tcp_state state)
{
	return state == TCP_TIME_WAIT || state == TCP_CLOSED;
}

bool tcp_state_can_send_fin(enum tcp_state state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT;
}

uint32_t tcp_segment_len(uint8_t tcp_flags, uint32_t payload_len)
{
	return payload_len + ((tcp_flags & RTE_TCP_SYN_FLAG) ? 1 : 0) +
	       ((tcp_flags & RTE_TCP_FIN_FLAG) ? 1 : 0);
}

bool tcp_segment_acceptable(uint32_t seg_seq, uint32_t seg_len,
			    uint32_t rcv_nxt, uint32_t rcv_wnd)
{
	if (rcv_wnd == 0)
		return seg_len == 0 && seg_seq == rcv_nxt;
	if (seq_in_range(seg_seq, rcv_nxt, rcv_wnd))
		return true;
	return seg_len > 0 && seq_in_range(seg_seq + seg_len - 1, rcv_nxt, rcv_wnd);
}

bool tcp_syn_sent_ack_acceptable(uint32_t seg_ack, uint32_t iss,
				 uint32_t snd_nxt)
{
	return seq_gt(seg_ack, iss) && seq_leq(seg_ack, snd_nxt);
}

enum tcp_rst_action tcp_rst_action(uint32_t seg_seq, uint32_t rcv_nxt,
				   uint32_t rcv_wnd)
{
	if (seg_seq == rcv_nxt)
		return TCP_RST_RESET;
	if (rcv_wnd > 0 && seq_in_range(seg_seq, rcv_nxt, rcv_wnd))
		return TCP_RST_CHALLENGE;
	return TCP_RST_DROP;
}

bool tcp_reset_for_segment(uint8_t tcp_flags, uint32_t seg_seq,
			   uint32_t seg_ack, uint32_t payload_len,
			   struct tcp_reset_reply *reply)
{
	if (tcp_flags & RTE_TCP_RST_FLAG)
		return false;
	if (tcp_flags & RTE_TCP_ACK_FLAG) {
		/* <SEQ=SEG.ACK><CTL=RST> */
		*reply = (struct tcp_reset_reply){ .seq = seg_ack };
	} else {
		/* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
		*reply = (struct tcp_reset_reply){
			.seq = 0,
			.ack = seg_seq + tcp_segment_len(tcp_flags, payload_len),
			.with_ack = true,
		};
	}
	return true;
}

bool tcp_time_wait_accepts_syn(uint32_t seg_seq, uint32_t rcv_nxt,
			       bool syn_has_ts, uint32_t syn_ts_val,
			       bool old_had_ts, uint32_t ts_recent)
{
	if (syn_has_ts && old_had_ts)
		return seq_gt(syn_ts_val, ts_recent);
	return seq_gt(seg_seq, rcv_nxt);
}
