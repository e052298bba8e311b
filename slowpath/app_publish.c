/*
 * Context lists of the fast-path cores (app_publish.h).
 */
#include "app_publish.h"

#include <errno.h>
#include <stdlib.h>

#include "app_region.h"
#include "fastpath.h"
#include "log.h"
#include "quiesce.h"

static unsigned fp_core_count(const struct service *svc)
{
	return app_region_fp_cores(&svc->cfg);
}

static void free_deferred(struct service *svc, void *arg)
{
	(void)svc;
	free(arg);
}

/* Free memory the fast-path cores may still read, after a grace period. */
static void free_after_grace(struct service *svc, void *ptr)
{
	if (ptr != NULL && sp_defer(svc, free_deferred, ptr) != 0)
		log_err("out of memory: leaking %p that fast-path cores may read",
			ptr);
}

static struct fp_context_list *list_with(const struct fp_context_list *old,
					 struct fp_context *added)
{
	uint32_t count = old != NULL ? old->count : 0;
	struct fp_context_list *list =
		malloc(sizeof(*list) + (count + 1) * sizeof(list->ctx[0]));

	if (list == NULL)
		return NULL;
	for (uint32_t i = 0; i < count; i++)
		list->ctx[i] = old->ctx[i];
	list->ctx[count] = added;
	list->count = count + 1;
	return list;
}

static bool is_removed(const struct fp_context *ctx, uint16_t app_id,
		       uint32_t contexts)
{
	return ctx->app_id == app_id && ctx->ctx_id < TAS_MAX_CONTEXTS &&
	       (contexts & (1u << ctx->ctx_id)) != 0;
}

/* The list without the removed contexts; *out = NULL when it becomes
 * empty.  false on ENOMEM. */
static bool list_without(const struct fp_context_list *old, uint16_t app_id,
			 uint32_t contexts, struct fp_context_list **out)
{
	uint32_t kept = 0;
	uint32_t count = old != NULL ? old->count : 0;

	for (uint32_t i = 0; i < count; i++)
		kept += !is_removed(old->ctx[i], app_id, contexts);
	*out = NULL;
	if (kept == 0)
		return true;

	struct fp_context_list *list =
		malloc(sizeof(*list) + kept * sizeof(list->ctx[0]));
	if (list == NULL)
		return false;
	list->count = 0;
	for (uint32_t i = 0; i < count; i++)
		if (!is_removed(old->ctx[i], app_id, contexts))
			list->ctx[list->count++] = old->ctx[i];
	*out = list;
	return true;
}

static void replace_context_lists(struct service *svc,
				  struct fp_context_list *lists[])
{
	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		struct fp_core *core = &svc->cores[i];
		struct fp_context_list *old = core->contexts;

		__atomic_store_n(&core->contexts, lists[i], __ATOMIC_RELEASE);
		free_after_grace(svc, old);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < fp_core_count(svc); i++)
		fp_kick(&svc->cores[i]);
}

int app_publish_context(struct service *svc, struct fp_context *per_core[])
{
	struct fp_context_list *lists[TAS_MAX_FP_CORES];

	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		lists[i] = list_with(svc->cores[i].contexts, per_core[i]);
		if (lists[i] == NULL) {
			while (i-- > 0)
				free(lists[i]);
			return -ENOMEM;
		}
	}
	replace_context_lists(svc, lists);
	return 0;
}

bool app_unpublish_contexts(struct service *svc, uint16_t app_id,
			    uint32_t contexts)
{
	struct fp_context_list *lists[TAS_MAX_FP_CORES];

	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		if (!list_without(svc->cores[i].contexts, app_id, contexts,
				  &lists[i])) {
			while (i-- > 0)
				free(lists[i]);
			return false;
		}
	}
	replace_context_lists(svc, lists);
	return true;
}

void app_publish_fini(struct service *svc)
{
	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		free(svc->cores[i].contexts);
		svc->cores[i].contexts = NULL;
	}
}
