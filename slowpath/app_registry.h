/*
 * Registered applications: the registration socket, each application's
 * shared region (contexts, rings, flow buffers) and its clean-up.
 */
#ifndef TAS_APP_REGISTRY_H
#define TAS_APP_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

struct app;

/* Create the listening socket (cfg.socket_path) and register it with the
 * slow-path loop.  0 or -errno. */
int app_registry_init(struct service *svc);

/* Poll every context's slow-path command ring and dispatch the commands
 * to the tcp_app_* functions (tcp.h).  Called by the slow-path loop. */
void app_registry_poll(struct service *svc);

/* Send an event on a context's slow-path event ring and wake the app.
 * 0, or -ENOBUFS if the ring is full, -ENOENT if the context is gone. */
int app_send_event(struct app *app, uint16_t ctx_id,
		   const struct tas_app_event *ev);

/* The app registered under app_id, or NULL. */
struct app *app_by_id(struct service *svc, uint16_t app_id);
uint16_t app_id(const struct app *app);
uint8_t *app_region_base(const struct app *app);
bool app_context_valid(const struct app *app, uint16_t ctx_id);

/* The member owning context ctx_id gives up its copy of the flow (it
 * adopted it, tcp_copies.h): true if it held one. */
bool app_copy_take(struct app *app, uint16_t ctx_id, uint32_t flow_id,
		   uint32_t flow_gen);

/* One rx+tx buffer pair in the app's region: offsets relative to the
 * region base.  0 or -ENOMEM. */
int app_buffers_alloc(struct app *app, uint64_t *rx_offset,
		      uint64_t *tx_offset);
void app_buffers_free(struct app *app, uint64_t rx_offset);

/* Stop: disconnect every application (their flows are reset by
 * tcp_shutdown_all before) and remove the socket file. */
void app_registry_fini(struct service *svc);

#endif /* TAS_APP_REGISTRY_H */
