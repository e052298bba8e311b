/*
 * The tas command line (options.h).  Every value is checked here, so the
 * rest of the service can trust struct service_config.  Errors are one
 * line naming the option and what it allows.
 */
#include "options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "tcp_cc.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#define BUF_SIZE_MIN (4 * KIB)
#define BUF_SIZE_MAX (64 * MIB)
#define BUF_SIZE_DEFAULT (256 * KIB)
#define APP_REGION_MIN MIB
#define APP_REGION_MAX (1024 * GIB)
#define APP_REGION_DEFAULT GIB
#define MAX_FLOWS_MAX (UINT32_C(1) << 22)
#define MAX_FLOWS_DEFAULT 16384u
#define MTU_MIN 576u
#define MTU_MAX 9000u
#define MTU_DEFAULT 1500u

enum option_id {
	OPT_HELP = 'h',
	OPT_QUIET = 'q',
	OPT_VERSION = 'V',
	OPT_IP = 256,
	OPT_GATEWAY,
	OPT_FP_CORES,
	OPT_RX_BUF_SIZE,
	OPT_TX_BUF_SIZE,
	OPT_APP_REGION_SIZE,
	OPT_MAX_FLOWS,
	OPT_MTU,
	OPT_SOCKET,
	OPT_VDEV,
	OPT_IFACE,
	OPT_NO_HUGE,
	OPT_ALLOW_UID,
	OPT_CC,
	OPT_CC_RATE,
	OPT_ECN,
};

static const struct option long_options[] = {
	{ "ip", required_argument, NULL, OPT_IP },
	{ "gateway", required_argument, NULL, OPT_GATEWAY },
	{ "fp-cores", required_argument, NULL, OPT_FP_CORES },
	{ "rx-buf-size", required_argument, NULL, OPT_RX_BUF_SIZE },
	{ "tx-buf-size", required_argument, NULL, OPT_TX_BUF_SIZE },
	{ "app-region-size", required_argument, NULL, OPT_APP_REGION_SIZE },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "vdev", required_argument, NULL, OPT_VDEV },
	{ "iface", required_argument, NULL, OPT_IFACE },
	{ "no-huge", no_argument, NULL, OPT_NO_HUGE },
	{ "allow-uid", required_argument, NULL, OPT_ALLOW_UID },
	{ "cc", required_argument, NULL, OPT_CC },
	{ "cc-rate", required_argument, NULL, OPT_CC_RATE },
	{ "ecn", required_argument, NULL, OPT_ECN },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"Usage: tas --ip A.B.C.D/PREFIX [options] [-- EAL arguments]\n"
	"\n"
	"Runs TCP for the applications on this host over a DPDK port.\n"
	"\n"
	"Network:\n"
	"  --ip A.B.C.D/PREFIX     the service's IPv4 address and subnet (required)\n"
	"  --gateway A.B.C.D       router for destinations outside the subnet\n"
	"  --mtu N                 IP MTU, 576..9000 (default 1500)\n"
	"\n"
	"Port (default: the first DPDK port; if there is none, a tap device\n"
	"named tas0 is created):\n"
	"  --iface NAME            use kernel interface NAME through net_af_packet\n"
	"                          (one queue pair per fast-path core)\n"
	"  --vdev SPEC             create DPDK virtual device SPEC (EAL --vdev);\n"
	"                          may be repeated; the first port found is used\n"
	"\n"
	"Resources:\n"
	"  --fp-cores N            fast-path cores, 1..16 (default 1)\n"
	"  --rx-buf-size BYTES     receive buffer per flow, power of two,\n"
	"                          4K..64M (default 256K)\n"
	"  --tx-buf-size BYTES     transmit buffer per flow, same range\n"
	"  --app-region-size BYTES shared memory per application, 1M..1024G\n"
	"                          (default 1G)\n"
	"  --max-flows N           connections at once, 1..4194304 (default 16384)\n"
	"  --no-huge               run without hugepages (EAL --no-huge --no-shconf);\n"
	"                          also chosen when too few hugepages are free\n"
	"  Sizes take the suffixes K, M and G (powers of 1024).\n"
	"\n"
	"Congestion control (per connection, applications may choose another):\n"
	"  --cc NAME               newreno, cubic, dctcp, dctcp-rate, timely or\n"
	"                          const-rate (default cubic)\n"
	"  --cc-rate RATE          the rate of const-rate, e.g. 500M or 2G bit/s\n"
	"                          (suffixes K, M, G: powers of 1000; default 1G)\n"
	"  --ecn off|accept|on     ECN (RFC 3168): never, when the peer asks, or\n"
	"                          ask too (default: on for dctcp and dctcp-rate,\n"
	"                          accept otherwise)\n"
	"\n"
	"Service:\n"
	"  --socket PATH           application registration socket\n"
	"                          (default " TAS_DEFAULT_SOCKET_PATH ")\n"
	"  --allow-uid UID         only this user (and root) may register\n"
	"                          applications; may be repeated up to 8 times\n"
	"                          (default: every local user)\n"
	"  -q, --quiet             log only warnings and errors\n"
	"  -h, --help              print this help and exit\n"
	"  -V, --version           print the version and exit\n"
	"\n"
	"EAL arguments after \"--\" are passed to DPDK unchanged.  Unless they\n"
	"choose lcores (-l, --lcores, -c), tas uses the CPUs it may run on: the\n"
	"first for the slow path, the next ones for the fast-path cores (shared\n"
	"when there are too few).  It adds --in-memory and --no-telemetry, and\n"
	"--no-pci when --iface or --vdev is given and no PCI device is named.\n"
	"Stop tas with SIGINT or SIGTERM: it resets every connection and exits.\n";

