/*
 * Unit tests for the slow path's pure TCP decisions: the orderly-close
 * state transitions (RFC 9293 figure 5, both directions, simultaneous
 * close, half-close), segment acceptability (RFC 9293 section 3.10.7.4),
 * RST and SYN handling in synchronized states (RFC 5961), the RST that
 * answers a segment for no connection (RFC 9293 section 3.10.7.1), the
 * SYN-SENT ACK check and SYNs meeting TIME-WAIT (RFC 6191).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <rte_tcp.h>

#include "tcp_state.h"

static enum tcp_state run(enum tcp_state state, const enum tcp_close_event *events,
			  unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		state = tcp_state_after(state, events[i]);
	return state;
}

/* We close first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT. */
static void test_active_close(void **state)
{
	(void)state;
	assert_int_equal(tcp_state_after(TCP_ESTABLISHED, TCP_EV_SEND_FIN),
			 TCP_FIN_WAIT_1);
	assert_int_equal(tcp_state_after(TCP_FIN_WAIT_1, TCP_EV_FIN_ACKED),
			 TCP_FIN_WAIT_2);
	assert_int_equal(tcp_state_after(TCP_FIN_WAIT_2, TCP_EV_RECV_FIN),
			 TCP_TIME_WAIT);
	assert_true(tcp_state_is_finished(TCP_TIME_WAIT));
}

/* The peer closes first: CLOSE-WAIT (we may keep sending: half-close),
 * LAST-ACK, CLOSED. */
static void test_passive_close(void **state)
{
	(void)state;
	assert_int_equal(tcp_state_after(TCP_ESTABLISHED, TCP_EV_RECV_FIN),
			 TCP_CLOSE_WAIT);
	assert_true(tcp_state_can_send_fin(TCP_CLOSE_WAIT));
	assert_false(tcp_state_is_finished(TCP_CLOSE_WAIT));
	assert_int_equal(tcp_state_after(TCP_CLOSE_WAIT, TCP_EV_SEND_FIN),
			 TCP_LAST_ACK);
	assert_int_equal(tcp_state_after(TCP_LAST_ACK, TCP_EV_FIN_ACKED),
			 TCP_CLOSED);
	assert_true(tcp_state_is_finished(TCP_CLOSED));
}

/* Both FINs cross: CLOSING, then TIME-WAIT.  A FIN+ACK answering ours
 * reaches TIME-WAIT whichever of its two notifications comes first. */
static void test_simultaneous_close(void **state)
{
	(void)state;
	static const enum tcp_close_event crossed[] = {
		TCP_EV_SEND_FIN, TCP_EV_RECV_FIN, TCP_EV_FIN_ACKED };
	static const enum tcp_close_event acked_first[] = {
		TCP_EV_SEND_FIN, TCP_EV_FIN_ACKED, TCP_EV_RECV_FIN };

	assert_int_equal(tcp_state_after(TCP_FIN_WAIT_1, TCP_EV_RECV_FIN),
			 TCP_CLOSING);
	assert_int_equal(tcp_state_after(TCP_CLOSING, TCP_EV_FIN_ACKED),
			 TCP_TIME_WAIT);
	assert_int_equal(run(TCP_ESTABLISHED, crossed, 3), TCP_TIME_WAIT);
	assert_int_equal(run(TCP_ESTABLISHED, acked_first, 3), TCP_TIME_WAIT);
}

/* Events that do not apply change nothing: a second shutdown, a FIN
 * notification after a reset, our FIN acked before we sent one. */
static void test_inapplicable_events(void **state)
{
	(void)state;
	static const enum tcp_state states[] = {
		TCP_CLOSED, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_TIME_WAIT };

	for (unsigned i = 0; i < 4; i++)
		for (int ev = TCP_EV_SEND_FIN; ev <= TCP_EV_FIN_ACKED; ev++)
			assert_int_equal(tcp_state_after(states[i], ev), states[i]);
	assert_int_equal(tcp_state_after(TCP_FIN_WAIT_1, TCP_EV_SEND_FIN),
			 TCP_FIN_WAIT_1);
	assert_int_equal(tcp_state_after(TCP_LAST_ACK, TCP_EV_RECV_FIN),
			 TCP_LAST_ACK);
	assert_int_equal(tcp_state_after(TCP_ESTABLISHED, TCP_EV_FIN_ACKED),
			 TCP_ESTABLISHED);
	assert_false(tcp_state_can_send_fin(TCP_FIN_WAIT_2));
	assert_false(tcp_state_can_send_fin(TCP_LAST_ACK));
}

static void test_segment_len(void **state)
{
	(void)state;
	assert_int_equal(tcp_segment_len(RTE_TCP_ACK_FLAG, 0), 0);
	assert_int_equal(tcp_segment_len(RTE_TCP_SYN_FLAG, 0), 1);
	assert_int_equal(tcp_segment_len(RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 10), 11);
	assert_int_equal(tcp_segment_len(RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG, 5), 7);
}

