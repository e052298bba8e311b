/*
 * Application regions (app_region.h).
 *
 * The region is a memfd that the application maps too.  It is sealed
 * against shrinking and growing, so an application cannot make the
 * service's accesses fault by truncating it.  Hugepages are used when
 * enough free 2 MB pages exist (and the kernel can reserve them at mmap
 * time); otherwise normal pages.  Normal-page regions give the memory of
 * freed buffer slots back to the system by punching holes.
 */
#include "app_region.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/memfd.h> /* MFD_HUGE_2MB */

#include "app_ring.h"
#include "log.h"

#define PAGE_SIZE_NORMAL 4096ull
#define PAGE_SIZE_HUGE (2ull << 20)
#define FREE_HUGEPAGES_PATH \
	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
/* flow_state keeps buffer offsets in 32 bits. */
#define BUF_OFFSET_LIMIT (1ull << 32)

static uint64_t align_up(uint64_t value, uint64_t alignment)
{
	return (value + alignment - 1) & ~(alignment - 1);
}

unsigned app_region_fp_cores(const struct service_config *cfg)
{
	return cfg->fp_cores < TAS_MAX_FP_CORES ? cfg->fp_cores
						: TAS_MAX_FP_CORES;
}

static uint64_t cmd_ring_size(void)
{
	return shm_ring_memsize(TAS_CMD_RING_SIZE, sizeof(struct tas_app_cmd));
}

static uint64_t event_ring_size(void)
{
	return shm_ring_memsize(TAS_EVENT_RING_SIZE,
				sizeof(struct tas_app_event));
}

/* Position of a ring index (ABI numbering) inside a context's ring set. */
static unsigned ring_position(const struct app_region_layout *layout,
			      unsigned ring_index)
{
	return ring_index == TAS_RING_SLOWPATH ? layout->fp_cores : ring_index;
}

/* Lay out a region of region_size bytes; -ENOSPC if not even one buffer
 * slot fits after the contexts' rings. */
static int plan_layout(struct app_region_layout *layout,
		       const struct service_config *cfg, uint64_t region_size)
{
	layout->fp_cores = app_region_fp_cores(cfg);
	layout->ctx_table_offset = sizeof(struct tas_shm_header);
	layout->ring_area_offset =
		align_up(layout->ctx_table_offset +
				 TAS_MAX_CONTEXTS * sizeof(struct tas_shm_context),
			 PAGE_SIZE_NORMAL);
	layout->ring_set_size =
		(layout->fp_cores + 1) * (cmd_ring_size() + event_ring_size());
	layout->ring_area_size =
		align_up(TAS_MAX_CONTEXTS * layout->ring_set_size,
			 PAGE_SIZE_NORMAL);
	layout->buf_area_offset =
		layout->ring_area_offset + layout->ring_area_size;
	layout->slot_size = align_up((uint64_t)cfg->rx_buf_size +
					     cfg->tx_buf_size,
				     PAGE_SIZE_NORMAL);

	uint64_t usable_end = region_size < BUF_OFFSET_LIMIT ? region_size
							     : BUF_OFFSET_LIMIT;
	if (usable_end < layout->buf_area_offset + layout->slot_size)
		return -ENOSPC;
	layout->slot_count = (uint32_t)((usable_end - layout->buf_area_offset) /
					layout->slot_size);
	layout->buf_area_size = layout->slot_count * layout->slot_size;
	return 0;
}

int app_region_check_config(const struct service_config *cfg)
{
	struct app_region_layout layout;

	if (cfg->rx_buf_size == 0 || cfg->tx_buf_size == 0) {
		log_err("per-flow buffer sizes must not be zero");
		return -EINVAL;
	}
	if (plan_layout(&layout, cfg, cfg->app_region_size) != 0) {
		log_err("app region size %" PRIu64 " too small: contexts need %" PRIu64
			" bytes plus %" PRIu64 " per flow buffer slot",
			cfg->app_region_size, layout.buf_area_offset,
			layout.slot_size);
		return -EINVAL;
	}
	return 0;
}

