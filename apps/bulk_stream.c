#include "bulk_stream.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mono_time.h"
#include "pattern.h"

void bulk_stream_init(struct bulk_stream *stream,
		      const struct bulk_options *options, unsigned id)
{
	memset(stream, 0, sizeof(*stream));
	stream->options = options;
	stream->id = id;
	stream->tx_seed = bulk_tx_seed(options);
	stream->rx_seed = bulk_rx_seed(options);
	stream->tx_goal = options->abort ? options->abort_after : options->send;
}

void bulk_stream_fill(const struct bulk_stream *stream, void *buf, size_t len)
{
	pattern_fill(stream->tx_seed, stream->sent, buf, len);
}

/* The first and latest times of an event (first stays 0 until then). */
static void note_time(uint64_t *first_ns, uint64_t *last_ns, uint64_t now_ns)
{
	if (*first_ns == 0)
		*first_ns = now_ns;
	*last_ns = now_ns;
}

void bulk_stream_sent(struct bulk_stream *stream, size_t len, uint64_t now_ns)
{
	stream->sent += len;
	if (len)
		note_time(&stream->tx_first_ns, &stream->tx_last_ns, now_ns);
}

size_t bulk_stream_rx_allowed(struct bulk_stream *stream, uint64_t now_ns)
{
	const struct bulk_options *options = stream->options;

	if (!options->pause)
		return SIZE_MAX;
	if (!stream->paused && stream->received >= options->pause_after) {
		stream->paused = true;
		stream->pause_end_ns = now_ns + seconds_to_ns(options->pause_secs);
		fprintf(stderr, "connection %u: not reading for %g s after %"
			PRIu64 " bytes\n", stream->id, options->pause_secs,
			stream->received);
	}
	if (!stream->paused) {
		uint64_t left = options->pause_after - stream->received;

		return left < SIZE_MAX ? (size_t)left : SIZE_MAX;
	}
	return now_ns < stream->pause_end_ns ? 0 : SIZE_MAX;
}

uint64_t bulk_stream_resume_ns(const struct bulk_stream *stream)
{
	return stream->paused && !stream->resumed ? stream->pause_end_ns
						  : UINT64_MAX;
}

bool bulk_stream_take_resume(struct bulk_stream *stream, uint64_t now_ns)
{
	if (!stream->paused || stream->resumed || now_ns < stream->pause_end_ns)
		return false;
	stream->resumed = true;
	return true;
}

static void report_mismatch(struct bulk_stream *stream, const uint8_t *data,
			    size_t index)
{
	uint64_t offset = stream->received + index;

	fprintf(stderr,
		"connection %u: data mismatch at stream offset %" PRIu64
		": got 0x%02x, expected 0x%02x\n",
		stream->id, offset, data[index],
		pattern_byte(stream->rx_seed, offset));
}

void bulk_stream_received(struct bulk_stream *stream, const void *buf,
			  size_t len, uint64_t now_ns)
{
	uint64_t expected_left = stream->options->recv - stream->received;
	size_t checked = len;

	if (len > expected_left) {
		if (!stream->overrun)
			fprintf(stderr, "connection %u: received more than "
				"--recv %" PRIu64 " bytes\n", stream->id,
				stream->options->recv);
		stream->overrun = true;
		checked = (size_t)expected_left;
	}
	if (!stream->corrupt) {
		size_t good = pattern_verify(stream->rx_seed, stream->received,
					     buf, checked);

		if (good < checked) {
			report_mismatch(stream, buf, good);
			stream->corrupt = true;
		}
	}
	stream->received += len;
	if (len)
		note_time(&stream->rx_first_ns, &stream->rx_last_ns, now_ns);
}

void bulk_stream_eof(struct bulk_stream *stream)
{
	if (stream->received < stream->options->recv)
		fprintf(stderr, "connection %u: EOF after %" PRIu64 " of %"
			PRIu64 " bytes\n", stream->id, stream->received,
			stream->options->recv);
	stream->eof = true;
}

void bulk_stream_peer_reset(struct bulk_stream *stream)
{
	if (!stream->options->expect_reset)
		fprintf(stderr, "connection %u: reset by peer after %" PRIu64
			" bytes received\n", stream->id, stream->received);
	stream->reset = true;
}

void bulk_stream_fail(struct bulk_stream *stream, const char *why, int error)
{
	fprintf(stderr, "connection %u: %s%s%s\n", stream->id, why,
		error ? ": " : "", error ? strerror(error) : "");
	stream->failed = true;
}

static bool is_dead(const struct bulk_stream *stream)
{
	return stream->aborted || stream->reset || stream->failed;
}

bool bulk_stream_should_abort(const struct bulk_stream *stream)
{
	return stream->options->abort && !is_dead(stream) &&
	       bulk_stream_unsent(stream) == 0;
}

bool bulk_stream_should_shut_wr(const struct bulk_stream *stream)
{
	if (stream->options->abort || stream->wr_shut || is_dead(stream) ||
	    bulk_stream_unsent(stream) != 0)
		return false;
	return stream->options->close == BULK_CLOSE_FIRST || stream->eof;
}

bool bulk_stream_is_finished(const struct bulk_stream *stream)
{
	return is_dead(stream) || (stream->wr_shut && stream->eof);
}

bool bulk_stream_verified(const struct bulk_stream *stream)
{
	if (stream->corrupt || stream->overrun)
		return false;
	if (is_dead(stream))
		return true;
	return stream->received == stream->options->recv;
}

bool bulk_stream_succeeded(const struct bulk_stream *stream)
{
	if (!bulk_stream_verified(stream) || stream->failed)
		return false;
	if (stream->options->expect_reset)
		return stream->reset;
	if (stream->reset)
		return false;
	if (stream->aborted)
		return true;
	return stream->eof && stream->wr_shut &&
	       stream->sent == stream->options->send;
}