/* The four cases of the acceptability test, also across the wrap. */
static void test_acceptability(void **state)
{
	(void)state;
	const uint32_t nxt = 1000;

	/* len 0, wnd 0: SEG.SEQ = RCV.NXT */
	assert_true(tcp_segment_acceptable(nxt, 0, nxt, 0));
	assert_false(tcp_segment_acceptable(nxt + 1, 0, nxt, 0));
	/* len 0, wnd > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND */
	assert_true(tcp_segment_acceptable(nxt + 99, 0, nxt, 100));
	assert_false(tcp_segment_acceptable(nxt + 100, 0, nxt, 100));
	assert_false(tcp_segment_acceptable(nxt - 1, 0, nxt, 100));
	/* len > 0, wnd 0: never */
	assert_false(tcp_segment_acceptable(nxt, 10, nxt, 0));
	/* len > 0, wnd > 0: start or end in the window */
	assert_true(tcp_segment_acceptable(nxt - 5, 10, nxt, 100));
	assert_true(tcp_segment_acceptable(nxt + 90, 50, nxt, 100));
	assert_false(tcp_segment_acceptable(nxt - 10, 10, nxt, 100));
	assert_false(tcp_segment_acceptable(nxt + 100, 10, nxt, 100));
	/* wrap */
	assert_true(tcp_segment_acceptable(5, 1, UINT32_MAX - 10, 100));
	assert_false(tcp_segment_acceptable(UINT32_MAX - 20, 1, UINT32_MAX - 10, 100));
}

/* RFC 5961 section 3.2. */
static void test_rst_in_synchronized_states(void **state)
{
	(void)state;
	const uint32_t nxt = 0xfffffff0u;

	assert_int_equal(tcp_rst_action(nxt, nxt, 1000), TCP_RST_RESET);
	assert_int_equal(tcp_rst_action(nxt + 1, nxt, 1000), TCP_RST_CHALLENGE);
	assert_int_equal(tcp_rst_action(nxt + 999, nxt, 1000), TCP_RST_CHALLENGE);
	assert_int_equal(tcp_rst_action(nxt + 1000, nxt, 1000), TCP_RST_DROP);
	assert_int_equal(tcp_rst_action(nxt - 1, nxt, 1000), TCP_RST_DROP);
	/* A closed window: only the exact RST counts. */
	assert_int_equal(tcp_rst_action(nxt, nxt, 0), TCP_RST_RESET);
	assert_int_equal(tcp_rst_action(nxt + 1, nxt, 0), TCP_RST_DROP);
}

/* RFC 9293 section 3.10.7.1, CLOSED state. */
static void test_reset_for_segment(void **state)
{
	(void)state;
	struct tcp_reset_reply reply;

	/* A RST is never answered. */
	assert_false(tcp_reset_for_segment(RTE_TCP_RST_FLAG, 1, 2, 0, &reply));
	assert_false(tcp_reset_for_segment(RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
					   1, 2, 0, &reply));
	/* ACK on: <SEQ=SEG.ACK><CTL=RST> */
	assert_true(tcp_reset_for_segment(RTE_TCP_ACK_FLAG, 100, 5000, 20, &reply));
	assert_int_equal(reply.seq, 5000);
	assert_false(reply.with_ack);
	/* ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN counted. */
	assert_true(tcp_reset_for_segment(RTE_TCP_SYN_FLAG, 100, 0, 0, &reply));
	assert_int_equal(reply.seq, 0);
	assert_int_equal(reply.ack, 101);
	assert_true(reply.with_ack);
	assert_true(tcp_reset_for_segment(RTE_TCP_FIN_FLAG, UINT32_MAX, 0, 4, &reply));
	assert_int_equal(reply.ack, 4);
}

/* RFC 9293 section 3.10.7.3: ISS < SEG.ACK =< SND.NXT. */
static void test_syn_sent_ack(void **state)
{
	(void)state;
	const uint32_t iss = UINT32_MAX;

	assert_false(tcp_syn_sent_ack_acceptable(iss, iss, iss + 1));
	assert_true(tcp_syn_sent_ack_acceptable(iss + 1, iss, iss + 1));
	assert_false(tcp_syn_sent_ack_acceptable(iss + 2, iss, iss + 1));
	assert_false(tcp_syn_sent_ack_acceptable(iss - 100, iss, iss + 1));
}

/* A new SYN may end TIME-WAIT if it cannot be an old duplicate. */
static void test_time_wait_syn(void **state)
{
	(void)state;
	const uint32_t rcv_nxt = 5000;

	/* Timestamps on both: the TSval decides. */
	assert_true(tcp_time_wait_accepts_syn(1, rcv_nxt, true, 101, true, 100));
	assert_false(tcp_time_wait_accepts_syn(9000, rcv_nxt, true, 100, true, 100));
	/* Otherwise the sequence number must lie beyond RCV.NXT. */
	assert_true(tcp_time_wait_accepts_syn(rcv_nxt + 1, rcv_nxt, false, 0, false, 0));
	assert_false(tcp_time_wait_accepts_syn(rcv_nxt, rcv_nxt, false, 0, false, 0));
	assert_false(tcp_time_wait_accepts_syn(rcv_nxt - 1, rcv_nxt, true, 7, false, 0));
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(tcp_state_name(TCP_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(tcp_state_name(TCP_TIME_WAIT), "TIME-WAIT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active_close),
		cmocka_unit_test(test_passive_close),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_inapplicable_events),
		cmocka_unit_test(test_segment_len),
		cmocka_unit_test(test_acceptability),
		cmocka_unit_test(test_rst_in_synchronized_states),
		cmocka_unit_test(test_reset_for_segment),
		cmocka_unit_test(test_syn_sent_ack),
		cmocka_unit_test(test_time_wait_syn),
		cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
