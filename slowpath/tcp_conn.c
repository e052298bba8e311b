/*
 * Connection lifecycle in the slow path (RFC 9293 section 3.3.2): creation
 * with a flow id, the pending table, installation into and removal from
 * the fast path, resets, and release once the application and the fast
 * path are both done with the flow.  Also tcp_init/tcp_fini.
 */
#include "tcp_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include <rte_ring.h>

#include "app_registry.h"
#include "arp.h"
#include "fastpath.h"
#include "flow_alloc.h"
#include "flow_recovery.h"
#include "log.h"
#include "packet.h"
#include "quiesce.h"
#include "tcp.h"
#include "tcp_connect.h"
#include "tcp_deliver.h"
#include "tcp_listen.h"
#include "tcp_output.h"
#include "tcp_time_wait.h"

struct tcp_slowpath tcp_sp;

void tcp_key_of_segment(const struct pkt_info *pkt, struct flow_key *key)
{
	*key = (struct flow_key){
		.local_ip = pkt->ip->dst_addr,
		.remote_ip = pkt->ip->src_addr,
		.local_port = pkt->tcp->dst_port,
		.remote_port = pkt->tcp->src_port,
	};
}

int tcp_init(struct service *svc)
{
	uint32_t max_flows = svc->cfg.max_flows;
	int ret;

	memset(&tcp_sp, 0, sizeof(tcp_sp));
	tcp_sp.svc = svc;
	tcp_sp.conns = calloc(max_flows, sizeof(*tcp_sp.conns));
	tcp_sp.active = calloc(max_flows, sizeof(*tcp_sp.active));
	tcp_sp.flow_ids = flow_alloc_create(svc->flows, max_flows);
	tcp_sp.pending = flow_table_create(max_flows);
	if (tcp_sp.conns == NULL || tcp_sp.active == NULL ||
	    tcp_sp.flow_ids == NULL || tcp_sp.pending == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = siphash_key_random(&tcp_sp.isn_secret);
	if (ret == 0)
		ret = siphash_key_random(&tcp_sp.port_secret);
	if (ret == 0)
		ret = time_wait_init(max_flows);
	if (ret == 0)
		ret = tcp_listen_init();
	if (ret == 0)
		ret = arp_init(svc, tcp_connect_arp_done);
	if (ret != 0)
		goto fail;
	tcp_sp.port_counter = (uint32_t)siphash24(&tcp_sp.port_secret, "port", 4);
	tcp_cc_config_default(&tcp_sp.cc_config);
	tcp_sp.cc_config.algorithm = (enum tcp_cc_algorithm)svc->cfg.cc_algorithm;
	tcp_sp.cc_config.const_rate = svc->cfg.cc_const_rate;
	tcp_sp.local_options = (struct tcp_local_options){
		.mss = tcp_mss_from_mtu(svc->cfg.mtu),
		.rx_buf_size = svc->cfg.rx_buf_size,
		.offer_timestamps = true,
		.offer_sack = true,
		.offer_wscale = true,
	};
	return 0;

fail:
	log_err("tcp: initialisation failed: %s", strerror(-ret));
	tcp_fini(svc);
	return ret;
}

void tcp_fini(struct service *svc)
{
	(void)svc;
	if (tcp_sp.conns != NULL)
		log_info("tcp: %" PRIu64 " retransmission timeouts, %" PRIu64
			 " loss probes, %" PRIu64 " resets sent, %" PRIu64
			 " bad segments, %" PRIu64 " SYNs dropped",
			 tcp_sp.stats.retransmit_timeouts, tcp_sp.stats.loss_probes,
			 tcp_sp.stats.resets_sent,
			 tcp_sp.stats.bad_segments, tcp_sp.stats.syns_dropped);
	arp_fini();
	tcp_listen_fini();
	time_wait_fini();
	tcp_deliver_fini();
	flow_table_destroy(tcp_sp.pending);
	flow_alloc_destroy(tcp_sp.flow_ids);
	free(tcp_sp.active);
	free(tcp_sp.conns);
	memset(&tcp_sp, 0, sizeof(tcp_sp));
}

/* ---- active list: every connection in use, for timers and clean-up ---- */

static void active_add(struct tcp_conn *conn)
{
	conn->active_pos = tcp_sp.active_count;
	tcp_sp.active[tcp_sp.active_count++] = conn->flow_id;
}

static void active_remove(struct tcp_conn *conn)
{
	uint32_t last = tcp_sp.active[--tcp_sp.active_count];

	tcp_sp.active[conn->active_pos] = last;
	tcp_conn_of(last)->active_pos = conn->active_pos;
}

struct tcp_conn *tcp_conn_create(const struct flow_key *key)
{
	int64_t id = flow_alloc_get(tcp_sp.flow_ids);
	if (id < 0)
		return NULL;

	struct tcp_conn *conn = tcp_conn_of((uint32_t)id);
	*conn = (struct tcp_conn){
		.in_use = true,
		.state = TCP_CLOSED,
		.flow_id = (uint32_t)id,
		.key = *key,
		.hash = flow_key_hash(key),
		.listener = TCP_NO_LISTENER,
		.ready_prev = TCP_NO_FLOW,
		.ready_next = TCP_NO_FLOW,
		.cc_algorithm = tcp_sp.cc_config.algorithm,
		.nodelay = true,
	};
	tcp_keepalive_init(&conn->keepalive);
	struct flow_state *flow = tcp_flow_of(conn);
	flow->local_ip = key->local_ip;
	flow->remote_ip = key->remote_ip;
	flow->local_port = key->local_port;
	flow->remote_port = key->remote_port;
	flow->tx_queue_next = FLOW_INDEX_NONE;
	active_add(conn);
	return conn;
}

/* ---- the pending table: connections the fast path does not know ---- */

struct tcp_conn *tcp_conn_lookup_pending(const struct flow_key *key, uint32_t hash)
{
	int64_t id = flow_table_lookup(tcp_sp.pending, key, hash);

	return id < 0 ? NULL : tcp_conn_of((uint32_t)id);
}

int tcp_conn_add_pending(struct tcp_conn *conn)
{
	int ret = flow_table_insert(tcp_sp.pending, &conn->key, conn->flow_id);

	conn->in_pending = ret == 0;
	return ret;
}

void tcp_conn_remove_pending(struct tcp_conn *conn)
{
	if (!conn->in_pending)
		return;
	int slot = flow_table_remove(tcp_sp.pending, &conn->key);
	/* The slow path is the table's only reader: reuse at once. */
	if (slot >= 0)
		flow_table_release_slot(tcp_sp.pending, (uint32_t)slot);
	conn->in_pending = false;
}

bool tcp_key_in_use(const struct flow_key *key)
{
	uint32_t hash = flow_key_hash(key);

	return flow_table_lookup(tcp_sp.svc->flow_table, key, hash) >= 0 ||
	       flow_table_lookup(tcp_sp.pending, key, hash) >= 0 ||
	       time_wait_lookup(key, hash) != NULL;
}

int tcp_conn_alloc_buffers(struct tcp_conn *conn)
{
	uint64_t rx_offset, tx_offset;
	int ret = app_buffers_alloc(conn->app, &rx_offset, &tx_offset);

	if (ret != 0)
		return ret;
	/* flow_state keeps 32-bit offsets. */
	if (rx_offset > UINT32_MAX || tx_offset > UINT32_MAX) {
		app_buffers_free(conn->app, rx_offset);
		return -ENOMEM;
	}
	conn->rx_buf_offset = rx_offset;
	conn->tx_buf_offset = tx_offset;
	conn->has_buffers = true;
	return 0;
}

/* ---- installation ---- */

static void fill_flow(struct tcp_conn *conn, uint32_t snd_wnd)
{
	const struct service_config *cfg = &tcp_sp.svc->cfg;
	const struct tcp_negotiated *agreed = &conn->negotiated;
	struct flow_state *flow = tcp_flow_of(conn);

	flow->rx_avail = cfg->rx_buf_size;
	flow->rx_head = 0;
	flow->rx_buf_size = cfg->rx_buf_size;
	flow->rx_buf_offset = (uint32_t)conn->rx_buf_offset;
	flow->region_base = app_region_base(conn->app);
	flow->tx_sent = 0;
	flow->tx_remote_win = snd_wnd;
	flow->flags = (uint16_t)((agreed->timestamps ? FLOW_F_TIMESTAMPS : 0) |
				 (agreed->sack ? FLOW_F_SACK : 0) |
				 (agreed->ecn ? FLOW_F_ECN : 0) |
				 (conn->nodelay ? FLOW_F_NODELAY : 0));
	flow->snd_wscale = agreed->snd_wscale;
	flow->rcv_wscale = agreed->rcv_wscale;
	flow->dupack_count = 0;
	flow->tx_avail = 0;
	flow->tx_pos = 0;
	flow->tx_buf_size = cfg->tx_buf_size;
	flow->tx_buf_offset = (uint32_t)conn->tx_buf_offset;
	flow->mss = agreed->send_mss;
	flow->app_id = conn->app_id;
	flow->ctx_id = conn->ctx_id;
	flow->tx_queue_next = FLOW_INDEX_NONE;
	flow->rx_last_ms = (uint32_t)(fp_now_us() / 1000);
	/* flow_alloc_get() zeroed the rest of flows[id]. */
	memset(&tcp_sp.svc->flow_recovery[conn->flow_id], 0,
	       sizeof(struct flow_recovery));

	/* More in flight than the send buffer holds is impossible anyway. */
	tcp_cc_init(&conn->cc, &tcp_sp.cc_config, conn->cc_algorithm,
		    agreed->send_mss, cfg->tx_buf_size);
	tcp_timers_store_cc(conn);
}

int tcp_conn_install(struct tcp_conn *conn, uint32_t snd_wnd)
{
	fill_flow(conn, snd_wnd);
	tcp_conn_remove_pending(conn);
	/* flow_table_insert release-publishes everything written above. */
	int ret = flow_table_insert(tcp_sp.svc->flow_table, &conn->key,
				    conn->flow_id);
	if (ret != 0) {
		tcp_conn_add_pending(conn);
		return ret;
	}
	conn->installed = true;
	conn->ever_installed = true;
	tcp_timers_flow_installed(conn, fp_now_us());
	return 0;
}

bool tcp_conn_redirect(struct tcp_conn *conn, struct rte_mbuf *m)
{
	struct fp_core *core = tcp_conn_core(conn);

	if (rte_ring_enqueue(core->redirect_ring, m) != 0)
		return false;
	fp_kick(core);
	return true;
}

void tcp_conn_command_value(struct tcp_conn *conn, uint32_t type,
			    uint32_t value)
{
	struct fp_command cmd = {
		.type = type,
		.flow_id = conn->flow_id,
		.value = value,
	};

	tcp_send_command(tcp_conn_core(conn), &cmd);
}

void tcp_conn_command(struct tcp_conn *conn, uint32_t type)
{
	tcp_conn_command_value(conn, type, 0);
}

void tcp_conn_announce(struct tcp_conn *conn, uint16_t ctx_id,
		       uint16_t event_type, uint64_t cookie)
{
	struct fp_command cmd = {
		.type = FP_CMD_FLOW_ANNOUNCE,
		.flow_id = conn->flow_id,
		.value = event_type,
		.ctx_id = ctx_id,
		.cookie = cookie,
	};

	conn->ctx_id = ctx_id;
	conn->contexts_seen |= 1u << ctx_id;
	conn->announced = true;
	tcp_send_command(tcp_conn_core(conn), &cmd);
}

void tcp_conn_event(struct tcp_conn *conn, uint16_t type, int32_t status)
{
	if (!conn->announced || conn->app_gone || conn->app == NULL)
		return;
	struct tas_app_event ev = {
		.type = type,
		.fp_core = (uint16_t)tcp_conn_core(conn)->index,
		.status = status,
		.flow_id = conn->flow_id,
		.flow_gen = tcp_flow_of(conn)->flow_gen,
	};
	tcp_send_event(conn->app, conn->ctx_id, &ev);
}

/* ---- removal and release ---- */

void tcp_conn_remove_from_fastpath(struct tcp_conn *conn)
{
	if (!conn->installed || conn->removing)
		return;
	conn->removing = true;
	tcp_conn_command(conn, FP_CMD_FLOW_REMOVE);
}

static void release_table_slot(struct service *svc, void *arg)
{
	flow_table_release_slot(svc->flow_table, (uint32_t)(uintptr_t)arg);
}

static void enter_time_wait(struct tcp_conn *conn)
{
	const struct flow_state *flow = tcp_flow_of(conn);
	struct time_wait entry = {
		.key = conn->key,
		.rcv_nxt = flow->rx_next_seq,
		.snd_nxt = flow->tx_next_seq,
		.ts_recent = flow->ts_recent,
		.timestamps = (flow->flags & FLOW_F_TIMESTAMPS) != 0,
		.window = tcp_output_window(flow),
	};

	memcpy(entry.remote_mac, flow->remote_mac, sizeof(entry.remote_mac));
	time_wait_add(&entry, fp_now_us());
}

void tcp_conn_removed(struct tcp_conn *conn)
{
	if (!conn->removing)
		return;
	conn->removing = false;
	conn->installed = false;
	/* The core set FLOW_F_DEAD and stopped writing flows[id]: its final
	 * sequence numbers are stable from here on. */
	int slot = flow_table_remove(tcp_sp.svc->flow_table, &conn->key);
	if (slot >= 0 &&
	    sp_defer(tcp_sp.svc, release_table_slot, (void *)(uintptr_t)slot) != 0)
		log_warn("tcp: flow table slot %d leaked (no memory)", slot);

	if (conn->rst_on_remove) {
		conn->rst_on_remove = false;
		tcp_output_flow_rst(conn);
	}
	if (conn->state == TCP_TIME_WAIT)
		enter_time_wait(conn);
	tcp_conn_release_if_done(conn);
}

void tcp_conn_progress_close(struct tcp_conn *conn)
{
	if (!tcp_state_is_finished(conn->state))
		return;
	if (conn->installed)
		tcp_conn_remove_from_fastpath(conn);
	else
		tcp_conn_release_if_done(conn);
}

void tcp_conn_reset(struct tcp_conn *conn, int32_t status, bool send_rst)
{
	if (!conn->announced) {
		tcp_conn_drop(conn, send_rst);
		return;
	}
	conn->state = TCP_CLOSED;
	if (send_rst && conn->installed)
		conn->rst_on_remove = true;
	if (!conn->app_done && !conn->reset_sent_to_app) {
		tcp_conn_event(conn, TAS_EVT_RESET, status);
		conn->reset_sent_to_app = true;
	} else {
		conn->close_status = status;
	}
	tcp_conn_progress_close(conn);
}

void tcp_conn_drop(struct tcp_conn *conn, bool send_rst)
{
	tcp_listen_forget(conn);
	conn->app_done = true;
	if (conn->installed) {
		if (send_rst)
			conn->rst_on_remove = true;
		conn->state = TCP_CLOSED;
		tcp_conn_remove_from_fastpath(conn);
		return;
	}
	/* Only a SYN-RECEIVED connection has a peer that knows our ISS. */
	if (send_rst && conn->state == TCP_SYN_RECEIVED)
		tcp_output_flow_rst(conn);
	conn->state = TCP_CLOSED;
	tcp_conn_release_if_done(conn);
}

static void free_conn(struct tcp_conn *conn)
{
	if (conn->has_buffers && conn->app != NULL)
		app_buffers_free(conn->app, conn->rx_buf_offset);
	flow_alloc_put(tcp_sp.flow_ids, conn->flow_id);
	memset(conn, 0, sizeof(*conn));
}

static void free_conn_deferred(struct service *svc, void *arg)
{
	(void)svc;
	free_conn(tcp_conn_of((uint32_t)(uintptr_t)arg));
}

void tcp_conn_release_if_done(struct tcp_conn *conn)
{
	if (!conn->in_use || conn->releasing || !conn->app_done ||
	    conn->installed || conn->removing)
		return;
	conn->releasing = true;
	tcp_conn_event(conn, TAS_EVT_CLOSED, conn->close_status);
	tcp_conn_remove_pending(conn);
	tcp_listen_forget(conn);
	active_remove(conn);
	conn->state = TCP_CLOSED;

	if (!conn->ever_installed) {
		free_conn(conn);
		return;
	}
	/* Cores may still hold the id from a lookup made before the removal. */
	if (sp_defer(tcp_sp.svc, free_conn_deferred,
		     (void *)(uintptr_t)conn->flow_id) != 0)
		log_warn("tcp: flow %u leaked (no memory for deferred free)",
			 conn->flow_id);
}
