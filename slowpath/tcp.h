/*
 * The slow path's TCP: connection setup and teardown, listeners, timers,
 * and the operations applications request.  RFC 9293 (TCP), RFC 6528
 * (ISNs), RFC 6298 (RTO), RFC 7323 (window scale, timestamps), RFC 2018
 * (SACK-permitted), RFC 5961 (RST and SYN acceptance).
 */
#ifndef TAS_TCP_H
#define TAS_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

struct app;
struct rte_mbuf;

int tcp_init(struct service *svc);
void tcp_fini(struct service *svc);

/* A packet a fast-path core handed over (takes ownership of m). */
void tcp_handle_exception(struct service *svc, struct rte_mbuf *m,
			  enum sp_exception_reason reason);
void tcp_handle_notify(struct service *svc, const struct sp_notify *n);

/* Run due timers (RTO, SYN retries, TIME_WAIT, ARP); returns the time in
 * microseconds (fp_now_us clock) of the next deadline, or UINT64_MAX. */
uint64_t tcp_timers_run(struct service *svc, uint64_t now_us);

/* Application commands from a context's slow-path ring (already checked to
 * come from app/ctx_id; everything else in cmd is unvalidated). */
void tcp_app_command(struct service *svc, struct app *app, uint16_t ctx_id,
		     const struct tas_app_cmd *cmd);

/* The application is gone: reset its flows (those it had closed finish
 * closing), close its listeners.  Buffers are released through
 * app_buffers_free before this returns or through deferred work that
 * keeps the app alive (see app_registry.c). */
void tcp_app_gone(struct service *svc, struct app *app);

/* A member process of the application is gone, the application lives on:
 * reset the flows of the contexts in the set contexts (bit c: context c)
 * and drop their accept requests; the listeners stay the application's.
 * Flows the process had closed finish closing, those other processes
 * hold copies of stay open for them (tcp_copies.h). */
void tcp_app_contexts_gone(struct service *svc, struct app *app,
			   uint32_t contexts);

/* Whether a flow ever announced or adopted to context ctx_id of app is
 * still in the fast path (its core might still send that context events). */
bool tcp_app_context_busy(const struct app *app, uint16_t ctx_id);

/* SIGUSR1: one log line per connection with its state, congestion
 * control and recovery (tcp_flow_log.c). */
void tcp_log_flows(void);

/* Service stopping: send RST on every connection. */
void tcp_shutdown_all(struct service *svc);

#endif /* TAS_TCP_H */
