/*
 * ARP (RFC 826) for the service's one IPv4 address: answers requests for
 * cfg.local_ip, learns from every ARP frame as RFC 826's merge rule says,
 * and resolves next hops (the destination on the local subnet, else the
 * gateway) with retries, for connections being opened.
 */
#ifndef TAS_ARP_H
#define TAS_ARP_H

#include <stdint.h>

#include <rte_ether.h>

#include "service.h"

#define ARP_TRIES 3
#define ARP_RETRY_US 1000000ull
#define ARP_LIFETIME_US 300000000ull      /* 5 minutes */
#define ARP_REFRESH_BEFORE_US 30000000ull /* re-ask in the last 30 s */

struct pkt_info;

/* Called when a resolution that arp_resolve() started ends: mac is the
 * answer, or NULL after ARP_TRIES unanswered requests. */
typedef void (*arp_done_fn)(struct service *svc, uint32_t ip,
			    const struct rte_ether_addr *mac);

int arp_init(struct service *svc, arp_done_fn done);
void arp_fini(void);

/* The next hop towards dst_ip (network byte order): dst_ip itself on the
 * local subnet (or when it is our own address), else the gateway.
 * 0, or -ENETUNREACH when off-link without a gateway. */
int arp_next_hop(const struct service *svc, uint32_t dst_ip, uint32_t *next_hop);

/* The MAC of ip: 0 and *mac set if known (our own MAC for our own
 * address), -EAGAIN if a request is out (the done callback follows), or
 * -ENOBUFS if the cache is full of pending resolutions. */
int arp_resolve(struct service *svc, uint32_t ip, struct rte_ether_addr *mac,
		uint64_t now_us);

/* Learn from an ARP frame pkt_parse() classified PKT_ARP, reply to a
 * request for our address. */
void arp_input(struct service *svc, const struct pkt_info *pkt, uint64_t now_us);

/* Retransmit or give up pending requests; the next deadline or UINT64_MAX. */
uint64_t arp_timers_run(struct service *svc, uint64_t now_us);

#endif /* TAS_ARP_H */
