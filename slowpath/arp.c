/*
 * ARP, RFC 826, over Ethernet for IPv4.  A small cache searched linearly:
 * the service talks to few next hops (the gateway and on-link peers it
 * connects to; peers that connect to us are answered at their frame's
 * source MAC and need no entry).
 */
#include "arp.h"

#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "fastpath.h"
#include "log.h"
#include "packet.h"

#define ARP_CACHE_SIZE 256

enum arp_entry_state {
	ARP_FREE = 0,
	ARP_RESOLVING,
	ARP_VALID,
};

struct arp_entry {
	enum arp_entry_state state;
	uint32_t ip;
	struct rte_ether_addr mac;
	uint64_t expires_us;      /* VALID */
	uint64_t refresh_sent_us; /* VALID: last refresh request, 0 none */
	uint64_t retry_us;        /* RESOLVING: next request */
	unsigned tries;           /* RESOLVING: requests sent */
};

static struct {
	arp_done_fn done;
	struct arp_entry cache[ARP_CACHE_SIZE];
} arp;

int arp_init(struct service *svc, arp_done_fn done)
{
	(void)svc;
	memset(&arp, 0, sizeof(arp));
	arp.done = done;
	return 0;
}

void arp_fini(void)
{
	memset(&arp, 0, sizeof(arp));
}

static uint32_t prefix_mask(uint8_t prefix_len)
{
	if (prefix_len == 0)
		return 0;
	if (prefix_len >= 32)
		return UINT32_MAX;
	return rte_cpu_to_be_32(UINT32_MAX << (32 - prefix_len));
}

int arp_next_hop(const struct service *svc, uint32_t dst_ip, uint32_t *next_hop)
{
	uint32_t mask = prefix_mask(svc->cfg.prefix_len);

	if (dst_ip == svc->cfg.local_ip ||
	    (dst_ip & mask) == (svc->cfg.local_ip & mask)) {
		*next_hop = dst_ip;
		return 0;
	}
	if (svc->cfg.gateway_ip == 0)
		return -ENETUNREACH;
	*next_hop = svc->cfg.gateway_ip;
	return 0;
}

static struct arp_entry *find_entry(uint32_t ip)
{
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++)
		if (arp.cache[i].state != ARP_FREE && arp.cache[i].ip == ip)
			return &arp.cache[i];
	return NULL;
}

/* A free entry, else the valid one closest to expiry; NULL if every entry
 * is a pending resolution. */
static struct arp_entry *new_entry(void)
{
	struct arp_entry *victim = NULL;

	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *entry = &arp.cache[i];
		if (entry->state == ARP_FREE)
			return entry;
		if (entry->state == ARP_VALID &&
		    (victim == NULL || entry->expires_us < victim->expires_us))
			victim = entry;
	}
	return victim;
}

static void send_arp(struct service *svc, uint16_t opcode,
		     const struct rte_ether_addr *dst_mac, uint32_t target_ip,
		     const struct rte_ether_addr *target_mac)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(svc->pktmbuf_pool);
	if (m == NULL)
		return;
	uint16_t len = sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr);
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	eth->dst_addr = *dst_mac;
	eth->src_addr = svc->local_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);

	struct rte_arp_hdr *hdr = (struct rte_arp_hdr *)(eth + 1);
	hdr->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	hdr->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	hdr->arp_hlen = RTE_ETHER_ADDR_LEN;
	hdr->arp_plen = sizeof(uint32_t);
	hdr->arp_opcode = rte_cpu_to_be_16(opcode);
	hdr->arp_data.arp_sha = svc->local_mac;
	hdr->arp_data.arp_sip = svc->cfg.local_ip;
	hdr->arp_data.arp_tha = *target_mac;
	hdr->arp_data.arp_tip = target_ip;
	fp_send_packet(&svc->cores[0], m);
}

