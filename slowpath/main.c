/*
 * tas: start-up and shutdown.
 *
 * Start-up order: options, EAL, the service's shared state, the port, the
 * fast-path cores' rings, the slow-path loop, TCP, the application
 * registry; then the cores are launched and the main thread becomes the
 * slow path.  On SIGINT/SIGTERM every connection is reset while the cores
 * still run, so the RSTs reach the peers, and everything is torn down in
 * reverse order; rte_eal_cleanup() returns the hugepages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "app_registry.h"
#include "eal_args.h"
#include "fastpath.h"
#include "flow_recovery.h"
#include "flow_table.h"
#include "log.h"
#include "options.h"
#include "port.h"
#include "quiesce.h"
#include "sp_loop.h"
#include "tcp.h"

/* How long the final RSTs may take to leave through the cores. */
#define SHUTDOWN_FLUSH_US 100000u
#define SHUTDOWN_POLL_US 500u

/* SIGINT and SIGTERM are read from a signalfd by the slow path.  They are
 * blocked here, before EAL creates its threads, so that every thread
 * inherits the mask and none of them is picked to take the signal.
 * Writes to a departed application's socket must fail, not kill us. */
static int block_signals(void)
{
	sigset_t signals;
	int ret;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGUSR1);
	ret = pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if (ret != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_err("cannot set up signal handling: %s",
			strerror(ret ? ret : errno));
		return -1;
	}
	return 0;
}

static void service_destroy(struct service *svc)
{
	if (svc->sp_doorbell_fd >= 0)
		close(svc->sp_doorbell_fd);
	if (svc->flow_table != NULL)
		flow_table_destroy(svc->flow_table);
	rte_free(svc->flows);
	rte_free(svc->flow_recovery);
	rte_free(svc);
}

static struct service *service_create(const struct service_config *cfg)
{
	struct service *svc = rte_zmalloc("tas_service", sizeof(*svc),
					  RTE_CACHE_LINE_SIZE);

	if (svc == NULL) {
		log_err("out of DPDK memory for the service state");
		return NULL;
	}
	svc->cfg = *cfg;
	svc->sp_doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (svc->sp_doorbell_fd < 0) {
		log_err("slow-path doorbell: %s", strerror(errno));
		service_destroy(svc);
		return NULL;
	}
	svc->flows = rte_zmalloc("tas_flows",
				 (size_t)cfg->max_flows * sizeof(struct flow_state),
				 RTE_CACHE_LINE_SIZE);
	svc->flow_recovery = rte_zmalloc(
		"tas_flow_recovery",
		(size_t)cfg->max_flows * sizeof(struct flow_recovery),
		RTE_CACHE_LINE_SIZE);
	svc->flow_table = flow_table_create(cfg->max_flows);
	if (svc->flows == NULL || svc->flow_recovery == NULL ||
	    svc->flow_table == NULL) {
		log_err("out of memory for the state of --max-flows %u",
			cfg->max_flows);
		service_destroy(svc);
		return NULL;
	}
	for (unsigned group = 0; group < FLOW_GROUPS; group++)
		svc->group_to_core[group] = (uint16_t)(group % cfg->fp_cores);
	return svc;
}

/* Core i runs on the i-th worker lcore and uses queue pair i. */
static int assign_lcores(struct service *svc)
{
	unsigned lcore_id, index = 0;

	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		if (index == svc->cfg.fp_cores)
			break;
		struct fp_core *core = &svc->cores[index];

		core->index = index;
		core->lcore_id = lcore_id;
		core->rx_queue = (uint16_t)index;
		core->tx_queue = (uint16_t)index;
		core->service = svc;
		core->doorbell_fd = -1;
		index++;
	}
	if (index < svc->cfg.fp_cores) {
		log_err("EAL has %u worker lcores but --fp-cores is %u: give "
			"EAL at least %u lcores (-l/--lcores after --)", index,
			svc->cfg.fp_cores, svc->cfg.fp_cores + 1);
		return -EINVAL;
	}
	return 0;
}

static void cores_free(struct service *svc, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		fp_core_free(&svc->cores[i]);
}

static int cores_init(struct service *svc)
{
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++) {
		int ret = fp_core_init(&svc->cores[i]);

		if (ret < 0) {
			log_err("fast-path core %u: %s", i, strerror(-ret));
			cores_free(svc, i);
			return ret;
		}
	}
	return 0;
}

