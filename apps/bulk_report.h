/* The bulk programs' summary line and exit status. */
#ifndef TAS_APPS_BULK_REPORT_H
#define TAS_APPS_BULK_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "bulk_options.h"
#include "bulk_stream.h"

struct bulk_report {
	unsigned established; /* connections connected or accepted */
	unsigned succeeded;
	unsigned resets;
	uint64_t sent;
	uint64_t received;
	unsigned pauses;      /* connections that paused (--pause-after) */
	bool verified;
};

void bulk_report_init(struct bulk_report *report);

/* Account one established connection at the end of the run. */
void bulk_report_add(struct bulk_report *report,
		     const struct bulk_stream *stream);

/* Print "bulk-conn: ..." for one connection (--per-conn); times are
 * seconds since start_ns. */
void bulk_report_print_conn(const struct bulk_stream *stream,
			    uint64_t start_ns);

/* Print "bulk: ..." and return the exit status: 0 iff all --conns
 * connections were established and succeeded and nothing timed out. */
int bulk_report_print(const struct bulk_report *report,
		      const struct bulk_options *options, double seconds,
		      bool timed_out);

#endif /* TAS_APPS_BULK_REPORT_H */
