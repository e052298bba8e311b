/*
 * The argument vector tas hands to rte_eal_init: the user's EAL arguments
 * (after "--") unchanged, plus what tas derives from its own options and
 * the machine where the user chose nothing (lcores from the CPU affinity,
 * memory mode, PCI scanning, the af_packet device of --iface).
 */
#ifndef TAS_EAL_ARGS_H
#define TAS_EAL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct eal_args {
	int argc;
	char **argv;   /* passed to rte_eal_init, which may reorder it */
	char **owned;  /* the same strings, for freeing */
	bool names_device; /* --iface, --vdev or an EAL device option given */
};

/* 0, or -ENOMEM / -errno (logged). */
int eal_args_build(const struct tas_options *opts, struct eal_args *args);
void eal_args_free(struct eal_args *args);

/* The arguments (without argv[0]) joined by spaces, for the log. */
void eal_args_format(const struct eal_args *args, char *text, size_t size);

#endif /* TAS_EAL_ARGS_H */
