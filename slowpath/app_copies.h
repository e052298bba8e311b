/*
 * The copies of connections one member process holds (shm_abi.h,
 * TAS_REG_FORK): a process forked from a member holds every connection
 * its parent had, as it holds their descriptors, until it forgets one
 * (TAS_REG_FORGET), adopts it (TAS_CMD_ADOPT) or exits.  tcp counts the
 * copies of each connection (tcp_copies.h); this is one member's list.
 *
 * Entries name a flow id and generation: one whose connection has ended
 * stays until its holder goes, and matches no connection any more.
 */
#ifndef TAS_APP_COPIES_H
#define TAS_APP_COPIES_H

#include <stdbool.h>
#include <stdint.h>

struct flow_ref {
	uint32_t flow_id;
	uint32_t flow_gen;
};

struct app_copies {
	struct flow_ref *refs;
	uint32_t count;
	uint32_t capacity;
};

/* 0 or -ENOMEM (nothing added). */
int app_copies_add(struct app_copies *copies, uint32_t flow_id,
		   uint32_t flow_gen);

/* Remove one entry for the flow; false if there was none. */
bool app_copies_remove(struct app_copies *copies, uint32_t flow_id,
		       uint32_t flow_gen);

/* Move every entry of copies that keep has no entry for into dropped
 * (keep is sorted as a side effect).  0, or -ENOMEM with every entry not
 * kept moved that fitted. */
int app_copies_retain(struct app_copies *copies, struct app_copies *keep,
		      struct app_copies *dropped);

void app_copies_free(struct app_copies *copies);

#endif /* TAS_APP_COPIES_H */