/* Prints "tas: --OPTION: 'VALUE' ...: allowed" and yields OPTIONS_BAD. */
static enum options_result refuse(const char *option, const char *value,
				  const char *allowed)
{
	fprintf(stderr, "tas: --%s: invalid value '%s' (%s)\n", option, value,
		allowed);
	return OPTIONS_BAD;
}

/* Decimal digits only: no sign, no spaces, no overflow. */
static bool parse_u64(const char *text, uint64_t *value, const char **end)
{
	uint64_t result = 0;
	const char *cursor = text;

	if (!isdigit((unsigned char)*cursor))
		return false;
	for (; isdigit((unsigned char)*cursor); cursor++) {
		unsigned digit = (unsigned)(*cursor - '0');

		if (result > (UINT64_MAX - digit) / 10)
			return false;
		result = result * 10 + digit;
	}
	*value = result;
	*end = cursor;
	return true;
}

static bool parse_integer(const char *text, uint64_t min, uint64_t max,
			  uint64_t *value)
{
	const char *end;

	return parse_u64(text, value, &end) && *end == '\0' && *value >= min &&
	       *value <= max;
}

/* BYTES with an optional K, M or G suffix (binary multiples). */
static bool parse_size(const char *text, uint64_t *bytes)
{
	uint64_t number, multiplier = 1;
	const char *end;

	if (!parse_u64(text, &number, &end))
		return false;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		multiplier = KIB;
		break;
	case 'M':
		multiplier = MIB;
		break;
	case 'G':
		multiplier = GIB;
		break;
	default:
		return false;
	}
	if (*end != '\0' && end[1] != '\0')
		return false;
	if (number > UINT64_MAX / multiplier)
		return false;
	*bytes = number * multiplier;
	return true;
}

static bool is_power_of_two(uint64_t value)
{
	return value != 0 && (value & (value - 1)) == 0;
}

static bool parse_ipv4(const char *text, uint32_t *ip)
{
	struct in_addr address;

	if (inet_pton(AF_INET, text, &address) != 1)
		return false;
	*ip = address.s_addr;
	return true;
}

static uint32_t prefix_mask(uint8_t prefix_len)
{
	return prefix_len == 0 ? 0 : htonl(UINT32_MAX << (32 - prefix_len));
}

/* A unicast address a host can own: not 0/8, loopback, multicast or
 * reserved. */
static bool is_host_address(uint32_t ip)
{
	uint8_t first_octet = (uint8_t)(ntohl(ip) >> 24);

	return first_octet != 0 && first_octet != 127 && first_octet < 224;
}

