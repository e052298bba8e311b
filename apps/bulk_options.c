#include "bulk_options.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"

#define USAGE_COMMON \
	"--listen PORT | --connect IP:PORT [options]\n" \
	"Content-verified bulk TCP transfer.  Every connection sends a\n" \
	"deterministic pattern (client->server uses --seed, server->client\n" \
	"--seed + 1) and verifies every byte it receives.  Prints one line\n" \
	"(after those of --per-conn):\n" \
	"  bulk: role= conns= sent= recv= verified=yes|no resets= secs=\n" \
	"        mbit_per_sec=   (sent + recv over secs)\n" \
	"and exits 0 only if everything expected happened.\n" \
	"  --listen PORT          serve exactly --conns connections, then exit\n" \
	"  --connect IP:PORT      open --conns connections concurrently\n" \
	"  --conns N              connections (default 1)\n" \
	"  --send BYTES           bytes each connection sends (K/M/G; default 0)\n" \
	"  --recv BYTES           bytes each connection must receive before\n" \
	"                         EOF (K/M/G; default 0)\n" \
	"  --seed S               pattern seed (default 1)\n" \
	"  --close first|last     send FIN right after sending (first, the\n" \
	"                         default) or only after the peer's FIN (last)\n" \
	"  --abort-after BYTES    reset each connection after sending BYTES\n" \
	"  --expect reset         success means every connection was reset\n" \
	"  --echo                 the peer is an echo server: expect back\n" \
	"                         what this side sends (client only)\n" \
	"  --timeout SECONDS      give up and exit 1 (default 60)\n" \
	"  --pause-after BYTES    stop reading for --pause-secs once BYTES\n" \
	"                         arrived (each connection, once): the peer\n" \
	"                         faces a zero window; adds pauses= to the line\n" \
	"  --pause-secs SECONDS   how long (required with --pause-after)\n" \
	"  --per-conn             before the bulk: line, one line per connection:\n" \
	"    bulk-conn: id= sent= recv= rx_first= rx_last= rx_secs= tx_first=\n" \
	"               tx_last= tx_secs=   (seconds since the start: when its\n" \
	"               first and last byte arrived or was taken for sending)\n"

#define USAGE_IP_BIND \
	"  --ip-bind A            local address (server: listen on A)\n"

static const char usage_without_ip_bind[] = USAGE_COMMON;
static const char usage_with_ip_bind[] = USAGE_COMMON USAGE_IP_BIND;

enum { OPT_LISTEN = 1, OPT_CONNECT, OPT_CONNS, OPT_SEND, OPT_RECV, OPT_SEED,
	OPT_CLOSE, OPT_ABORT_AFTER, OPT_EXPECT, OPT_ECHO, OPT_TIMEOUT,
	OPT_IP_BIND, OPT_PAUSE_AFTER, OPT_PAUSE_SECS, OPT_PER_CONN, OPT_HELP };

static enum bulk_close parse_close(const char *arg)
{
	if (strcmp(arg, "first") == 0)
		return BULK_CLOSE_FIRST;
	if (strcmp(arg, "last") == 0)
		return BULK_CLOSE_LAST;
	cli_fail("--close: '%s' is neither 'first' nor 'last'", arg);
}

static void check_consistent(const struct bulk_options *options,
			     bool have_role)
{
	if (!have_role)
		cli_fail("one of --listen PORT or --connect IP:PORT is required");
	if (options->abort && options->abort_after > options->send)
		cli_fail("--abort-after %llu is more than --send %llu",
			 (unsigned long long)options->abort_after,
			 (unsigned long long)options->send);
	if (options->abort && options->expect_reset)
		cli_fail("--abort-after and --expect reset exclude each other");
	if (options->echo && options->role != BULK_CLIENT)
		cli_fail("--echo is for a client of an echo server");
	if (options->pause != (options->pause_secs > 0))
		cli_fail("--pause-after and --pause-secs go together");
	if (options->pause && options->pause_after > options->recv)
		cli_fail("--pause-after %llu is more than --recv %llu: the pause "
			 "would never come", (unsigned long long)options->pause_after,
			 (unsigned long long)options->recv);
}