static int cores_launch(struct service *svc)
{
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++) {
		struct fp_core *core = &svc->cores[i];
		int ret = rte_eal_remote_launch(fp_core_main, core,
						core->lcore_id);

		if (ret < 0) {
			log_err("cannot start fast-path core %u on lcore %u: %s",
				i, core->lcore_id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void cores_stop(struct service *svc)
{
	svc->stopping = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++)
		fp_kick(&svc->cores[i]);
	rte_eal_mp_wait_lcore();
}

static bool sp_tx_rings_empty(const struct service *svc)
{
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++)
		if (!rte_ring_empty(svc->cores[i].sp_tx_ring))
			return false;
	return true;
}

/* A core that dequeued a packet sends it in the same loop iteration, and
 * finishes that iteration before it looks at svc->stopping. */
static void flush_final_packets(const struct service *svc)
{
	uint64_t deadline = fp_now_us() + SHUTDOWN_FLUSH_US;

	while (!sp_tx_rings_empty(svc) && fp_now_us() < deadline)
		usleep(SHUTDOWN_POLL_US);
}

static void log_ready(const struct service *svc)
{
	const struct service_config *cfg = &svc->cfg;
	char ip[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN] = "none";
	char mac[RTE_ETHER_ADDR_FMT_SIZE], port_name[RTE_ETH_NAME_MAX_LEN];
	char lcores[16 * TAS_MAX_FP_CORES];
	struct rte_eth_dev_info info;
	size_t used = 0;

	inet_ntop(AF_INET, &cfg->local_ip, ip, sizeof(ip));
	if (cfg->gateway_ip != 0)
		inet_ntop(AF_INET, &cfg->gateway_ip, gateway, sizeof(gateway));
	rte_ether_format_addr(mac, sizeof(mac), &svc->local_mac);
	if (rte_eth_dev_get_name_by_port(svc->port_id, port_name) != 0)
		snprintf(port_name, sizeof(port_name), "?");
	if (rte_eth_dev_info_get(svc->port_id, &info) != 0)
		info.driver_name = "?";
	lcores[0] = '\0';
	for (unsigned i = 0; i < cfg->fp_cores; i++)
		used += (size_t)snprintf(lcores + used, sizeof(lcores) - used,
					 "%s%u", i ? "," : "",
					 svc->cores[i].lcore_id);

	log_info("ready: %s/%u gateway %s, MAC %s, port %u %s (%s), "
		 "%u fast-path core%s on lcore %s, rx interrupts %s, checksum "
		 "offload rx %s tx %s, socket %s",
		 ip, cfg->prefix_len, gateway, mac, svc->port_id, port_name,
		 info.driver_name, cfg->fp_cores, cfg->fp_cores > 1 ? "s" : "",
		 lcores, svc->rx_interrupts ? "yes" : "no",
		 svc->rx_csum_offload ? "yes" : "no",
		 svc->tx_csum_offload ? "yes" : "no", cfg->socket_path);
}

/* Serve until a signal, reset every connection, stop the cores. */
static int serve(struct service *svc)
{
	int status = EXIT_SUCCESS;

	if (cores_launch(svc) == 0) {
		log_ready(svc);
		sp_loop_run(svc);
		log_info("stopping: resetting all connections");
	} else {
		status = EXIT_FAILURE;
	}
	tcp_shutdown_all(svc);
	flush_final_packets(svc);
	cores_stop(svc);
	return status;
}

static int run_service(const struct service_config *cfg,
		       bool device_named)
{
	struct service *svc = service_create(cfg);
	int status = EXIT_FAILURE;

	if (svc == NULL)
		return EXIT_FAILURE;
	if (assign_lcores(svc) < 0 || port_init(svc, !device_named) < 0)
		goto destroy_service;
	if (cores_init(svc) < 0)
		goto close_port;
	if (sp_loop_init(svc) < 0)
		goto free_cores;
	if (tcp_init(svc) < 0)
		goto drain_deferred;
	if (app_registry_init(svc) < 0)
		goto fini_tcp;

	status = serve(svc);
	app_registry_fini(svc);
fini_tcp:
	tcp_fini(svc);
drain_deferred:
	sp_defer_drain(svc);
	sp_loop_fini();
free_cores:
	cores_free(svc, cfg->fp_cores);
close_port:
	port_close(svc);
destroy_service:
	service_destroy(svc);
	return status;
}

int main(int argc, char **argv)
{
	struct tas_options opts;
	struct eal_args eal;
	char eal_text[2048];
	int status;

	switch (options_parse(argc, argv, &opts)) {
	case OPTIONS_DONE:
		return EXIT_SUCCESS;
	case OPTIONS_BAD:
		return OPTIONS_EXIT_USAGE;
	case OPTIONS_RUN:
		break;
	}
	log_set_quiet(opts.cfg.quiet);
	opts.cfg.wake_iface = opts.iface;
	if (block_signals() < 0 || eal_args_build(&opts, &eal) < 0)
		return EXIT_FAILURE;
	eal_args_format(&eal, eal_text, sizeof(eal_text));
	log_info("EAL arguments: %s", eal_text);

	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		log_err("DPDK initialisation failed: %s (EAL arguments: %s)",
			rte_strerror(rte_errno), eal_text);
		eal_args_free(&eal);
		return EXIT_FAILURE;
	}
	status = run_service(&opts.cfg, eal.names_device);
	rte_eal_cleanup();
	eal_args_free(&eal);
	return status;
}
