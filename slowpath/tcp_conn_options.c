/*
 * Per-connection options (tcp_conn_options.h).  Options of a connection
 * in the fast path reach its core as commands; congestion control is the
 * slow path's and restarts from the initial window of the new algorithm.
 */
#include "tcp_conn_options.h"

#include <assert.h>
#include <errno.h>

#include "tas/tas.h"
#include "tcp_conn.h"

static_assert(TAS_CC_NEWRENO == (int)TCP_CC_NEWRENO &&
		      TAS_CC_CUBIC == (int)TCP_CC_CUBIC &&
		      TAS_CC_DCTCP == (int)TCP_CC_DCTCP &&
		      TAS_CC_DCTCP_RATE == (int)TCP_CC_DCTCP_RATE &&
		      TAS_CC_TIMELY == (int)TCP_CC_TIMELY &&
		      TAS_CC_CONST_RATE == (int)TCP_CC_CONST_RATE,
	      "tas.h names the algorithms in tcp_cc.h's order");

void tcp_keepalive_init(struct tcp_keepalive *keepalive)
{
	*keepalive = (struct tcp_keepalive){
		.idle_s = TCP_KEEPIDLE_DEFAULT_S,
		.interval_s = TCP_KEEPINTVL_DEFAULT_S,
		.max_probes = TCP_KEEPCNT_DEFAULT,
	};
}

static void set_nodelay(struct tcp_conn *conn, bool nodelay)
{
	conn->nodelay = nodelay;
	if (conn->installed)
		tcp_conn_command_value(conn, FP_CMD_FLOW_SET_NODELAY, nodelay);
}

static void set_congestion(struct tcp_conn *conn, enum tcp_cc_algorithm algorithm)
{
	const struct flow_state *flow = tcp_flow_of(conn);

	conn->cc_algorithm = algorithm;
	if (!conn->installed)
		return;
	tcp_cc_init(&conn->cc, &tcp_sp.cc_config, algorithm, flow_read16(&flow->mss),
		    tcp_sp.svc->cfg.tx_buf_size);
	tcp_timers_store_cc(conn);
}

/* A changed knob counts from now, as on Linux. */
static void rearm_keepalive(struct tcp_conn *conn)
{
	conn->keepalive.probes_sent = 0;
	conn->keepalive.next_us = 0;
}

int32_t tcp_conn_set_option(struct tcp_conn *conn, uint32_t option,
			    uint64_t value)
{
	struct tcp_keepalive *keepalive = &conn->keepalive;

	switch ((enum tas_conn_option)option) {
	case TAS_OPT_NODELAY:
		if (value > 1)
			return -EINVAL;
		set_nodelay(conn, value);
		return 0;
	case TAS_OPT_KEEPALIVE:
		if (value > 1)
			return -EINVAL;
		keepalive->enabled = value;
		break;
	case TAS_OPT_KEEPIDLE:
		if (value < 1 || value > 32767)
			return -EINVAL;
		keepalive->idle_s = (uint16_t)value;
		break;
	case TAS_OPT_KEEPINTVL:
		if (value < 1 || value > 32767)
			return -EINVAL;
		keepalive->interval_s = (uint16_t)value;
		break;
	case TAS_OPT_KEEPCNT:
		if (value < 1 || value > 127)
			return -EINVAL;
		keepalive->max_probes = (uint8_t)value;
		break;
	case TAS_OPT_CONGESTION:
		if (value >= TCP_CC_COUNT)
			return -EINVAL;
		set_congestion(conn, (enum tcp_cc_algorithm)value);
		return 0;
	default:
		return -EINVAL;
	}
	rearm_keepalive(conn);
	return 0;
}