static void send_request(struct service *svc, uint32_t ip)
{
	struct rte_ether_addr broadcast, unknown = { { 0 } };

	memset(broadcast.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
	send_arp(svc, RTE_ARP_OP_REQUEST, &broadcast, ip, &unknown);
}

int arp_resolve(struct service *svc, uint32_t ip, struct rte_ether_addr *mac,
		uint64_t now_us)
{
	if (ip == svc->cfg.local_ip) {
		/* Local delivery: the fast path loops frames to itself back. */
		*mac = svc->local_mac;
		return 0;
	}

	struct arp_entry *entry = find_entry(ip);
	if (entry != NULL && entry->state == ARP_VALID && entry->expires_us > now_us) {
		*mac = entry->mac;
		bool refresh_due = entry->expires_us - now_us < ARP_REFRESH_BEFORE_US;
		if (refresh_due && now_us - entry->refresh_sent_us >= ARP_RETRY_US) {
			entry->refresh_sent_us = now_us;
			send_request(svc, ip);
		}
		return 0;
	}
	if (entry != NULL && entry->state == ARP_RESOLVING)
		return -EAGAIN;

	if (entry == NULL)
		entry = new_entry();
	if (entry == NULL)
		return -ENOBUFS;
	*entry = (struct arp_entry){
		.state = ARP_RESOLVING,
		.ip = ip,
		.retry_us = now_us + ARP_RETRY_US,
		.tries = 1,
	};
	send_request(svc, ip);
	return -EAGAIN;
}

static bool is_ethernet_ipv4(const struct rte_arp_hdr *hdr)
{
	return hdr->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
	       hdr->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	       hdr->arp_hlen == RTE_ETHER_ADDR_LEN &&
	       hdr->arp_plen == sizeof(uint32_t);
}

static void learn(struct service *svc, struct arp_entry *entry, uint32_t ip,
		  const struct rte_ether_addr *mac, uint64_t now_us)
{
	bool was_resolving = entry->state == ARP_RESOLVING;

	*entry = (struct arp_entry){
		.state = ARP_VALID,
		.ip = ip,
		.mac = *mac,
		.expires_us = now_us + ARP_LIFETIME_US,
	};
	if (was_resolving && arp.done != NULL)
		arp.done(svc, ip, mac);
}

void arp_input(struct service *svc, const struct pkt_info *pkt, uint64_t now_us)
{
	const struct rte_arp_hdr *hdr = (const struct rte_arp_hdr *)pkt->payload;

	/* RFC 826 "Packet Reception": hardware and protocol type, lengths. */
	if (!is_ethernet_ipv4(hdr))
		return;
	uint32_t sender_ip = hdr->arp_data.arp_sip;
	struct rte_ether_addr sender_mac = hdr->arp_data.arp_sha;
	if (sender_ip == svc->cfg.local_ip) {
		log_warn("arp: another host claims our address");
		return;
	}
	bool usable_sender = sender_ip != 0 && rte_is_unicast_ether_addr(&sender_mac);

	/* Merge: an entry for the sender is updated, whoever the target. */
	bool merged = false;
	struct arp_entry *entry = usable_sender ? find_entry(sender_ip) : NULL;
	if (entry != NULL) {
		learn(svc, entry, sender_ip, &sender_mac, now_us);
		merged = true;
	}

	/* Am I the target?  Then add the sender if new, and answer requests. */
	if (hdr->arp_data.arp_tip != svc->cfg.local_ip)
		return;
	if (!merged && usable_sender) {
		entry = new_entry();
		if (entry != NULL)
			learn(svc, entry, sender_ip, &sender_mac, now_us);
	}
	if (hdr->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && usable_sender)
		send_arp(svc, RTE_ARP_OP_REPLY, &sender_mac, sender_ip, &sender_mac);
}

uint64_t arp_timers_run(struct service *svc, uint64_t now_us)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *entry = &arp.cache[i];
		if (entry->state != ARP_RESOLVING)
			continue;
		if (entry->retry_us <= now_us) {
			if (entry->tries >= ARP_TRIES) {
				uint32_t ip = entry->ip;
				entry->state = ARP_FREE;
				if (arp.done != NULL)
					arp.done(svc, ip, NULL);
				continue;
			}
			entry->tries++;
			entry->retry_us = now_us + ARP_RETRY_US;
			send_request(svc, entry->ip);
		}
		if (entry->retry_us < next)
			next = entry->retry_us;
	}
	return next;
}
