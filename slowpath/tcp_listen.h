/*
 * Listeners and the passive open (RFC 9293 sections 3.5 and 3.10.7.2):
 * LISTEN, SYN-RECEIVED with SYN-ACK retransmission, the backlog of
 * established connections and the applications' accept requests.
 *
 * An established passive connection is installed in the fast path at
 * once (it buffers the peer's data) but announced to the application only
 * when an accept request meets it, with the context of that request.
 * The backlog bounds both the half-open and the established-but-not-
 * accepted connections of a listener; SYNs beyond it are dropped.
 */
#ifndef TAS_TCP_LISTEN_H
#define TAS_TCP_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define TCP_MAX_LISTENERS 1024u
#define TCP_MAX_BACKLOG 4096u
#define TCP_MAX_ACCEPT_REQUESTS 1024u  /* outstanding per listener */
#define TCP_SYNACK_RETRIES 5u          /* as Linux's tcp_synack_retries */

struct app;
struct pkt_info;
struct rte_mbuf;
struct tcp_conn;

int tcp_listen_init(void);
void tcp_listen_fini(void);

/* TAS_CMD_LISTEN, TAS_CMD_LISTEN_CLOSE, TAS_CMD_ACCEPT. */
void tcp_listen_command(struct app *app, uint16_t ctx_id,
			const struct tas_app_cmd *cmd);
void tcp_listen_close_command(struct app *app, uint16_t ctx_id,
			      const struct tas_app_cmd *cmd);
void tcp_accept_command(struct app *app, uint16_t ctx_id,
			const struct tas_app_cmd *cmd);

/* Is port (network byte order) listened on? */
bool tcp_listen_port_used(uint16_t port);

/* LISTEN processing of a segment that matches no connection: false if no
 * listener has its port. */
bool tcp_listen_input(const struct pkt_info *pkt);

/* SYN-RECEIVED processing; true if m was consumed (handed on to the fast
 * path with the data of the completing ACK). */
bool tcp_syn_received_input(struct tcp_conn *conn, const struct pkt_info *pkt,
			    struct rte_mbuf *m);

/* The SYN-ACK retransmission timer expired. */
void tcp_syn_received_timeout(struct tcp_conn *conn, uint64_t now_us);

/* The connection leaves its listener's accounting (dropped or reset
 * before it was accepted). */
void tcp_listen_forget(struct tcp_conn *conn);

/* Drop the accept requests of contexts in the set contexts (bit c:
 * context c) of app: those contexts are gone, their ids may come back. */
void tcp_listen_contexts_gone(struct app *app, uint32_t contexts);

/* Close every listener of a departed application. */
void tcp_listen_app_gone(struct app *app);

#endif /* TAS_TCP_LISTEN_H */
