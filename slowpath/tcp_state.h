/*
 * Connection states (RFC 9293 section 3.3.2) and the pure decisions of the
 * slow path's segment processing: which segments are acceptable (RFC 9293
 * section 3.10.7.4), what a RST or SYN in a synchronized state does
 * (RFC 5961), the RST answering a segment for no connection (RFC 9293
 * section 3.10.7.1), and the orderly-close transitions.  No I/O, no
 * global state: unit-tested alone.
 */
#ifndef TAS_TCP_STATE_H
#define TAS_TCP_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSING,
	TCP_TIME_WAIT,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
};

/* What moves a synchronized connection towards CLOSED in an orderly close. */
enum tcp_close_event {
	TCP_EV_SEND_FIN,   /* the application shut down sending (or closed) */
	TCP_EV_RECV_FIN,   /* the peer's FIN was consumed in sequence */
	TCP_EV_FIN_ACKED,  /* the peer acknowledged our FIN */
};

const char *tcp_state_name(enum tcp_state state);

/* The state after event; the state itself where the event changes
 * nothing (a second shutdown, a FIN already accounted for). */
enum tcp_state tcp_state_after(enum tcp_state state, enum tcp_close_event event);

/* Both FINs are done (or the connection is gone): nothing more can be
 * sent or received on the flow, the fast path can let go of it. */
bool tcp_state_is_finished(enum tcp_state state);

/* We may still queue a FIN: the application has not shut down sending. */
bool tcp_state_can_send_fin(enum tcp_state state);

/* SEG.LEN: payload plus one for each of SYN and FIN. */
uint32_t tcp_segment_len(uint8_t tcp_flags, uint32_t payload_len);

/* RFC 9293 section 3.10.7.4, first check: the four-case acceptability
 * test of a segment against RCV.NXT and RCV.WND. */
bool tcp_segment_acceptable(uint32_t seg_seq, uint32_t seg_len,
			    uint32_t rcv_nxt, uint32_t rcv_wnd);

/* SYN-SENT (RFC 9293 section 3.10.7.3): ISS < SEG.ACK =< SND.NXT. */
bool tcp_syn_sent_ack_acceptable(uint32_t seg_ack, uint32_t iss,
				 uint32_t snd_nxt);

enum tcp_rst_action {
	TCP_RST_DROP,       /* outside the window: ignore */
	TCP_RST_CHALLENGE,  /* in the window but not exact: challenge ACK */
	TCP_RST_RESET,      /* SEG.SEQ == RCV.NXT: reset the connection */
};

/* RFC 5961 section 3.2: what a RST in a synchronized state does. */
enum tcp_rst_action tcp_rst_action(uint32_t seg_seq, uint32_t rcv_nxt,
				   uint32_t rcv_wnd);

/* The reset answering a segment that belongs to no connection. */
struct tcp_reset_reply {
	uint32_t seq;
	uint32_t ack;
	bool with_ack;      /* RST+ACK (segment had no ACK) or plain RST */
};

/* RFC 9293 section 3.10.7.1: false if the segment is itself a RST (never
 * answered), else true and *reply filled. */
bool tcp_reset_for_segment(uint8_t tcp_flags, uint32_t seg_seq,
			   uint32_t seg_ack, uint32_t payload_len,
			   struct tcp_reset_reply *reply);

/*
 * May a SYN reopen a 4-tuple in TIME-WAIT?  As RFC 6191 with the RFC 1122
 * section 4.2.2.13 rule: yes if it carries timestamps and its TSval is
 * newer than the last one seen, or (without timestamps on either) if its
 * sequence number lies beyond RCV.NXT of the old incarnation.
 */
bool tcp_time_wait_accepts_syn(uint32_t seg_seq, uint32_t rcv_nxt,
			       bool syn_has_ts, uint32_t syn_ts_val,
			       bool old_had_ts, uint32_t ts_recent);

#endif /* TAS_TCP_STATE_H */
