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
	if (!bulk_stream_verified(stream))
		report->verified = false;
	if (bulk_stream_succeeded(stream))
		report->succeeded++;
}

int bulk_report_print(const struct bulk_report *report,
		      const struct bulk_options *options, double seconds,
		      bool timed_out)
{
	double bits = 8.0 * (double)(report->sent + report->received);

	if (timed_out)
		fprintf(stderr, "timed out after %g seconds\n", options->timeout);
	printf("bulk: role=%s conns=%u sent=%" PRIu64 " recv=%" PRIu64
	       " verified=%s resets=%u secs=%.3f mbit_per_sec=%.1f\n",
	       options->role == BULK_CLIENT ? "client" : "server",
	       report->established, report->sent, report->received,
	       report->verified ? "yes" : "no", report->resets, seconds,
	       seconds > 0 ? bits / seconds / 1e6 : 0.0);
	fflush(stdout);
	return !timed_out && report->succeeded == options->conns ? 0 : 1;
}
