/*
 * The service's DPDK port: one ethdev with an rx and a tx queue per
 * fast-path core, and the mbuf pool every packet comes from.
 */
#ifndef TAS_PORT_H
#define TAS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

/* Pick the port (the first one; if EAL found none and create_default,
 * create the tap device tas0), create svc->pktmbuf_pool, configure cfg.fp_cores rx and tx queues
 * with the checksum offloads and rx interrupts the device has, start it
 * and wait (bounded) for the link.  Fills port_id, local_mac,
 * pktmbuf_pool, rx/tx_csum_offload and rx_interrupts.  0, or -errno with
 * the reason logged. */
int port_init(struct service *svc, bool create_default);

/* Stop and close the port and free the pool (cores stopped). */
void port_close(struct service *svc);

/* Bytes of DPDK memory the mbuf pool takes for this configuration. */
uint64_t port_pool_bytes(const struct service_config *cfg);

#endif /* TAS_PORT_H */
