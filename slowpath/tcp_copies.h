/*
 * Connections other processes of the application hold copies of, after
 * fork() (shm_abi.h, TAS_REG_FORK), as they hold the descriptors in
 * Linux: the owner's CLOSE or ABORT (or its death) only lets go while a
 * copy is held, and the connection closes (or aborts) when the last copy
 * goes; a holder takes the connection over with TAS_CMD_ADOPT.
 *
 * A copy is counted here (tcp_conn.copies) for each entry in a member's
 * list (app_copies.h), which app_registry.c keeps: entries are added by
 * tcp_copies_fork and each entry that goes is reported once, with
 * tcp_copies_drop or taken by an adoption (app_copy_take).
 */
#ifndef TAS_TCP_COPIES_H
#define TAS_TCP_COPIES_H

#include <stdbool.h>
#include <stdint.h>

#include "app_copies.h"

struct app;
struct tcp_conn;

/* The member owning contexts of app forked: child (the new member's
 * list) gets a copy of every open connection of those contexts and of
 * every copy in parent (the forking member's list). */
void tcp_copies_fork(struct app *app, uint32_t contexts,
		     const struct app_copies *parent, struct app_copies *child);

/* One copy of flow (flow_id, flow_gen) of app went. */
void tcp_copies_drop(struct app *app, uint32_t flow_id, uint32_t flow_gen);

/* The owner lets go of conn (CLOSE; ABORT if abort; or its member died):
 * true if copies are held, so that the connection stays open until the
 * last goes, false if the owner's close is to happen now. */
bool tcp_copies_release(struct tcp_conn *conn, bool abort);

/* TAS_CMD_ADOPT: context ctx_id of app takes conn (the app's, of the
 * command's generation, not closed) over; cookie goes with ADOPTED.  0,
 * -EALREADY (it is ctx_id's), -ENOTCONN (reset, or done with data). */
int32_t tcp_copies_adopt(struct app *app, uint16_t ctx_id,
			 struct tcp_conn *conn, uint64_t cookie);

#endif /* TAS_TCP_COPIES_H */
