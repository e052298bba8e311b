/* Command line of the content-verified bulk transfer programs (tas-bulk,
 * linux-bulk). */
#ifndef TAS_APPS_BULK_OPTIONS_H
#define TAS_APPS_BULK_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

enum bulk_role { BULK_SERVER, BULK_CLIENT };

/* When a connection sends its FIN. */
enum bulk_close {
	BULK_CLOSE_FIRST, /* as soon as everything is sent */
	BULK_CLOSE_LAST,  /* once everything is sent and the peer's FIN came */
};

struct bulk_options {
	enum bulk_role role;
	uint32_t ip;          /* server: listen address; client: remote */
	uint16_t port;
	uint32_t bind_ip;     /* linux-bulk --ip-bind: local address, 0 any */
	unsigned conns;
	uint64_t send;        /* bytes each connection sends */
	uint64_t recv;        /* bytes each connection expects */
	uint64_t seed;        /* client->server stream; server->client: +1 */
	enum bulk_close close;
	bool abort;           /* reset after sending abort_after bytes */
	uint64_t abort_after;
	bool expect_reset;    /* success = every connection got reset */
	bool echo;            /* the peer echoes: receive what we send */
	double timeout;       /* seconds */
	/* Stop reading for pause_secs once pause_after bytes arrived (each
	 * connection, once), so that the peer faces a zero window. */
	bool pause;
	uint64_t pause_after;
	double pause_secs;
	bool per_conn;        /* a result line per connection too */
};

/* Parse argv; exits 2 on bad arguments, 0 after --help.  --ip-bind is
 * accepted only where the transport can honour it. */
void bulk_options_parse(struct bulk_options *options, int argc, char **argv,
			bool ip_bind_supported);

/* Pattern seeds of what this side sends and receives. */
uint64_t bulk_tx_seed(const struct bulk_options *options);
uint64_t bulk_rx_seed(const struct bulk_options *options);

#endif /* TAS_APPS_BULK_OPTIONS_H */
