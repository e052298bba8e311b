/*
 * The slow path's view of a connection (RFC 9293 transmission control
 * block, minus what the fast path keeps in flow_state) and the operations
 * the tcp_*.c files share: lookup, installation in the fast path, removal,
 * release, and events to the owning application.
 *
 * A connection is identified by its flow id from the moment it exists
 * (SYN received or CONNECT), so flows[id] doubles as its sequence-space
 * storage while the fast path does not know it yet.  Where it lives:
 *   pending table (slow path only): SYN-SENT and SYN-RECEIVED;
 *   the fast path's flow table: from ESTABLISHED on.  A passive connection
 *     is installed at once, with the listener's application but no context,
 *     and waits in the listener's ready list; the fast path buffers its
 *     data and sends no event until an accept gives it a context and the
 *     slow path announces it (FP_CMD_FLOW_ANNOUNCE);
 *   neither: removed from the fast path, waiting for the application's
 *     CLOSE or for the grace period before the id is freed.
 * TIME-WAIT outlives the connection in a separate table (tcp_time_wait.h).
 */
#ifndef TAS_TCP_CONN_H
#define TAS_TCP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_tcp.h>

#include "fastpath.h"
#include "flow_table.h"
#include "isn.h"
#include "service.h"
#include "tcp_cc.h"
#include "tcp_conn_options.h"
#include "tcp_negotiate.h"
#include "tcp_rto.h"
#include "tcp_state.h"

struct app;
struct rte_mbuf;

#define TCP_NO_LISTENER UINT32_MAX
#define TCP_NO_FLOW UINT32_MAX

/* RFC 6335 / Linux default ephemeral range. */
#define TCP_EPHEMERAL_FIRST 32768u
#define TCP_EPHEMERAL_LAST 60999u

struct tcp_conn {
	enum tcp_state state;
	bool in_use;
	bool releasing;       /* CLOSED sent / freeing after a grace period */
	bool installed;       /* in the fast path's flow table */
	bool ever_installed;  /* cores may have seen flows[id]: free after grace */
	bool removing;        /* FP_CMD_FLOW_REMOVE sent, no FLOW_REMOVED yet */
	bool announced;       /* FP_CMD_FLOW_ANNOUNCE sent: the app holds the id */
	bool app_done;        /* CLOSE or ABORT received, or the app is gone */
	bool app_gone;        /* the application died: send it nothing */
	bool reset_sent_to_app; /* RESET reported, waiting for CLOSE */
	bool rst_on_remove;   /* send RST once the fast path let go */
	bool in_pending;      /* key in the pending table */
	bool in_ready_list;   /* established, waiting for an accept */
	bool arp_waiting;     /* SYN-SENT, next hop not resolved yet */
	bool has_buffers;
	bool owner_released;  /* the owner let go while copies were held */
	bool release_abort;   /* ... with ABORT: RST when the last goes */
	uint32_t copies;      /* member processes holding a copy (fork) */

	uint32_t flow_id;
	uint32_t hash;        /* flow_key_hash(&key) */
	struct flow_key key;
	uint32_t active_pos;  /* index in tcp_sp.active */

	struct app *app;      /* owner; NULL once gone and nothing to free */
	uint16_t app_id;
	uint16_t ctx_id;      /* context receiving this flow's events */
	uint32_t contexts_seen; /* bit c: announced or adopted to context c
				 * (a core may still send c events) */
	uint64_t cookie;      /* of the CONNECT */
	int32_t close_status; /* reported with CLOSED */
	uint64_t rx_buf_offset;
	uint64_t tx_buf_offset;

	/* Passive open, until accepted: the listener and its ready list. */
	uint32_t listener;
	uint32_t ready_prev;
	uint32_t ready_next;

	/* Handshake (RFC 9293 section 3.3.1 ISS/IRS). */
	uint32_t iss;
	uint32_t irs;
	uint32_t next_hop;
	struct tcp_negotiated negotiated;
	struct tcp_options peer_syn; /* for SYN-ACK retransmissions */
	uint32_t handshake_tries;
	uint64_t timer_us;    /* handshake retransmission; 0: none */
	uint32_t timer_backoff_us;