void bulk_options_parse(struct bulk_options *options, int argc, char **argv,
			bool ip_bind_supported)
{
	static const struct option long_options[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "conns", required_argument, NULL, OPT_CONNS },
		{ "send", required_argument, NULL, OPT_SEND },
		{ "recv", required_argument, NULL, OPT_RECV },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "close", required_argument, NULL, OPT_CLOSE },
		{ "abort-after", required_argument, NULL, OPT_ABORT_AFTER },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "echo", no_argument, NULL, OPT_ECHO },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "ip-bind", required_argument, NULL, OPT_IP_BIND },
		{ "pause-after", required_argument, NULL, OPT_PAUSE_AFTER },
		{ "pause-secs", required_argument, NULL, OPT_PAUSE_SECS },
		{ "per-conn", no_argument, NULL, OPT_PER_CONN },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_role = false;
	int option;

	cli_init(argv[0], ip_bind_supported ? usage_with_ip_bind :
					      usage_without_ip_bind);
	*options = (struct bulk_options){
		.conns = 1, .seed = 1, .close = BULK_CLOSE_FIRST, .timeout = 60,
	};
	while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (option) {
		case OPT_LISTEN:
		case OPT_CONNECT:
			if (have_role)
				cli_fail("give only one of --listen and --connect");
			have_role = true;
			options->role = option == OPT_LISTEN ? BULK_SERVER :
							       BULK_CLIENT;
			if (option == OPT_LISTEN)
				options->port = cli_parse_port("--listen", optarg);
			else
				cli_parse_ip_port("--connect", optarg,
						  &options->ip, &options->port);
			break;
		case OPT_CONNS:
			options->conns = (unsigned)cli_parse_uint("--conns",
				optarg, 1, 100000);
			break;
		case OPT_SEND:
			options->send = cli_parse_size("--send", optarg);
			break;
		case OPT_RECV:
			options->recv = cli_parse_size("--recv", optarg);
			break;
		case OPT_SEED:
			options->seed = cli_parse_uint("--seed", optarg, 0,
						       UINT64_MAX - 1);
			break;
		case OPT_CLOSE:
			options->close = parse_close(optarg);
			break;
		case OPT_ABORT_AFTER:
			options->abort = true;
			options->abort_after = cli_parse_size("--abort-after",
							      optarg);
			break;
		case OPT_EXPECT:
			if (strcmp(optarg, "reset") != 0)
				cli_fail("--expect: '%s' is not 'reset'", optarg);
			options->expect_reset = true;
			break;
		case OPT_ECHO:
			options->echo = true;
			break;
		case OPT_TIMEOUT:
			options->timeout = cli_parse_seconds("--timeout", optarg,
							     0.001);
			break;
		case OPT_IP_BIND:
			if (!ip_bind_supported)
				cli_fail("--ip-bind is not supported here: the "
					 "service owns the local address");
			options->bind_ip = cli_parse_ipv4("--ip-bind", optarg);
			break;
		case OPT_PAUSE_AFTER:
			options->pause = true;
			options->pause_after = cli_parse_size("--pause-after",
							      optarg);
			break;
		case OPT_PAUSE_SECS:
			options->pause_secs = cli_parse_seconds("--pause-secs",
								optarg, 0.001);
			break;
		case OPT_PER_CONN:
			options->per_conn = true;
			break;
		case OPT_HELP:
			cli_help();
		default:
			cli_fail_getopt();
		}
	}
	cli_no_positionals(argc, argv, optind);
	check_consistent(options, have_role);
	if (options->role == BULK_SERVER)
		options->ip = options->bind_ip;
}

uint64_t bulk_tx_seed(const struct bulk_options *options)
{
	return options->role == BULK_CLIENT ? options->seed : options->seed + 1;
}

uint64_t bulk_rx_seed(const struct bulk_options *options)
{
	if (options->echo)
		return bulk_tx_seed(options);
	return options->role == BULK_CLIENT ? options->seed + 1 : options->seed;
}
