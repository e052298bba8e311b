#include "bulk_stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

void bulk_stream_sent(struct bulk_stream *stream, size_t len)
{
	stream->sent += len;
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
			  size_t len)
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
