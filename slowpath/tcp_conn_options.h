/*
 * Per-connection options an application sets (TAS_CMD_SET_OPTION): Nagle
 * (RFC 9293 section 3.7.4), keepalive (RFC 9293 section 3.8.4, RFC 1122
 * 4.2.3.6, with Linux's knobs and defaults) and the congestion control
 * algorithm.  The keepalive timer itself runs in tcp_timers.c.
 */
#ifndef TAS_TCP_CONN_OPTIONS_H
#define TAS_TCP_CONN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

struct tcp_conn;

/* Linux's tcp_keepalive_time, _intvl and _probes. */
#define TCP_KEEPIDLE_DEFAULT_S 7200u
#define TCP_KEEPINTVL_DEFAULT_S 75u
#define TCP_KEEPCNT_DEFAULT 9u

struct tcp_keepalive {
	bool enabled;
	uint16_t idle_s;
	uint16_t interval_s;
	uint8_t max_probes;
	uint8_t probes_sent;      /* unanswered since the peer last spoke */
	uint32_t seen_rx_ms;      /* flow_state.rx_last_ms when last checked */
	uint64_t next_us;         /* next probe or the reset; 0: not armed */
};

void tcp_keepalive_init(struct tcp_keepalive *keepalive);

/* Apply option (enum tas_conn_option) with value; 0 or -EINVAL. */
int32_t tcp_conn_set_option(struct tcp_conn *conn, uint32_t option,
			    uint64_t value);

#endif /* TAS_TCP_CONN_OPTIONS_H */
