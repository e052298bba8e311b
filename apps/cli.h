/*
 * Command-line helpers shared by the applications: typed option values
 * with clear messages.  Every parse failure prints
 * "<program>: <option>: <why>" and exits with status 2.
 */
#ifndef TAS_APPS_CLI_H
#define TAS_APPS_CLI_H

#include <stdint.h>
#include <stdnoreturn.h>

/* Remember the program name (basename of argv0) and its --help text,
 * which is printed after "Usage: <program> ". */
void cli_init(const char *argv0, const char *usage);

const char *cli_program(void);

/* Print the usage text to stdout and exit 0. */
noreturn void cli_help(void);

/* Print "<program>: <message>" and a hint about --help; exit 2. */
noreturn void cli_fail(const char *format, ...)
	__attribute__((format(printf, 1, 2)));

/* Unsigned decimal in [min, max]. */
uint64_t cli_parse_uint(const char *option, const char *arg, uint64_t min,
			uint64_t max);

/* Byte count with an optional binary suffix K, M or G (e.g. 64K, 1G). */
uint64_t cli_parse_size(const char *option, const char *arg);

/* Seconds, fractions allowed, >= min_seconds. */
double cli_parse_seconds(const char *option, const char *arg,
			 double min_seconds);

/* TCP port 1..65535. */
uint16_t cli_parse_port(const char *option, const char *arg);

/* Dotted-quad IPv4 address, returned in host byte order. */
uint32_t cli_parse_ipv4(const char *option, const char *arg);

/* "A.B.C.D:PORT", both returned in host byte order. */
void cli_parse_ip_port(const char *option, const char *arg, uint32_t *ip,
		       uint16_t *port);

/* Call after getopt_long returned '?' or ':' (getopt already explained). */
noreturn void cli_fail_getopt(void);

/* Reject stray positional arguments left after option parsing. */
void cli_no_positionals(int argc, char **argv, int optind_after);

#endif /* TAS_APPS_CLI_H */
