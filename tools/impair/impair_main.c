/*
 * tas-impair: a user-space impairment stage (the kernel here has no
 * netem) bridging two interfaces, A and B.  Frames from A to B and from B
 * to A are dropped, delayed, duplicated, corrupted, reordered, rate
 * limited or CE-marked as each direction's SPEC says, decided by a seeded
 * generator so that a run can be repeated.
 *
 * One thread; it sleeps in ppoll() until a frame arrives, the next queued
 * frame is due, or a signal comes (the machines have two cores: a
 * busy-polling stage would take one from the systems under test).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>

#include "cli.h"
#include "impair_link.h"
#include "impair_path.h"
#include "impair_spec.h"
#include "mono_time.h"

/* Timer slack for the sleeps until a release: the default 50 us would
 * bunch up frames a rate limit spaces ~100 us apart. */
#define TIMER_SLACK_NS 10000ul

static const char usage[] =
	"--a IFACE --b IFACE [--seed N] [--a-to-b SPEC] [--b-to-a SPEC]\n"
	"\n"
	"Forward every frame between interfaces A and B (AF_PACKET), impaired\n"
	"in each direction as its SPEC says.  Prints 'ready' once both are\n"
	"bound; on SIGTERM or SIGINT prints one 'impair:' line of counters\n"
	"per direction and exits (backlog_peak and backlog_mean: the bytes\n"
	"waiting at the rate limiter that arriving frames found;\n"
	"queue_drop_first_us and _last_us: when its first and last tail drop\n"
	"happened, after the direction's first frame).\n"
	"\n"
	"  --a IFACE, --b IFACE  the two interfaces\n"
	"  --seed N              random decisions (default 1): the same seed and\n"
	"                        the same frames give the same decisions\n"
	"  --a-to-b SPEC         what frames from A to B suffer (default none)\n"
	"  --b-to-a SPEC         what frames from B to A suffer (default none)\n"
	"\n"
	"SPEC: comma-separated KEY=VALUE, any of\n"
	"  loss=P       drop P % of the frames (P a decimal number)\n"
	"  delay=T      delay every frame by T (us, ms or s: 10ms)\n"
	"  jitter=T     vary the delay uniformly by +-T, without reordering\n"
	"  reorder=P    hold P % of the frames back until reorder-gap frames\n"
	"               passed them, or 1 ms\n"
	"  reorder-gap=N  (default 3)\n"
	"  dup=P        send P % of the frames twice\n"
	"  corrupt=P    flip one bit of the TCP segment of P % of the IPv4/TCP\n"
	"               frames (the TCP checksum must catch it)\n"
	"  rate=R       serialise at R (kbit, mbit or gbit: 100mbit)\n"
	"  queue=S      bytes waiting at the rate limit before tail drop\n"
	"               (k, m, g binary suffixes; default 1m)\n"
	"  ecn=S        CE-mark ECT frames while more than S bytes wait\n"
	"  mark=P       CE-mark P % of the ECT frames at random\n"
	"Targeted drops (before everything else; the same frames on every run):\n"
	"  drop-syn=N     drop the first N SYNs (without ACK)\n"
	"  drop-synack=N  drop the first N SYN-ACKs\n"
	"  drop-fin=N     drop the first N segments carrying FIN\n"
	"  drop-offset=B  in each TCP flow whose SYN or SYN-ACK passed this way,\n"
	"                 drop the first segment carrying stream byte B (0: the\n"
	"                 first after the SYN; k, m, g suffixes), once\n";

struct options {
	const char *a;
	const char *b;
	uint64_t seed;
	struct impair_spec a_to_b;
	struct impair_spec b_to_a;
};

static void parse_spec(const char *option, const char *text,
		       struct impair_spec *spec)
{
	char why[IMPAIR_SPEC_WHY_MAX];

	if (impair_spec_parse(text, spec, why, sizeof(why)) != 0)
		cli_fail("%s: %s", option, why);
}

static void parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "a-to-b", required_argument, NULL, 'A' },
		{ "b-to-a", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option;

	*options = (struct options){ .seed = 1 };
	impair_spec_none(&options->a_to_b);
	impair_spec_none(&options->b_to_a);
	while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (option) {
		case 'a': options->a = optarg; break;
		case 'b': options->b = optarg; break;
		case 's':
			options->seed = cli_parse_uint("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'A': parse_spec("--a-to-b", optarg, &options->a_to_b); break;
		case 'B': parse_spec("--b-to-a", optarg, &options->b_to_a); break;
		case 'h': cli_help();
		default: cli_fail_getopt();
		}
	}
	cli_no_positionals(argc, argv, optind);
	if (!options->a || !options->b)
		cli_fail("--a and --b are required");
	if (strcmp(options->a, options->b) == 0)
		cli_fail("--a and --b name the same interface '%s'", options->a);
}

static void open_link(struct impair_link *link, const char *name)
{
	char why[256];
	int rc = impair_link_open(link, name, why, sizeof(why));

	if (rc == -2)
		cli_fail("%s", why);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", cli_program(), why);
		exit(1);
	}
}

static int stop_signal_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "%s: signalfd: %s\n", cli_program(), strerror(errno));
		exit(1);
	}
	return fd;
}