	/* Installed: timers and congestion control from the fast path's
	 * counters (last values seen, and when they moved). */
	struct tcp_rto rto;
	struct tcp_cc cc;
	enum tcp_cc_algorithm cc_algorithm; /* service's, or TAS_CMD_SET_CC */
	bool nodelay;         /* no Nagle (TAS_OPT_NODELAY) */
	struct tcp_keepalive keepalive;
	uint32_t seen_acked_bytes;
	uint32_t seen_ecn_bytes;
	uint32_t seen_recoveries;
	uint32_t seen_rtt_us;
	uint64_t progress_us;  /* last ACK progress or start of the flight */
	uint32_t rto_retries;
	bool probe_sent;      /* loss probe since the last progress */
	uint64_t persist_us;    /* next zero-window probe; 0: not armed */
	uint32_t persist_backoff_us;
	uint64_t app_closed_us;
	uint64_t fin_wait_2_us; /* entered FIN-WAIT-2 after the app closed */
};

struct tcp_stats {
	uint64_t resets_sent;
	uint64_t syns_dropped;
	uint64_t retransmit_timeouts;
	uint64_t loss_probes;
	uint64_t events_dropped;
	uint64_t bad_segments;
};

struct tcp_slowpath {
	struct service *svc;
	struct tcp_conn *conns;       /* [max_flows], index = flow id */
	struct flow_alloc *flow_ids;
	struct flow_table *pending;   /* key -> flow id, slow path only */
	uint32_t *active;             /* ids of connections in use */
	uint32_t active_count;
	struct tcp_local_options local_options;
	struct siphash_key isn_secret;
	struct siphash_key port_secret;
	uint32_t port_counter;
	struct tcp_cc_config cc_config;   /* --cc and its parameters */
	struct tcp_stats stats;
};

extern struct tcp_slowpath tcp_sp;

static inline struct tcp_conn *tcp_conn_of(uint32_t flow_id)
{
	return &tcp_sp.conns[flow_id];
}

static inline struct flow_state *tcp_flow_of(const struct tcp_conn *conn)
{
	return &tcp_sp.svc->flows[conn->flow_id];
}

/* Fields of an installed flow belong to its fast-path core: the slow path
 * reads them only with these (a slightly stale value is fine for ACKs,
 * timers and congestion control). */
static inline uint32_t flow_read32(const uint32_t *field)
{
	return __atomic_load_n(field, __ATOMIC_RELAXED);
}

static inline uint16_t flow_read16(const uint16_t *field)
{
	return __atomic_load_n(field, __ATOMIC_RELAXED);
}

/* The fast-path core that owns (or will own) the connection. */
static inline struct fp_core *tcp_conn_core(const struct tcp_conn *conn)
{
	return fp_core_of_hash(tcp_sp.svc, conn->hash);
}

/* RFC 3168 section 6.1.1, as the service's --ecn allows: does a SYN with
 * these flags set up ECN (we answer ECE), does a SYN-ACK accept ours? */
static inline bool tcp_ecn_setup_syn(uint8_t tcp_flags)
{
	uint8_t setup = RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG;

	return tcp_sp.svc->cfg.ecn != SERVICE_ECN_OFF &&
	       (tcp_flags & setup) == setup;
}

static inline bool tcp_ecn_setup_synack(uint8_t tcp_flags)
{
	return tcp_sp.svc->cfg.ecn == SERVICE_ECN_ON &&
	       (tcp_flags & (RTE_TCP_ECE_FLAG | RTE_TCP_CWR_FLAG)) ==
		       RTE_TCP_ECE_FLAG;
}

/* Key of the connection a received segment belongs to. */
struct pkt_info;
void tcp_key_of_segment(const struct pkt_info *pkt, struct flow_key *key);