static bool hugepages_available(uint64_t size)
{
	FILE *file = fopen(FREE_HUGEPAGES_PATH, "re");
	unsigned long long free_pages = 0;

	if (file == NULL)
		return false;
	if (fscanf(file, "%llu", &free_pages) != 1)
		free_pages = 0;
	fclose(file);
	return size / PAGE_SIZE_HUGE <= free_pages;
}

/* memfd of size bytes, sealed against resizing and mapped shared. */
static int map_memfd(struct app_region *region, const char *name,
		     uint64_t size, unsigned hugetlb_flags)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING |
					    hugetlb_flags);
	if (fd < 0)
		return -errno;

	int err = 0;
	if (ftruncate(fd, (off_t)size) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		err = -errno;
	void *base = MAP_FAILED;
	if (err == 0) {
		base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED)
			err = -errno;
	}
	if (err != 0) {
		close(fd);
		return err;
	}
	region->base = base;
	region->size = size;
	region->memfd = fd;
	region->hugepages = hugetlb_flags != 0;
	return 0;
}

static int map_region(struct app_region *region, uint64_t requested_size,
		      uint16_t app_id)
{
	char name[32];
	uint64_t huge_size = align_up(requested_size, PAGE_SIZE_HUGE);

	snprintf(name, sizeof(name), "tas-app-%u", app_id);
	/* The kernel reserves the hugepages at mmap time, so a failure
	 * there (pages taken meanwhile) falls back cleanly. */
	if (hugepages_available(huge_size) &&
	    map_memfd(region, name, huge_size, MFD_HUGETLB | MFD_HUGE_2MB) == 0)
		return 0;
	return map_memfd(region, name,
			 align_up(requested_size, PAGE_SIZE_NORMAL), 0);
}

static int create_slot_allocator(struct app_region *region)
{
	uint32_t count = region->layout.slot_count;

	region->free_slots = calloc(count, sizeof(*region->free_slots));
	region->slot_busy = calloc(count, sizeof(*region->slot_busy));
	if (region->free_slots == NULL || region->slot_busy == NULL)
		return -ENOMEM;
	/* Stack: the lowest slots go out first, which keeps the touched
	 * part of the region compact. */
	for (uint32_t i = 0; i < count; i++)
		region->free_slots[i] = count - 1 - i;
	region->free_count = count;
	return 0;
}

static void write_header(struct app_region *region,
			 const struct service_config *cfg)
{
	const struct app_region_layout *layout = &region->layout;
	struct tas_shm_header *header = (struct tas_shm_header *)region->base;

	*header = (struct tas_shm_header){
		.magic = TAS_SHM_MAGIC,
		.abi_version = TAS_SHM_ABI_VERSION,
		.region_size = region->size,
		.max_contexts = TAS_MAX_CONTEXTS,
		.num_fp_cores = layout->fp_cores,
		.ctx_table_offset = layout->ctx_table_offset,
		.ring_area_offset = layout->ring_area_offset,
		.ring_area_size = layout->ring_area_size,
		.buf_area_offset = layout->buf_area_offset,
		.buf_area_size = layout->buf_area_size,
		.local_ip = cfg->local_ip,
	};
}

int app_region_create(struct app_region *region,
		      const struct service_config *cfg, uint16_t app_id)
{
	*region = (struct app_region){ .memfd = -1 };

	int err = map_region(region, cfg->app_region_size, app_id);
	if (err != 0) {
		log_err("app %u: cannot create a %" PRIu64 "-byte region: %s",
			app_id, cfg->app_region_size, strerror(-err));
		return err;
	}
	err = plan_layout(&region->layout, cfg, region->size);
	if (err == 0)
		err = create_slot_allocator(region);
	if (err != 0) {
		app_region_destroy(region);
		return err;
	}
	region->rx_buf_size = cfg->rx_buf_size;
	region->tx_buf_size = cfg->tx_buf_size;
	write_header(region, cfg);
	log_info("app %u: region of %" PRIu64 " MB (%s pages), %u buffer slots",
		 app_id, region->size >> 20,
		 region->hugepages ? "2 MB" : "4 KB", region->layout.slot_count);
	return 0;
}

