#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *program_name = "tas-app";
static const char *usage_text = "";

void cli_init(const char *argv0, const char *usage)
{
	const char *slash = strrchr(argv0, '/');

	program_name = slash ? slash + 1 : argv0;
	usage_text = usage;
}

const char *cli_program(void)
{
	return program_name;
}

noreturn void cli_help(void)
{
	printf("Usage: %s %s", program_name, usage_text);
	exit(0);
}

noreturn void cli_fail(const char *format, ...)
{
	va_list args;

	fprintf(stderr, "%s: ", program_name);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fprintf(stderr, "\nTry '%s --help'.\n", program_name);
	exit(2);
}

noreturn void cli_fail_getopt(void)
{
	fprintf(stderr, "Try '%s --help'.\n", program_name);
	exit(2);
}

void cli_no_positionals(int argc, char **argv, int optind_after)
{
	if (optind_after < argc)
		cli_fail("unexpected argument '%s'", argv[optind_after]);
}

/* strtoull accepts leading blanks and a minus sign; we want digits only. */
static int starts_with_digit(const char *arg)
{
	return arg[0] >= '0' && arg[0] <= '9';
}

uint64_t cli_parse_uint(const char *option, const char *arg, uint64_t min,
			uint64_t max)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = starts_with_digit(arg) ? strtoull(arg, &end, 10) : 0;
	if (!starts_with_digit(arg) || errno != 0 || *end != '\0')
		cli_fail("%s: '%s' is not a number", option, arg);
	if (value < min || value > max)
		cli_fail("%s: %s is out of range [%llu, %llu]", option, arg,
			 (unsigned long long)min, (unsigned long long)max);
	return value;
}

static int suffix_shift(const char *suffix)
{
	if (suffix[0] == '\0')
		return 0;
	if (suffix[1] != '\0')
		return -1;
	switch (suffix[0]) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	default: return -1;
	}
}

uint64_t cli_parse_size(const char *option, const char *arg)
{
	char *end;
	unsigned long long value;
	int shift;

	errno = 0;
	if (!starts_with_digit(arg))
		cli_fail("%s: '%s' is not a size (e.g. 4096, 64K, 1G)", option,
			 arg);
	value = strtoull(arg, &end, 10);
	shift = suffix_shift(end);
	if (errno != 0 || shift < 0)
		cli_fail("%s: '%s' is not a size (e.g. 4096, 64K, 1G)", option,
			 arg);
	if (value > (UINT64_MAX >> shift))
		cli_fail("%s: '%s' is too large", option, arg);
	return (uint64_t)value << shift;
}

double cli_parse_seconds(const char *option, const char *arg,
			 double min_seconds)
{
	char *end;
	double value;

	errno = 0;
	value = starts_with_digit(arg) ? strtod(arg, &end) : -1;
	if (!starts_with_digit(arg) || errno != 0 || *end != '\0' ||
	    value != value)
		cli_fail("%s: '%s' is not a number of seconds", option, arg);
	if (value < min_seconds || value > 1e6)
		cli_fail("%s: %s seconds is out of range [%g, 1e6]", option,
			 arg, min_seconds);
	return value;
}

uint16_t cli_parse_port(const char *option, const char *arg)
{
	return (uint16_t)cli_parse_uint(option, arg, 1, 65535);
}

uint32_t cli_parse_ipv4(const char *option, const char *arg)
{
	struct in_addr addr;

	if (inet_pton(AF_INET, arg, &addr) != 1)
		cli_fail("%s: '%s' is not an IPv4 address", option, arg);
	return ntohl(addr.s_addr);
}

void cli_parse_ip_port(const char *option, const char *arg, uint32_t *ip,
		       uint16_t *port)
{
	const char *colon = strrchr(arg, ':');
	char host[INET_ADDRSTRLEN];
	size_t host_len;

	if (!colon)
		cli_fail("%s: '%s' is not IP:PORT", option, arg);
	host_len = (size_t)(colon - arg);
	if (host_len == 0 || host_len >= sizeof(host))
		cli_fail("%s: '%s' is not IP:PORT", option, arg);
	memcpy(host, arg, host_len);
	host[host_len] = '\0';
	*ip = cli_parse_ipv4(option, host);
	*port = cli_parse_port(option, colon + 1);
}
