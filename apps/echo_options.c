#include "echo_options.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

#define USAGE_COMMON \
	"--port P [--backlog N] [--threads N]\n" \
	"Echo every byte received on TCP port P back to its sender until\n" \
	"SIGINT or SIGTERM, then print connections served and bytes echoed.\n" \
	"  --port P       port to listen on (required)\n" \
	"  --backlog N    listen backlog (default 1024)\n" \
	"  --threads N    worker threads, each with its own event loop\n" \
	"                 (default 1)\n"

#define USAGE_WORKERS \
	"  --workers N    listen, then fork N worker processes of --threads\n" \
	"                 threads each, all accepting on the one listener;\n" \
	"                 SIGINT/SIGTERM is passed on to them, and each\n" \
	"                 one's connections and bytes are printed\n"

static const char usage_without_workers[] = USAGE_COMMON;
static const char usage_with_workers[] = USAGE_COMMON USAGE_WORKERS;

void echo_options_parse(struct echo_options *options, int argc, char **argv,
			bool workers_supported)
{
	static const struct option long_options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option;

	cli_init(argv[0], workers_supported ? usage_with_workers
					    : usage_without_workers);
	*options = (struct echo_options){ .backlog = 1024, .threads = 1 };
	while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (option) {
		case 'p':
			options->port = cli_parse_port("--port", optarg);
			break;
		case 'b':
			options->backlog = (uint32_t)cli_parse_uint("--backlog",
				optarg, 1, 65535);
			break;
		case 't':
			options->threads = (unsigned)cli_parse_uint("--threads",
				optarg, 1, 256);
			break;
		case 'w':
			if (!workers_supported)
				cli_fail("--workers is not supported here");
			options->workers = (unsigned)cli_parse_uint("--workers",
				optarg, 1, 256);
			break;
		case 'h':
			cli_help();
		default:
			cli_fail_getopt();
		}
	}
	cli_no_positionals(argc, argv, optind);
	if (options->port == 0)
		cli_fail("--port is required");
}

void echo_report(uint64_t connections, uint64_t bytes)
{
	printf("echo: connections=%" PRIu64 " bytes=%" PRIu64 "\n",
	       connections, bytes);
	fflush(stdout);
}
