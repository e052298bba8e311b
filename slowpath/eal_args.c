/*
 * The EAL argument vector (eal_args.h).
 *
 * The user's arguments always win: tas adds an argument only if the user
 * gave none of the options that choose the same thing.
 */
#include "eal_args.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow_recovery.h"
#include "log.h"
#include "port.h"

#define MIB (UINT64_C(1) << 20)
/* EAL's own needs, rings, flow table and contexts beyond the pool and the
 * flow states, with room to spare. */
#define MEMORY_SLACK_MB 64u
#define NO_HUGE_MIN_MB 256u
#define HUGEPAGES_DIR "/sys/kernel/mm/hugepages"

/* Options the user may give after "--" that settle a choice tas would
 * otherwise make. */
static const char *const lcore_options[] = { "-l", "-c", "--lcores", NULL };
static const char *const allow_options[] = { "-a", "--allow", NULL };
static const char *const pci_options[] = { "-a", "--allow", "-b", "--block",
					   "--no-pci", NULL };
static const char *const memory_mode_options[] = {
	"--in-memory", "--no-shconf", "--no-huge", "--proc-type", NULL };
static const char *const memory_size_options[] = { "-m", "--socket-mem",
						   NULL };
static const char *const telemetry_options[] = { "--telemetry",
						 "--no-telemetry", NULL };
static const char *const no_huge_option[] = { "--no-huge", NULL };
static const char *const no_shconf_option[] = { "--no-shconf", NULL };
static const char *const vdev_option[] = { "--vdev", NULL };
static const char *const log_level_option[] = { "--log-level", NULL };

struct arg_vector {
	char **items;
	int count;
	int capacity;
	bool failed;   /* out of memory: the vector is incomplete */
};

static void push(struct arg_vector *vector, const char *text)
{
	char *copy;

	if (vector->failed)
		return;
	if (vector->count + 1 >= vector->capacity) {
		int capacity = vector->capacity ? vector->capacity * 2 : 32;
		char **items = realloc(vector->items,
				       (size_t)capacity * sizeof(*items));

		if (items == NULL) {
			vector->failed = true;
			return;
		}
		vector->items = items;
		vector->capacity = capacity;
	}
	copy = strdup(text);
	if (copy == NULL) {
		vector->failed = true;
		return;
	}
	vector->items[vector->count++] = copy;
	vector->items[vector->count] = NULL;
}

static void push_format(struct arg_vector *vector, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void push_format(struct arg_vector *vector, const char *format, ...)
{
	char text[256];
	va_list args;

	va_start(args, format);
	vsnprintf(text, sizeof(text), format, args);
	va_end(args);
	push(vector, text);
}

/* "--name", "--name=value", "-x" and "-xvalue" all count as option name. */
static bool is_option(const char *arg, const char *name)
{
	size_t length = strlen(name);

	if (strncmp(arg, name, length) != 0)
		return false;
	if (name[1] == '-')
		return arg[length] == '\0' || arg[length] == '=';
	return true;
}

static bool user_gave(const struct tas_options *opts,
		      const char *const names[])
{
	for (int i = 0; i < opts->eal_argc; i++)
		for (const char *const *name = names; *name != NULL; name++)
			if (is_option(opts->eal_argv[i], *name))
				return true;
	return false;
}

/* The main lcore on the first allowed CPU, one worker per fast-path core
 * on the others.  With too few CPUs, workers share the CPUs after the
 * first (or the only one) through an --lcores mapping. */
static int push_lcores(struct arg_vector *vector, unsigned fp_cores)
{
	cpu_set_t allowed;
	unsigned cpus[CPU_SETSIZE], cpu_count = 0;
	char list[1024];
	size_t used = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		log_err("cannot read the CPU affinity: %s", strerror(errno));
		return -errno;
	}
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			cpus[cpu_count++] = cpu;

	if (cpu_count > fp_cores) {
		for (unsigned lcore = 0; lcore <= fp_cores; lcore++)
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s%u", lcore ? "," : "",
						 cpus[lcore]);
		push(vector, "-l");
		push(vector, list);
		return 0;
	}

	log_info("%u fast-path cores on %u CPUs: cores share CPUs", fp_cores,
		 cpu_count);
	for (unsigned lcore = 0; lcore <= fp_cores; lcore++) {
		unsigned cpu = lcore == 0 || cpu_count == 1
				       ? cpus[0]
				       : cpus[1 + (lcore - 1) % (cpu_count - 1)];

		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%u@%u", lcore ? "," : "", lcore, cpu);
	}
	push(vector, "--lcores");
	push(vector, list);
	return 0;
}

/* DPDK memory tas needs: the mbuf pool, the flow states and slack. */
static uint64_t memory_needed_mb(const struct service_config *cfg)
{
	uint64_t bytes = port_pool_bytes(cfg) +
			 (uint64_t)cfg->max_flows *
				 (sizeof(struct flow_state) +
				  sizeof(struct flow_recovery)) * 2;

	return (bytes + MIB - 1) / MIB + MEMORY_SLACK_MB;
}

