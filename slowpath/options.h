/*
 * The tas command line: `tas [options] [-- EAL arguments]`.
 */
#ifndef TAS_OPTIONS_H
#define TAS_OPTIONS_H

#include <stdbool.h>

#include "service.h"

#define OPTIONS_MAX_VDEVS 8

/* Exit status for a bad command line. */
#define OPTIONS_EXIT_USAGE 2

struct tas_options {
	struct service_config cfg;
	const char *vdevs[OPTIONS_MAX_VDEVS]; /* --vdev, in order */
	unsigned vdev_count;
	const char *iface;      /* --iface: af_packet on this interface */
	bool no_huge;           /* --no-huge */
	bool ecn_chosen;        /* --ecn given; else it follows --cc */
	int eal_argc;           /* the arguments after "--", unchanged */
	char **eal_argv;
};

enum options_result {
	OPTIONS_RUN,            /* start the service */
	OPTIONS_DONE,           /* --help or --version printed: exit 0 */
	OPTIONS_BAD,            /* message printed: exit OPTIONS_EXIT_USAGE */
};

/* Parse argv (not modified except by getopt's permutation, which is off).
 * Prints --help/--version to stdout and one-line errors to stderr. */
enum options_result options_parse(int argc, char **argv,
				  struct tas_options *opts);

#endif /* TAS_OPTIONS_H */