void app_region_destroy(struct app_region *region)
{
	if (region->base != NULL)
		munmap(region->base, region->size);
	if (region->memfd >= 0)
		close(region->memfd);
	free(region->free_slots);
	free(region->slot_busy);
	*region = (struct app_region){ .memfd = -1 };
}

struct tas_shm_context *app_region_context(struct app_region *region,
					   uint16_t ctx_id)
{
	struct tas_shm_context *table =
		(struct tas_shm_context *)(region->base +
					   region->layout.ctx_table_offset);
	return &table[ctx_id];
}

int app_region_context_setup(struct app_region *region, uint16_t ctx_id,
			     struct shm_ring cmd[TAS_RINGS_PER_DIRECTION],
			     struct shm_ring event[TAS_RINGS_PER_DIRECTION])
{
	const struct app_region_layout *layout = &region->layout;
	struct tas_shm_context *shm = app_region_context(region, ctx_id);
	uint64_t set_offset =
		layout->ring_area_offset + ctx_id * layout->ring_set_size;
	uint64_t pair_size = cmd_ring_size() + event_ring_size();

	/* The application may have scribbled on a table entry not yet in use. */
	memset(shm, 0, sizeof(*shm));
	shm->ctx_id = ctx_id;
	for (unsigned ring = 0; ring < TAS_RINGS_PER_DIRECTION; ring++) {
		if (ring >= layout->fp_cores && ring != TAS_RING_SLOWPATH)
			continue;
		uint64_t cmd_offset =
			set_offset + ring_position(layout, ring) * pair_size;
		uint64_t event_offset = cmd_offset + cmd_ring_size();
		char name[32];

		snprintf(name, sizeof(name), "c%u-cmd%u", ctx_id, ring);
		int err = shm_ring_create(&cmd[ring], region->base + cmd_offset,
					  name, TAS_CMD_RING_SIZE,
					  sizeof(struct tas_app_cmd));
		if (err != 0)
			return err;
		snprintf(name, sizeof(name), "c%u-evt%u", ctx_id, ring);
		err = shm_ring_create(&event[ring], region->base + event_offset,
				      name, TAS_EVENT_RING_SIZE,
				      sizeof(struct tas_app_event));
		if (err != 0)
			return err;
		shm->cmd_ring_offset[ring] = cmd_offset;
		shm->event_ring_offset[ring] = event_offset;
	}
	__atomic_store_n(&shm->in_use, 1, __ATOMIC_RELEASE);
	return 0;
}

int app_region_slot_alloc(struct app_region *region, uint64_t *rx_offset,
			  uint64_t *tx_offset)
{
	if (region->free_count == 0)
		return -ENOMEM;

	uint32_t slot = region->free_slots[--region->free_count];
	uint64_t offset = region->layout.buf_area_offset +
			  slot * region->layout.slot_size;

	region->slot_busy[slot] = true;
	region->slots_used++;
	*rx_offset = offset;
	*tx_offset = offset + region->rx_buf_size;
	return 0;
}

static bool is_slot_start(const struct app_region *region, uint64_t offset)
{
	const struct app_region_layout *layout = &region->layout;

	return offset >= layout->buf_area_offset &&
	       offset < layout->buf_area_offset + layout->buf_area_size &&
	       (offset - layout->buf_area_offset) % layout->slot_size == 0;
}

int app_region_slot_free(struct app_region *region, uint64_t rx_offset)
{
	if (!is_slot_start(region, rx_offset))
		return -EINVAL;

	uint32_t slot = (uint32_t)((rx_offset - region->layout.buf_area_offset) /
				   region->layout.slot_size);
	if (!region->slot_busy[slot])
		return -EINVAL;

	region->slot_busy[slot] = false;
	region->slots_used--;
	region->free_slots[region->free_count++] = slot;
	/* Hugepages are reserved for the region's lifetime anyway. */
	if (!region->hugepages &&
	    fallocate(region->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)rx_offset, (off_t)region->layout.slot_size) != 0)
		log_warn("cannot release freed buffer memory: %s",
			 strerror(errno));
	return 0;
}
