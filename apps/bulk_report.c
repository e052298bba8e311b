#include "bulk_report.h"

#include <inttypes.h>
#include <stdio.h>

void bulk_report_init(struct bulk_report *report)
{
	*report = (struct bulk_report){ .verified = true };
}

void bulk_report_add(struct bulk_report *report,
		     const struct bulk_stream *stream)
{
	report->established++;
	report->sent += stream->sent;
	report->received += stream->received;
	if (stream->reset)
		report->resets++;
	if (stream->paused)
		report->pauses++;
	if (!bulk_stream_verified(stream))
		report->verified = false;
	if (bulk_stream_succeeded(stream))
		report->succeeded++;
}

/* Seconds from start_ns to t_ns; 0 for an event that did not happen. */
static double since(uint64_t t_ns, uint64_t start_ns)
{
	return t_ns > start_ns ? (double)(t_ns - start_ns) / 1e9 : 0.0;
}

void bulk_report_print_conn(const struct bulk_stream *stream,
			    uint64_t start_ns)
{
	printf("bulk-conn: id=%u sent=%" PRIu64 " recv=%" PRIu64
	       " rx_first=%.6f rx_last=%.6f rx_secs=%.6f"
	       " tx_first=%.6f tx_last=%.6f tx_secs=%.6f\n",
	       stream->id, stream->sent, stream->received,
	       since(stream->rx_first_ns, start_ns),
	       since(stream->rx_last_ns, start_ns),
	       since(stream->rx_last_ns, stream->rx_first_ns),
	       since(stream->tx_first_ns, start_ns),
	       since(stream->tx_last_ns, start_ns),
	       since(stream->tx_last_ns, stream->tx_first_ns));
}

int bulk_report_print(const struct bulk_report *report,
		      const struct bulk_options *options, double seconds,
		      bool timed_out)
{
	double bits = 8.0 * (double)(report->sent + report->received);

	if (timed_out)
		fprintf(stderr, "timed out after %g seconds\n", options->timeout);
	printf("bulk: role=%s conns=%u sent=%" PRIu64 " recv=%" PRIu64
	       " verified=%s resets=%u secs=%.3f mbit_per_sec=%.1f",
	       options->role == BULK_CLIENT ? "client" : "server",
	       report->established, report->sent, report->received,
	       report->verified ? "yes" : "no", report->resets, seconds,
	       seconds > 0 ? bits / seconds / 1e6 : 0.0);
	if (options->pause)
		printf(" pauses=%u", report->pauses);
	printf("\n");
	fflush(stdout);
	return !timed_out && report->succeeded == options->conns ? 0 : 1;
}
