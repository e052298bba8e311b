/* Command line of the echo servers (tas-echo-server, linux-echo-server). */
#ifndef TAS_APPS_ECHO_OPTIONS_H
#define TAS_APPS_ECHO_OPTIONS_H

#include <stdint.h>

struct echo_options {
	uint16_t port;
	uint32_t backlog;
	unsigned threads;
};

/* Parse argv; exits 2 on bad arguments, 0 after --help. */
void echo_options_parse(struct echo_options *options, int argc, char **argv);

/* The line printed on exit. */
void echo_report(uint64_t connections, uint64_t bytes);

#endif /* TAS_APPS_ECHO_OPTIONS_H */
