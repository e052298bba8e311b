/*
 * Which application contexts each fast-path core serves.  A core's list
 * is replaced, never edited: the new one is complete before its release
 * store, the old one is freed after a grace period, and sleeping cores
 * are kicked so that they start (or stop) serving the changed set.
 */
#ifndef TAS_APP_PUBLISH_H
#define TAS_APP_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define APP_ALL_CONTEXTS UINT32_MAX

/* Add one context: per_core[i] is its fp_context for core i.
 * 0 or -ENOMEM (nothing changed). */
int app_publish_context(struct service *svc, struct fp_context *per_core[]);

/* Remove the contexts of app_id whose ids are in the set contexts (bit c:
 * context c).  false on ENOMEM (nothing changed). */
bool app_unpublish_contexts(struct service *svc, uint16_t app_id,
			    uint32_t contexts);

/* The cores have stopped: free their lists. */
void app_publish_fini(struct service *svc);

#endif /* TAS_APP_PUBLISH_H */