static uint64_t earliest(uint64_t x, uint64_t y)
{
	return x < y ? x : y;
}

/* Report what failed (an interface's name, or a call); returns 1. */
static int failed(const char *what, int error)
{
	fprintf(stderr, "%s: %s: %s\n", cli_program(), what, strerror(error));
	return 1;
}

/* ppoll() until an event on fds or until wake_ns (UINT64_MAX: no limit). */
static int sleep_until(struct pollfd *fds, nfds_t count, uint64_t wake_ns)
{
	struct timespec timeout, *wait = NULL;

	if (wake_ns != UINT64_MAX) {
		uint64_t now = mono_now_ns();
		uint64_t left = wake_ns > now ? wake_ns - now : 0;

		timeout = (struct timespec){ .tv_sec = (time_t)(left / NS_PER_SEC),
					     .tv_nsec = (long)(left % NS_PER_SEC) };
		wait = &timeout;
	}
	return ppoll(fds, count, wait, NULL) < 0 && errno != EINTR ? -1 : 0;
}

/* Forward until a stop signal (returns 0) or a failure (returns 1). */
static int run(struct impair_path *a_to_b, struct impair_path *b_to_a,
	       int signal_fd)
{
	struct impair_path *receiving[2] = { a_to_b, b_to_a };
	struct impair_path *sending[2] = { b_to_a, a_to_b };   /* out of A, B */

	for (;;) {
		struct pollfd fds[3];
		uint64_t now;
		int error;

		for (int i = 0; i < 2; i++)
			fds[i] = (struct pollfd){
				.fd = receiving[i]->rx->fd,
				.events = POLLIN | (sending[i]->tx_blocked ? POLLOUT : 0),
			};
		fds[2] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
		if (sleep_until(fds, 3, earliest(impair_path_next_wake(a_to_b),
						 impair_path_next_wake(b_to_a))) != 0)
			return failed("ppoll", errno);
		if (fds[2].revents)
			return 0;

		now = mono_now_ns();
		for (int i = 0; i < 2; i++) {
			if (fds[i].revents & (POLLERR | POLLNVAL))
				return failed(receiving[i]->rx->name,
					      impair_link_error(receiving[i]->rx));
			if (fds[i].revents & POLLOUT)
				sending[i]->tx_blocked = false;
			if ((fds[i].revents & POLLIN) &&
			    (error = impair_path_receive(receiving[i], now)) != 0)
				return failed(receiving[i]->rx->name, -error);
		}
		for (int i = 0; i < 2; i++) {
			if ((error = impair_path_transmit(receiving[i], now)) != 0)
				return failed(receiving[i]->tx->name, -error);
		}
	}
}

static void print_counters(const struct impair_path *path)
{
	const struct impair_counters *rules = &path->rules.counters;
	const struct impair_targets *targets = &path->rules.targets;
	const struct {
		const char *key;
		uint64_t value;
	} fields[] = {
		{ "frames", path->counters.frames },
		{ "sent", path->counters.sent },
		{ "dropped", rules->dropped },
		{ "duplicated", rules->duplicated },
		{ "corrupted", rules->corrupted },
		{ "reordered", rules->reordered },
		{ "marked", rules->marked },
		{ "queue_drops", rules->queue_drops },
		{ "queue_drop_first_us", rules->queue_drop_first_ns / 1000 },
		{ "queue_drop_last_us", rules->queue_drop_last_ns / 1000 },
		{ "backlog_peak", rules->backlog_peak },
		{ "backlog_mean", rules->limited ? rules->backlog_sum / rules->limited : 0 },
		{ "syn_drops", targets->syn_drops },
		{ "synack_drops", targets->synack_drops },
		{ "fin_drops", targets->fin_drops },
		{ "offset_drops", targets->offset_drops },
		{ "overflow_drops", path->counters.overflow_drops },
		{ "tx_errors", path->counters.tx_errors },
		{ "unsent", impair_path_unsent(path) },
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		printf(" %s_%s=%" PRIu64, path->name, fields[i].key, fields[i].value);
}

int main(int argc, char **argv)
{
	struct options options;
	struct impair_link a, b;
	struct impair_path a_to_b, b_to_a;
	char why[256];
	int signal_fd, rc;

	cli_init(argv[0], usage);
	parse_options(argc, argv, &options);
	signal_fd = stop_signal_fd();
	prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS);
	open_link(&a, options.a);
	open_link(&b, options.b);
	if (impair_path_init(&a_to_b, "a_to_b", &a, &b, &options.a_to_b,
			     options.seed, 0, why, sizeof(why)) != 0 ||
	    impair_path_init(&b_to_a, "b_to_a", &b, &a, &options.b_to_a,
			     options.seed, 1, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", cli_program(), why);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	rc = run(&a_to_b, &b_to_a, signal_fd);
	printf("impair:");
	print_counters(&a_to_b);
	print_counters(&b_to_a);
	printf("\n");
	fflush(stdout);
	impair_path_destroy(&a_to_b);
	impair_path_destroy(&b_to_a);
	impair_link_close(&a);
	impair_link_close(&b);
	return rc;
}