/* A new connection with a fresh flow id, in the active list, state
 * CLOSED, key set, nothing else; NULL if no id is free. */
struct tcp_conn *tcp_conn_create(const struct flow_key *key);

/* Find a connection the fast path does not know: NULL if none. */
struct tcp_conn *tcp_conn_lookup_pending(const struct flow_key *key, uint32_t hash);
int tcp_conn_add_pending(struct tcp_conn *conn);
void tcp_conn_remove_pending(struct tcp_conn *conn);

/* Is any connection (in the fast path, pending, or in TIME-WAIT) using key? */
bool tcp_key_in_use(const struct flow_key *key);

/* Buffers in the owner's region; 0 or -ENOMEM. */
int tcp_conn_alloc_buffers(struct tcp_conn *conn);

/*
 * The connection is established: fill flows[id] completely (buffers,
 * negotiated options, windows, congestion window; snd_wnd is the peer's
 * window, already scaled), move it from the pending table to the fast
 * path's flow table and start its timers.  0 or -errno; on error the
 * connection is still pending and unchanged but for flows[id].
 */
int tcp_conn_install(struct tcp_conn *conn, uint32_t snd_wnd);

/* Hand the installed flow to context ctx_id: the owning core sends the
 * application event_type (TAS_EVT_ACCEPTED/CONNECTED) with cookie. */
void tcp_conn_announce(struct tcp_conn *conn, uint16_t ctx_id,
		       uint16_t event_type, uint64_t cookie);

/* Ask the owning core to forget the flow (FP_CMD_FLOW_REMOVE); the rest
 * happens in tcp_conn_removed() when the core confirms. */
void tcp_conn_remove_from_fastpath(struct tcp_conn *conn);

/* The core confirmed the removal (SP_NOTIFY_FLOW_REMOVED). */
void tcp_conn_removed(struct tcp_conn *conn);

/* Both FINs done or the connection reset: leave the fast path if still
 * there, and release the id if the application is done with it. */
void tcp_conn_progress_close(struct tcp_conn *conn);

/* The connection is reset (by the peer, a timeout, the service): report
 * status to the app (RESET, or CLOSED if it already closed) and leave the
 * fast path.  send_rst: tell the peer too. */
void tcp_conn_reset(struct tcp_conn *conn, int32_t status, bool send_rst);

/* Drop a connection the application never saw (handshake failed, listener
 * closed): no events; the peer gets a RST if send_rst. */
void tcp_conn_drop(struct tcp_conn *conn, bool send_rst);

/* If the application is done and the fast path let go: CLOSED to the
 * app, free the id and buffers after a grace period. */
void tcp_conn_release_if_done(struct tcp_conn *conn);

/* An event about the connection to its context: type, status, flow id
 * and generation (nothing once the app is gone or before it was told). */
void tcp_conn_event(struct tcp_conn *conn, uint16_t type, int32_t status);

/* Pass a received frame on to the core owning the installed flow; true if
 * it took the mbuf. */
bool tcp_conn_redirect(struct tcp_conn *conn, struct rte_mbuf *m);

/* A command to the core owning the connection (tcp_deliver.h). */
void tcp_conn_command(struct tcp_conn *conn, uint32_t type);
void tcp_conn_command_value(struct tcp_conn *conn, uint32_t type,
			    uint32_t value);

/* tcp_app.c: the application is done with the connection: CLOSE (FIN
 * after the data, CLOSED once both FINs are through) or ABORT (RST).
 * Also run when the last copy of a connection its owner let go goes
 * (tcp_copies.h). */
void tcp_app_close_flow(struct tcp_conn *conn);
void tcp_app_abort_flow(struct tcp_conn *conn);

/* The connection was installed: start its RTO and congestion-control
 * state (tcp_timers.c). */
void tcp_timers_flow_installed(struct tcp_conn *conn, uint64_t now_us);
/* Publish conn->cc's window and rate to the fast path. */
void tcp_timers_store_cc(struct tcp_conn *conn);

#endif /* TAS_TCP_CONN_H */
