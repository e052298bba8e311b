/* Command line of the echo servers (tas-echo-server, linux-echo-server). */
#ifndef TAS_APPS_ECHO_OPTIONS_H
#define TAS_APPS_ECHO_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

struct echo_options {
	uint16_t port;
	uint32_t backlog;
	unsigned threads;
	unsigned workers;     /* processes forked after listening; 0: none */
};

/* Parse argv; exits 2 on bad arguments, 0 after --help.  --workers is
 * accepted only where the server implements it. */
void echo_options_parse(struct echo_options *options, int argc, char **argv,
			bool workers_supported);

/* The line printed on exit. */
void echo_report(uint64_t connections, uint64_t bytes);

#endif /* TAS_APPS_ECHO_OPTIONS_H */
