/*
 * The service's DPDK port (port.h).
 *
 * Devices differ widely (hardware NICs, af_packet, tap, af_xdp), so the
 * port asks for what the fast path can use and settles for what the
 * device has: checksum offloads only if offered, RSS only with several
 * queues and a device that hashes TCP, rx interrupts only if configuring
 * and setting up the queues with them works.
 */
#include "port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "log.h"

#define PORT_RX_DESC 1024u
#define PORT_TX_DESC 1024u
#define POOL_CACHE_SIZE 256u
/* Mbufs a core's rings may hold: exceptions (1024), slow-path tx (1024)
 * and redirects (2048), see fastpath/fp_core.c. */
#define POOL_RING_MBUFS_PER_CORE 4096u
/* Mbufs the slow path may hold (packets waiting for ARP, in flight). */
#define POOL_SLOWPATH_MBUFS 2048u
/* Per-mbuf overhead beyond the data room: struct rte_mbuf and the
 * mempool's object header, rounded up. */
#define POOL_MBUF_OVERHEAD 192u
#define LINK_WAIT_MS 3000u
#define LINK_POLL_MS 10u

#define FALLBACK_VDEV "net_tap0,iface=tas0"

static uint32_t frame_length(const struct service_config *cfg)
{
	return (uint32_t)cfg->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
}

/* One frame of the configured MTU (even VLAN-tagged) fits a single mbuf:
 * the fast path does not handle chained mbufs. */
static uint16_t mbuf_data_room(const struct service_config *cfg)
{
	uint32_t room = RTE_PKTMBUF_HEADROOM + frame_length(cfg) + RTE_VLAN_HLEN;

	return (uint16_t)RTE_MAX(room, (uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE);
}

/* Every mbuf that can be out of the pool at once, plus the per-lcore
 * caches (which can hold up to 1.5 times their size). */
static uint32_t mbuf_count(unsigned fp_cores, uint16_t rx_desc,
			   uint16_t tx_desc)
{
	uint32_t per_core = (uint32_t)rx_desc + tx_desc +
			    POOL_RING_MBUFS_PER_CORE + 2 * FP_BURST;
	uint32_t caches = (fp_cores + 1) * (POOL_CACHE_SIZE * 3 / 2);

	return POOL_SLOWPATH_MBUFS + fp_cores * per_core + caches;
}

uint64_t port_pool_bytes(const struct service_config *cfg)
{
	return (uint64_t)mbuf_count(cfg->fp_cores, PORT_RX_DESC, PORT_TX_DESC) *
	       (mbuf_data_room(cfg) + POOL_MBUF_OVERHEAD);
}

static int select_port(uint16_t *port_id, bool create_default)
{
	uint16_t ports = rte_eth_dev_count_avail();
	int ret;

	if (ports == 0 && !create_default) {
		log_err("no DPDK port: the device named with --iface, --vdev "
			"or -a could not be used (see the messages above)");
		return -ENODEV;
	}
	if (ports == 0) {
		log_info("no DPDK port found: creating virtual device %s "
			 "(kernel interface tas0)", FALLBACK_VDEV);
		ret = rte_dev_probe(FALLBACK_VDEV);
		if (ret < 0) {
			log_err("cannot create %s: %s", FALLBACK_VDEV,
				rte_strerror(-ret));
			return ret;
		}
	} else if (ports > 1) {
		log_info("%u DPDK ports found: using the first", ports);
	}
	*port_id = (uint16_t)rte_eth_find_next_owned_by(0, RTE_ETH_DEV_NO_OWNER);
	if (*port_id >= RTE_MAX_ETHPORTS) {
		log_err("no usable DPDK port");
		return -ENODEV;
	}
	return 0;
}

static bool has_offloads(uint64_t capabilities, uint64_t wanted)
{
	return (capabilities & wanted) == wanted;
}

static int check_device_limits(const struct service *svc,
			       const struct rte_eth_dev_info *info)
{
	unsigned cores = svc->cfg.fp_cores;

	if (info->max_rx_queues < cores || info->max_tx_queues < cores) {
		log_err("port %u (%s) has at most %u rx and %u tx queues, but "
			"--fp-cores %u needs %u of each", svc->port_id,
			info->driver_name, info->max_rx_queues,
			info->max_tx_queues, cores, cores);
		return -EINVAL;
	}
	if (svc->cfg.mtu < info->min_mtu || svc->cfg.mtu > info->max_mtu) {
		log_err("port %u (%s) supports an MTU from %u to %u, not "
			"--mtu %u", svc->port_id, info->driver_name,
			info->min_mtu, info->max_mtu, svc->cfg.mtu);
		return -EINVAL;
	}
	if (frame_length(&svc->cfg) > info->max_rx_pktlen) {
		log_err("port %u (%s) receives frames of at most %u bytes, so "
			"--mtu %u (a %u-byte frame) is too large", svc->port_id,
			info->driver_name, info->max_rx_pktlen, svc->cfg.mtu,
			frame_length(&svc->cfg));
		return -EINVAL;
	}
	return 0;
}

static void choose_port_conf(struct service *svc,
			     const struct rte_eth_dev_info *info,
			     struct rte_eth_conf *conf)
{
	const uint64_t rx_csum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
				 RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	const uint64_t tx_csum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
				 RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	const uint64_t rss_tcp = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP;

	memset(conf, 0, sizeof(*conf));
	conf->rxmode.mtu = svc->cfg.mtu;
	svc->rx_csum_offload = has_offloads(info->rx_offload_capa, rx_csum);
	if (svc->rx_csum_offload)
		conf->rxmode.offloads |= rx_csum;
	svc->tx_csum_offload = has_offloads(info->tx_offload_capa, tx_csum);
	if (svc->tx_csum_offload)
		conf->txmode.offloads |= tx_csum;

	/* With several queues, spread flows in hardware where possible; the
	 * fast path forwards packets that land on a core not owning them. */
	if (svc->cfg.fp_cores > 1 && (info->flow_type_rss_offloads & rss_tcp)) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf =
			info->flow_type_rss_offloads & rss_tcp;
	}
}