static enum options_result parse_ip_prefix(const char *text,
					   struct service_config *cfg)
{
	static const char allowed[] =
		"expected a host address and prefix length, e.g. 10.0.0.1/24";
	char address[INET_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	uint64_t prefix_len;
	uint32_t ip, host_bits;

	if (slash == NULL || (size_t)(slash - text) >= sizeof(address))
		return refuse("ip", text, allowed);
	memcpy(address, text, (size_t)(slash - text));
	address[slash - text] = '\0';
	if (!parse_ipv4(address, &ip) || !is_host_address(ip) ||
	    !parse_integer(slash + 1, 1, 32, &prefix_len))
		return refuse("ip", text, allowed);

	/* The subnet's network and broadcast addresses belong to no host. */
	host_bits = ip & ~prefix_mask((uint8_t)prefix_len);
	if (prefix_len <= 30 &&
	    (host_bits == 0 || host_bits == ~prefix_mask((uint8_t)prefix_len)))
		return refuse("ip", text,
			      "a host address, not the subnet's network or "
			      "broadcast address");

	cfg->local_ip = ip;
	cfg->prefix_len = (uint8_t)prefix_len;
	return OPTIONS_RUN;
}

static enum options_result parse_buf_size(const char *option, const char *text,
					  uint32_t *size)
{
	uint64_t bytes;

	if (!parse_size(text, &bytes) || !is_power_of_two(bytes) ||
	    bytes < BUF_SIZE_MIN || bytes > BUF_SIZE_MAX)
		return refuse(option, text, "a power of two from 4K to 64M");
	*size = (uint32_t)bytes;
	return OPTIONS_RUN;
}

/* An interface name that also fits into a DPDK device argument list. */
static bool is_interface_name(const char *name)
{
	size_t length = strlen(name);

	return length > 0 && length < IF_NAMESIZE &&
	       strpbrk(name, ",=/ \t") == NULL;
}

static enum options_result parse_cc(const char *text, struct service_config *cfg)
{
	enum tcp_cc_algorithm algorithm;

	if (tcp_cc_parse(text, &algorithm) != 0)
		return refuse("cc", text, "newreno, cubic, dctcp, dctcp-rate, "
					  "timely or const-rate");
	cfg->cc_algorithm = (uint8_t)algorithm;
	return OPTIONS_RUN;
}

/* Bits per second with K/M/G (powers of 1000), stored as bytes/s. */
static enum options_result parse_rate(const char *text, uint64_t *bytes_per_s)
{
	static const struct { char suffix; uint64_t factor; } suffixes[] = {
		{ 'K', 1000 }, { 'M', 1000000 }, { 'G', 1000000000 },
	};
	uint64_t number, factor = 1;
	const char *end;

	if (!parse_u64(text, &number, &end))
		return refuse("cc-rate", text, "bits per second, e.g. 500M");
	for (unsigned i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (toupper((unsigned char)*end) == suffixes[i].suffix) {
			factor = suffixes[i].factor;
			end++;
		}
	if (*end != '\0' || number == 0 || number > UINT64_MAX / factor ||
	    number * factor < 8000 || number * factor > 400 * UINT64_C(1000000000))
		return refuse("cc-rate", text, "8K to 400G bits per second");
	*bytes_per_s = number * factor / 8;
	return OPTIONS_RUN;
}

static enum options_result parse_ecn(const char *text, struct tas_options *opts)
{
	static const char *const names[] = { "off", "accept", "on" };

	for (unsigned i = 0; i < 3; i++)
		if (strcmp(text, names[i]) == 0) {
			opts->cfg.ecn = (uint8_t)i;
			opts->ecn_chosen = true;
			return OPTIONS_RUN;
		}
	return refuse("ecn", text, "off, accept or on");
}

static enum options_result parse_option(int option, const char *value,
					struct tas_options *opts)
{
	struct service_config *cfg = &opts->cfg;
	uint64_t number;

