/*
 * What the slow path's TCP sends that may meet a full ring: events to
 * application contexts and commands to fast-path cores.  Nothing is
 * dropped for want of ring space: what does not fit waits in a FIFO (one
 * for events, one for commands, so order is kept) and is retried on every
 * tcp_timers_run.
 */
#ifndef TAS_TCP_DELIVER_H
#define TAS_TCP_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

struct app;

void tcp_send_event(struct app *app, uint16_t ctx_id,
		    const struct tas_app_event *ev);
void tcp_send_command(struct fp_core *core, const struct fp_command *cmd);

/* Retry what waits; true if something still does. */
bool tcp_deliver_flush(void);

#define TCP_ALL_CONTEXTS UINT32_MAX

/* Contexts of app are gone: forget the events queued for those in the
 * set contexts (bit c: context c). */
void tcp_deliver_forget(const struct app *app, uint32_t contexts);

void tcp_deliver_fini(void);

#endif /* TAS_TCP_DELIVER_H */