/* Configure the device and its queues; -errno on the first failure. */
static int configure_queues(struct service *svc, const struct rte_eth_conf *conf,
			    uint16_t rx_desc, uint16_t tx_desc)
{
	uint16_t queues = (uint16_t)svc->cfg.fp_cores;
	int socket = rte_eth_dev_socket_id(svc->port_id);
	int ret;

	ret = rte_eth_dev_configure(svc->port_id, queues, queues, conf);
	if (ret < 0)
		return ret;
	for (uint16_t queue = 0; queue < queues; queue++) {
		ret = rte_eth_rx_queue_setup(svc->port_id, queue, rx_desc,
					     (unsigned)socket, NULL,
					     svc->pktmbuf_pool);
		if (ret < 0)
			return ret;
		ret = rte_eth_tx_queue_setup(svc->port_id, queue, tx_desc,
					     (unsigned)socket, NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Configuring with rx interrupts succeeded; the driver must also hand out
 * a file descriptor per queue, or the cores cannot sleep on them.  (Some
 * drivers, like tap, have such a descriptor but no rx_intr_enable: it
 * simply becomes readable with the queue.) */
static bool rx_interrupts_work(uint16_t port_id, unsigned queues)
{
	/* ethdev logs an error for a driver without them; for us that is
	 * an answer, not an error. */
	int ethdev_log = rte_log_register("lib.ethdev");
	int saved_level = rte_log_get_level((uint32_t)ethdev_log);
	bool all_queues = true;

	rte_log_set_level((uint32_t)ethdev_log, RTE_LOG_CRIT);
	for (uint16_t queue = 0; queue < queues && all_queues; queue++)
		all_queues = rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, queue) >= 0;
	rte_log_set_level((uint32_t)ethdev_log, (uint32_t)saved_level);
	return all_queues;
}

static int create_pool(struct service *svc, uint16_t rx_desc, uint16_t tx_desc)
{
	uint32_t count = mbuf_count(svc->cfg.fp_cores, rx_desc, tx_desc);
	int socket = rte_eth_dev_socket_id(svc->port_id);

	svc->pktmbuf_pool = rte_pktmbuf_pool_create(
		"tas_pktmbuf", count, POOL_CACHE_SIZE, 0,
		mbuf_data_room(&svc->cfg), socket < 0 ? SOCKET_ID_ANY : socket);
	if (svc->pktmbuf_pool == NULL) {
		log_err("cannot create a pool of %u packet buffers: %s "
			"(hugepages reserved? try --no-huge)", count,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

static void wait_for_link(uint16_t port_id)
{
	struct rte_eth_link link;

	for (unsigned waited = 0;; waited += LINK_POLL_MS) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			break;
		if (waited >= LINK_WAIT_MS) {
			log_warn("port %u: link still down after %u ms; "
				 "continuing", port_id, LINK_WAIT_MS);
			return;
		}
		usleep(LINK_POLL_MS * 1000);
	}
	log_info("port %u: link up, %u Mbps, %s duplex", port_id,
		 link.link_speed,
		 link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full" : "half");
}

/* Configure with rx interrupts if possible, else without. */
static int configure_port(struct service *svc, struct rte_eth_conf *conf,
			  uint16_t rx_desc, uint16_t tx_desc)
{
	int ret;

	conf->intr_conf.rxq = 1;
	ret = configure_queues(svc, conf, rx_desc, tx_desc);
	if (ret < 0) {
		int with_interrupts = ret;

		conf->intr_conf.rxq = 0;
		ret = configure_queues(svc, conf, rx_desc, tx_desc);
		if (ret == 0)
			log_info("port %u: no rx interrupts (%s): idle cores "
				 "are woken by %s", svc->port_id,
				 rte_strerror(-with_interrupts),
				 svc->cfg.wake_iface != NULL
					 ? "a packet socket on the interface"
					 : "a timeout");
	}
	if (ret < 0)
		log_err("port %u: configuring %u queues failed: %s",
			svc->port_id, svc->cfg.fp_cores, rte_strerror(-ret));
	svc->rx_interrupts = conf->intr_conf.rxq == 1;
	return ret;
}

int port_init(struct service *svc, bool create_default)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t rx_desc = PORT_RX_DESC, tx_desc = PORT_TX_DESC;
	int ret;

	ret = select_port(&svc->port_id, create_default);
	if (ret < 0)
		return ret;
	ret = rte_eth_dev_info_get(svc->port_id, &info);
	if (ret < 0) {
		log_err("port %u: no device information: %s", svc->port_id,
			rte_strerror(-ret));
		return ret;
	}
	ret = check_device_limits(svc, &info);
	if (ret < 0)
		return ret;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(svc->port_id, &rx_desc, &tx_desc);
	if (ret < 0)
		return ret;
	ret = create_pool(svc, rx_desc, tx_desc);
	if (ret < 0)
		return ret;

	choose_port_conf(svc, &info, &conf);
	ret = configure_port(svc, &conf, rx_desc, tx_desc);
	if (ret < 0)
		goto close_port;
	ret = rte_eth_promiscuous_disable(svc->port_id);
	if (ret < 0 && ret != -ENOTSUP)
		log_warn("port %u: cannot turn promiscuous mode off: %s",
			 svc->port_id, rte_strerror(-ret));
	ret = rte_eth_macaddr_get(svc->port_id, &svc->local_mac);
	if (ret < 0) {
		log_err("port %u: no MAC address: %s", svc->port_id,
			rte_strerror(-ret));
		goto close_port;
	}
	ret = rte_eth_dev_start(svc->port_id);
	if (ret < 0) {
		log_err("port %u: start failed: %s", svc->port_id,
			rte_strerror(-ret));
		goto close_port;
	}
	if (svc->rx_interrupts &&
	    !rx_interrupts_work(svc->port_id, svc->cfg.fp_cores)) {
		log_info("port %u: driver %s has no rx interrupts: idle cores "
			 "are woken by %s", svc->port_id, info.driver_name,
			 svc->cfg.wake_iface != NULL
				 ? "a packet socket on the interface"
				 : "a timeout");
		svc->rx_interrupts = false;
	}
	wait_for_link(svc->port_id);
	return 0;

close_port:
	rte_eth_dev_close(svc->port_id);
	rte_mempool_free(svc->pktmbuf_pool);
	svc->pktmbuf_pool = NULL;
	return ret;
}

void port_close(struct service *svc)
{
	int ret = rte_eth_dev_stop(svc->port_id);

	if (ret < 0)
		log_warn("port %u: stop failed: %s", svc->port_id,
			 rte_strerror(-ret));
	rte_eth_dev_close(svc->port_id);
	rte_mempool_free(svc->pktmbuf_pool);
	svc->pktmbuf_pool = NULL;
}