/* Free hugepages of all sizes, in bytes. */
static uint64_t free_hugepage_bytes(void)
{
	DIR *dir = opendir(HUGEPAGES_DIR);
	struct dirent *entry;
	uint64_t total = 0;

	if (dir == NULL)
		return 0;
	while ((entry = readdir(dir)) != NULL) {
		char path[512];
		unsigned long page_kb, pages;
		FILE *file;

		if (sscanf(entry->d_name, "hugepages-%lukB", &page_kb) != 1)
			continue;
		snprintf(path, sizeof(path), HUGEPAGES_DIR "/%s/free_hugepages",
			 entry->d_name);
		file = fopen(path, "r");
		if (file == NULL)
			continue;
		if (fscanf(file, "%lu", &pages) == 1)
			total += (uint64_t)pages * page_kb * 1024;
		fclose(file);
	}
	closedir(dir);
	return total;
}

/* Hugepages unless --no-huge, or unless too few are free: then tas still
 * starts, on ordinary memory, and says so. */
static bool use_no_huge(const struct tas_options *opts)
{
	uint64_t needed_mb, free_mb;

	if (opts->no_huge || user_gave(opts, no_huge_option))
		return true;
	if (user_gave(opts, memory_mode_options) ||
	    user_gave(opts, memory_size_options))
		return false;
	needed_mb = memory_needed_mb(&opts->cfg);
	free_mb = free_hugepage_bytes() / MIB;
	if (free_mb >= needed_mb)
		return false;
	log_warn("%" PRIu64 " MB of free hugepages, %" PRIu64 " MB needed: "
		 "running without hugepages (see tools/setup.sh)",
		 free_mb, needed_mb);
	return true;
}

static void push_memory(struct arg_vector *vector,
			const struct tas_options *opts)
{
	uint64_t size_mb;

	if (!use_no_huge(opts)) {
		if (!user_gave(opts, memory_mode_options))
			push(vector, "--in-memory");
		return;
	}
	/* EAL refuses --no-huge together with --in-memory. */
	if (!user_gave(opts, no_huge_option))
		push(vector, "--no-huge");
	if (!user_gave(opts, no_shconf_option))
		push(vector, "--no-shconf");
	if (!user_gave(opts, memory_size_options)) {
		size_mb = memory_needed_mb(&opts->cfg);
		push(vector, "-m");
		push_format(vector, "%" PRIu64,
			    size_mb < NO_HUGE_MIN_MB ? NO_HUGE_MIN_MB : size_mb);
	}
}

static bool names_vdev(const struct tas_options *opts)
{
	return opts->iface != NULL || opts->vdev_count > 0 ||
	       user_gave(opts, vdev_option);
}

static void push_devices(struct arg_vector *vector,
			 const struct tas_options *opts)
{

	if (opts->iface != NULL) {
		push(vector, "--vdev");
		push_format(vector,
			    "net_af_packet0,iface=%s,blocksz=65536,framesz=2048,"
			    "framecnt=4096,qdisc_bypass=1,qpairs=%u",
			    opts->iface, opts->cfg.fp_cores);
	}
	for (unsigned i = 0; i < opts->vdev_count; i++) {
		push(vector, "--vdev");
		push(vector, opts->vdevs[i]);
	}
	/* Without a virtual device, scan PCI for a NIC (and fall back to a
	 * tap device if there is none). */
	if (names_vdev(opts) && !user_gave(opts, pci_options))
		push(vector, "--no-pci");
}

int eal_args_build(const struct tas_options *opts, struct eal_args *args)
{
	struct arg_vector vector = { 0 };
	int ret;

	push(&vector, "tas");
	if (!user_gave(opts, lcore_options)) {
		ret = push_lcores(&vector, opts->cfg.fp_cores);
		if (ret < 0)
			goto fail;
	}
	push_memory(&vector, opts);
	push_devices(&vector, opts);
	if (!user_gave(opts, telemetry_options))
		push(&vector, "--no-telemetry");
	if (opts->cfg.quiet && !user_gave(opts, log_level_option))
		push(&vector, "--log-level=warning");
	for (int i = 0; i < opts->eal_argc; i++)
		push(&vector, opts->eal_argv[i]);
	if (vector.failed) {
		log_err("out of memory building the EAL arguments");
		ret = -ENOMEM;
		goto fail;
	}

	args->names_device = names_vdev(opts) || user_gave(opts, allow_options);
	args->argc = vector.count;
	args->owned = vector.items;
	args->argv = calloc((size_t)vector.count + 1, sizeof(*args->argv));
	if (args->argv == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	memcpy(args->argv, vector.items, (size_t)vector.count * sizeof(char *));
	return 0;

fail:
	for (int i = 0; i < vector.count; i++)
		free(vector.items[i]);
	free(vector.items);
	return ret;
}

void eal_args_free(struct eal_args *args)
{
	for (int i = 0; i < args->argc; i++)
		free(args->owned[i]);
	free(args->owned);
	free(args->argv);
	args->argc = 0;
	args->owned = args->argv = NULL;
}

void eal_args_format(const struct eal_args *args, char *text, size_t size)
{
	size_t used = 0;

	text[0] = '\0';
	for (int i = 1; i < args->argc && used < size; i++)
		used += (size_t)snprintf(text + used, size - used, "%s%s",
					 i > 1 ? " " : "", args->owned[i]);
}
