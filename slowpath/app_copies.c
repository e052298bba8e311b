/*
 * One member's copies of connections (app_copies.h): an unordered array,
 * grown by doubling.  Lists are short (the connections one process had
 * when it forked): removal is a linear search; the list a child keeps is
 * sorted once to be checked against.
 */
#include "app_copies.h"

#include <errno.h>
#include <stdlib.h>

#define INITIAL_CAPACITY 16u

int app_copies_add(struct app_copies *copies, uint32_t flow_id,
		   uint32_t flow_gen)
{
	if (copies->count == copies->capacity) {
		uint32_t capacity = copies->capacity ? copies->capacity * 2
						     : INITIAL_CAPACITY;
		struct flow_ref *refs;

		if (capacity < copies->capacity)
			return -ENOMEM;
		refs = realloc(copies->refs, capacity * sizeof(*refs));
		if (refs == NULL)
			return -ENOMEM;
		copies->refs = refs;
		copies->capacity = capacity;
	}
	copies->refs[copies->count++] =
		(struct flow_ref){ .flow_id = flow_id, .flow_gen = flow_gen };
	return 0;
}

bool app_copies_remove(struct app_copies *copies, uint32_t flow_id,
		       uint32_t flow_gen)
{
	for (uint32_t i = 0; i < copies->count; i++) {
		struct flow_ref *ref = &copies->refs[i];

		if (ref->flow_id == flow_id && ref->flow_gen == flow_gen) {
			*ref = copies->refs[--copies->count];
			return true;
		}
	}
	return false;
}

static int compare_refs(const void *a, const void *b)
{
	const struct flow_ref *x = a, *y = b;

	if (x->flow_id != y->flow_id)
		return x->flow_id < y->flow_id ? -1 : 1;
	if (x->flow_gen != y->flow_gen)
		return x->flow_gen < y->flow_gen ? -1 : 1;
	return 0;
}

int app_copies_retain(struct app_copies *copies, struct app_copies *keep,
		      struct app_copies *dropped)
{
	int err = 0;

	if (keep->count > 0)
		qsort(keep->refs, keep->count, sizeof(keep->refs[0]),
		      compare_refs);
	for (uint32_t i = copies->count; i-- > 0;) {
		struct flow_ref ref = copies->refs[i];

		if (keep->count > 0 &&
		    bsearch(&ref, keep->refs, keep->count, sizeof(ref),
			    compare_refs) != NULL)
			continue;
		if (app_copies_add(dropped, ref.flow_id, ref.flow_gen) != 0) {
			err = -ENOMEM;
			continue;
		}
		copies->refs[i] = copies->refs[--copies->count];
	}
	return err;
}

void app_copies_free(struct app_copies *copies)
{
	free(copies->refs);
	*copies = (struct app_copies){ 0 };
}