	switch (option) {
	case OPT_IP:
		return parse_ip_prefix(value, cfg);
	case OPT_GATEWAY:
		if (!parse_ipv4(value, &cfg->gateway_ip) ||
		    !is_host_address(cfg->gateway_ip))
			return refuse("gateway", value,
				      "expected a unicast IPv4 address");
		return OPTIONS_RUN;
	case OPT_FP_CORES:
		if (!parse_integer(value, 1, TAS_MAX_FP_CORES, &number))
			return refuse("fp-cores", value, "an integer from 1 to 16");
		cfg->fp_cores = (unsigned)number;
		return OPTIONS_RUN;
	case OPT_RX_BUF_SIZE:
		return parse_buf_size("rx-buf-size", value, &cfg->rx_buf_size);
	case OPT_TX_BUF_SIZE:
		return parse_buf_size("tx-buf-size", value, &cfg->tx_buf_size);
	case OPT_APP_REGION_SIZE:
		if (!parse_size(value, &cfg->app_region_size) ||
		    cfg->app_region_size < APP_REGION_MIN ||
		    cfg->app_region_size > APP_REGION_MAX)
			return refuse("app-region-size", value,
				      "a size from 1M to 1024G");
		return OPTIONS_RUN;
	case OPT_MAX_FLOWS:
		if (!parse_integer(value, 1, MAX_FLOWS_MAX, &number))
			return refuse("max-flows", value,
				      "an integer from 1 to 4194304");
		cfg->max_flows = (uint32_t)number;
		return OPTIONS_RUN;
	case OPT_MTU:
		if (!parse_integer(value, MTU_MIN, MTU_MAX, &number))
			return refuse("mtu", value, "an integer from 576 to 9000");
		cfg->mtu = (uint16_t)number;
		return OPTIONS_RUN;
	case OPT_SOCKET:
		if (value[0] == '\0' ||
		    strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return refuse("socket", value,
				      "a path of 1 to 107 characters");
		cfg->socket_path = value;
		return OPTIONS_RUN;
	case OPT_VDEV:
		if (value[0] == '\0')
			return refuse("vdev", value,
				      "a DPDK device, e.g. net_tap0,iface=tap0");
		if (opts->vdev_count == OPTIONS_MAX_VDEVS)
			return refuse("vdev", value, "at most 8 devices");
		opts->vdevs[opts->vdev_count++] = value;
		return OPTIONS_RUN;
	case OPT_IFACE:
		if (!is_interface_name(value))
			return refuse("iface", value,
				      "a kernel interface name of 1 to 15 "
				      "characters");
		if (if_nametoindex(value) == 0)
			return refuse("iface", value,
				      "no such network interface here");
		opts->iface = value;
		return OPTIONS_RUN;
	case OPT_NO_HUGE:
		opts->no_huge = true;
		return OPTIONS_RUN;
	case OPT_ALLOW_UID:
		if (!parse_integer(value, 0, UINT32_MAX - 1, &number))
			return refuse("allow-uid", value, "a numeric user id");
		if (cfg->allowed_uid_count == 8)
			return refuse("allow-uid", value, "at most 8 users");
		cfg->allowed_uids[cfg->allowed_uid_count++] = (uint32_t)number;
		return OPTIONS_RUN;
	case OPT_QUIET:
		cfg->quiet = true;
		return OPTIONS_RUN;
	case OPT_CC:
		return parse_cc(value, cfg);
	case OPT_CC_RATE:
		return parse_rate(value, &cfg->cc_const_rate);
	case OPT_ECN:
		return parse_ecn(value, opts);
	case OPT_HELP:
		fputs(usage_text, stdout);
		return OPTIONS_DONE;
	case OPT_VERSION:
		printf("tas %s\n", TAS_VERSION);
		return OPTIONS_DONE;
	}
	return OPTIONS_BAD;
}

/* getopt returned '?' or ':'.  A long option always advanced optind past
 * itself; an unknown short option is known only by optopt. */
static enum options_result refuse_option(int result, const char *long_text)
{
	int name_length = (int)strcspn(long_text, "=");

