#include "rpc_options.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] =
	"--ip A --port P --size BYTES --conns N --inflight K\n"
	"       --duration SECONDS [--warmup SECONDS] [--threads T]\n"
	"Closed-loop request/response load against an echo server: each of\n"
	"N connections keeps K requests of BYTES outstanding; a request\n"
	"completes when BYTES have come back.  Latency runs from issuing the\n"
	"request to receiving its last byte.  Prints one line:\n"
	"  rpc: size= conns= inflight= ops= ops_per_sec= p50_us= p99_us=\n"
	"       p999_us= errors=\n"
	"and exits 1 if a connection failed or no request completed.\n"
	"  --ip A, --port P     echo server address (required)\n"
	"  --size BYTES         request size, K/M suffixes allowed (required)\n"
	"  --conns N            connections (required)\n"
	"  --inflight K         outstanding requests per connection (required)\n"
	"  --duration SECONDS   measured time (required)\n"
	"  --warmup SECONDS     unmeasured time before it (default 0)\n"
	"  --threads T          threads sharing the connections (default 1)\n";

enum { OPT_IP = 1, OPT_PORT, OPT_SIZE, OPT_CONNS, OPT_INFLIGHT,
	OPT_DURATION, OPT_WARMUP, OPT_THREADS, OPT_HELP };

static void require(int present, const char *option)
{
	if (!present)
		cli_fail("%s is required", option);
}

void rpc_options_parse(struct rpc_options *options, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "ip", required_argument, NULL, OPT_IP },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "conns", required_argument, NULL, OPT_CONNS },
		{ "inflight", required_argument, NULL, OPT_INFLIGHT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int have_ip = 0;
	uint64_t size;
	int option;

	cli_init(argv[0], usage);
	*options = (struct rpc_options){ .threads = 1 };
	while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (option) {
		case OPT_IP:
			options->ip = cli_parse_ipv4("--ip", optarg);
			have_ip = 1;
			break;
		case OPT_PORT:
			options->port = cli_parse_port("--port", optarg);
			break;
		case OPT_SIZE:
			size = cli_parse_size("--size", optarg);
			if (size < 1 || size > (64u << 20))
				cli_fail("--size: %s is out of range [1, 64M]",
					 optarg);
			options->size = (uint32_t)size;
			break;
		case OPT_CONNS:
			options->conns = (unsigned)cli_parse_uint("--conns",
				optarg, 1, 100000);
			break;
		case OPT_INFLIGHT:
			options->inflight = (unsigned)cli_parse_uint(
				"--inflight", optarg, 1, 4096);
			break;
		case OPT_DURATION:
			options->duration = cli_parse_seconds("--duration",
							      optarg, 0.001);
			break;
		case OPT_WARMUP:
			options->warmup = cli_parse_seconds("--warmup", optarg,
							    0);
			break;
		case OPT_THREADS:
			options->threads = (unsigned)cli_parse_uint("--threads",
				optarg, 1, 256);
			break;
		case OPT_HELP:
			cli_help();
		default:
			cli_fail_getopt();
		}
	}
	cli_no_positionals(argc, argv, optind);
	require(have_ip, "--ip");
	require(options->port != 0, "--port");
	require(options->size != 0, "--size");
	require(options->conns != 0, "--conns");
	require(options->inflight != 0, "--inflight");
	require(options->duration != 0, "--duration");
	if (options->threads > options->conns)
		cli_fail("--threads %u: more threads than connections (%u)",
			 options->threads, options->conns);
}

unsigned rpc_thread_conns(const struct rpc_options *options, unsigned thread)
{
	unsigned share = options->conns / options->threads;

	return share + (thread < options->conns % options->threads ? 1 : 0);
}

static double ns_to_us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

int rpc_report(const struct rpc_options *options,
	       const struct rpc_stats *latencies, double measured_seconds,
	       uint64_t errors)
{
	uint64_t ops = latencies->count;
	double ops_per_sec = measured_seconds > 0 ?
		(double)ops / measured_seconds : 0;

	printf("rpc: size=%u conns=%u inflight=%u ops=%" PRIu64
	       " ops_per_sec=%.0f p50_us=%.2f p99_us=%.2f p999_us=%.2f"
	       " errors=%" PRIu64 "\n",
	       options->size, options->conns, options->inflight, ops,
	       ops_per_sec, ns_to_us(rpc_stats_quantile_ns(latencies, 0.5)),
	       ns_to_us(rpc_stats_quantile_ns(latencies, 0.99)),
	       ns_to_us(rpc_stats_quantile_ns(latencies, 0.999)), errors);
	fflush(stdout);
	return errors == 0 && ops > 0 ? 0 : 1;
}
