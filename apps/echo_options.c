#include "echo_options.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] =
	"--port P [--backlog N] [--threads N]\n"
	"Echo every byte received on TCP port P back to its sender until\n"
	"SIGINT or SIGTERM, then print connections served and bytes echoed.\n"
	"  --port P       port to listen on (required)\n"
	"  --backlog N    listen backlog (default 1024)\n"
	"  --threads N    worker threads, each with its own event loop\n"
	"                 (default 1)\n";

void echo_options_parse(struct echo_options *options, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "backlog", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option;

	cli_init(argv[0], usage);
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