	if (result == ':')
		fprintf(stderr, "tas: %s needs a value (see tas --help)\n",
			long_text);
	else if (optopt == 0)
		fprintf(stderr,
			"tas: unknown or ambiguous option '%.*s' (see tas --help)\n",
			name_length, long_text);
	else if (strchr("hqV", optopt) == NULL && optopt < OPT_IP)
		fprintf(stderr, "tas: unknown option '-%c' (see tas --help)\n",
			optopt);
	else
		fprintf(stderr, "tas: %.*s takes no value (see tas --help)\n",
			name_length, long_text);
	return OPTIONS_BAD;
}

static void set_defaults(struct tas_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->cfg.fp_cores = 1;
	opts->cfg.rx_buf_size = BUF_SIZE_DEFAULT;
	opts->cfg.tx_buf_size = BUF_SIZE_DEFAULT;
	opts->cfg.app_region_size = APP_REGION_DEFAULT;
	opts->cfg.max_flows = MAX_FLOWS_DEFAULT;
	opts->cfg.mtu = MTU_DEFAULT;
	opts->cfg.socket_path = TAS_DEFAULT_SOCKET_PATH;
	opts->cfg.cc_algorithm = TCP_CC_CUBIC;
	opts->cfg.cc_const_rate = 1000000000u / 8;
}

/* ECN unless chosen: DCTCP needs it, the others take it when offered. */
static void default_ecn(struct tas_options *opts)
{
	bool dctcp = opts->cfg.cc_algorithm == TCP_CC_DCTCP ||
		     opts->cfg.cc_algorithm == TCP_CC_DCTCP_RATE;

	if (!opts->ecn_chosen)
		opts->cfg.ecn = dctcp ? SERVICE_ECN_ON : SERVICE_ECN_ACCEPT;
}

/* Checks that involve more than one option. */
static enum options_result check_combination(const struct service_config *cfg)
{
	uint32_t mask = prefix_mask(cfg->prefix_len);
	char gateway[INET_ADDRSTRLEN];

	if (cfg->local_ip == 0) {
		fprintf(stderr, "tas: --ip is required, e.g. --ip 10.0.0.1/24 "
				"(see tas --help)\n");
		return OPTIONS_BAD;
	}
	if (cfg->gateway_ip != 0) {
		inet_ntop(AF_INET, &cfg->gateway_ip, gateway, sizeof(gateway));
		if ((cfg->gateway_ip & mask) != (cfg->local_ip & mask) ||
		    cfg->gateway_ip == cfg->local_ip)
			return refuse("gateway", gateway,
				      "must be another address in the --ip subnet");
	}
	if (cfg->app_region_size <
	    (uint64_t)cfg->rx_buf_size + cfg->tx_buf_size) {
		fprintf(stderr, "tas: --app-region-size: must hold at least one "
				"flow's buffers (--rx-buf-size + --tx-buf-size)\n");
		return OPTIONS_BAD;
	}
	return OPTIONS_RUN;
}

enum options_result options_parse(int argc, char **argv,
				  struct tas_options *opts)
{
	enum options_result result;

	set_defaults(opts);
	opterr = 0;
	optind = 0; /* glibc: start a fresh scan */
	for (;;) {
		int before = optind == 0 ? 1 : optind;
		/* '+': stop at the first non-option; ':': report a missing
		 * value as ':' rather than '?'. */
		int option = getopt_long(argc, argv, "+:hqV", long_options, NULL);

		if (option == -1) {
			bool saw_separator = optind == before + 1 &&
					     strcmp(argv[before], "--") == 0;

			if (optind < argc && !saw_separator) {
				fprintf(stderr,
					"tas: unexpected argument '%s' (EAL "
					"arguments go after --)\n",
					argv[optind]);
				return OPTIONS_BAD;
			}
			break;
		}
		if (option == '?' || option == ':')
			return refuse_option(option, argv[optind - 1]);
		result = parse_option(option, optarg, opts);
		if (result != OPTIONS_RUN)
			return result;
	}
	opts->eal_argc = argc - optind;
	opts->eal_argv = argv + optind;
	default_ecn(opts);
	return check_combination(&opts->cfg);
}
