/*
 * SPEC parsing: a table of keys, each with the kind of value it takes
 * and where in struct impair_spec the value goes.
 */
#include "impair_spec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_PER_SEC 1e9
#define MAX_DELAY_NS (60 * NS_PER_SEC)
#define MAX_RATE_BPS 1e12
#define MAX_SIZE_BYTES (1024.0 * 1024 * 1024)
#define MAX_REORDER_GAP 1000
#define MAX_TARGETED_DROPS 1000000
/* Stream offsets live in the 32-bit sequence space. */
#define MAX_STREAM_OFFSET 4294967295.0

enum value_kind {
	PERCENT,    /* double, 0..100 */
	DURATION,   /* uint64_t ns, from us/ms/s */
	RATE,       /* uint64_t bit/s, from bit/kbit/mbit/gbit */
	SIZE,       /* uint64_t bytes, binary k/m/g suffixes as the apps use */
	COUNT,      /* uint32_t, whole, in [key.min, key.max] */
	OFFSET,     /* struct impair_stream_offset, with size suffixes */
};

struct key {
	const char *name;
	enum value_kind kind;
	size_t offset;
	uint32_t min, max;   /* COUNT only */
};

/* Designated: only COUNT keys give min and max. */
static const struct key keys[] = {
	{ .name = "loss", .kind = PERCENT,
	  .offset = offsetof(struct impair_spec, loss_pct) },
	{ .name = "delay", .kind = DURATION,
	  .offset = offsetof(struct impair_spec, delay_ns) },
	{ .name = "jitter", .kind = DURATION,
	  .offset = offsetof(struct impair_spec, jitter_ns) },
	{ .name = "reorder", .kind = PERCENT,
	  .offset = offsetof(struct impair_spec, reorder_pct) },
	{ .name = "reorder-gap", .kind = COUNT,
	  .offset = offsetof(struct impair_spec, reorder_gap),
	  .min = 1, .max = MAX_REORDER_GAP },
	{ .name = "dup", .kind = PERCENT,
	  .offset = offsetof(struct impair_spec, dup_pct) },
	{ .name = "corrupt", .kind = PERCENT,
	  .offset = offsetof(struct impair_spec, corrupt_pct) },
	{ .name = "rate", .kind = RATE,
	  .offset = offsetof(struct impair_spec, rate_bps) },
	{ .name = "queue", .kind = SIZE,
	  .offset = offsetof(struct impair_spec, queue_bytes) },
	{ .name = "ecn", .kind = SIZE,
	  .offset = offsetof(struct impair_spec, ecn_bytes) },
	{ .name = "mark", .kind = PERCENT,
	  .offset = offsetof(struct impair_spec, mark_pct) },
	{ .name = "drop-syn", .kind = COUNT,
	  .offset = offsetof(struct impair_spec, drop_syn),
	  .min = 0, .max = MAX_TARGETED_DROPS },
	{ .name = "drop-synack", .kind = COUNT,
	  .offset = offsetof(struct impair_spec, drop_synack),
	  .min = 0, .max = MAX_TARGETED_DROPS },
	{ .name = "drop-fin", .kind = COUNT,
	  .offset = offsetof(struct impair_spec, drop_fin),
	  .min = 0, .max = MAX_TARGETED_DROPS },
	{ .name = "drop-offset", .kind = OFFSET,
	  .offset = offsetof(struct impair_spec, drop_offset) },
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

struct unit {
	const char *suffix;
	double scale;
};

static const struct unit duration_units[] = {
	{ "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { NULL, 0 },
};
static const struct unit rate_units[] = {
	{ "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 }, { NULL, 0 },
};
static const struct unit no_unit[] = { { "", 1 }, { NULL, 0 } };
static const struct unit size_units[] = {
	{ "", 1 }, { "k", 1024.0 }, { "m", 1024.0 * 1024 },
	{ "g", 1024.0 * 1024 * 1024 }, { NULL, 0 },
};

static int fail(char *why, size_t why_size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_size, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(why, why_size, format, args);
	va_end(args);
	return -1;
}

void impair_spec_none(struct impair_spec *spec)
{
	*spec = (struct impair_spec){ .reorder_gap = IMPAIR_REORDER_GAP_DEFAULT };
}

/* A non-negative finite number followed by one of units' suffixes
 * (case-insensitive), scaled; -1 if text is not of that form. */
static double scaled_number(const char *text, const struct unit *units)
{
	char *end;
	double value;

	if (!(text[0] >= '0' && text[0] <= '9') && text[0] != '.')
		return -1;
	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || !isfinite(value) || end == text)
		return -1;
	for (; units->suffix; units++) {
		if (strcasecmp(end, units->suffix) == 0)
			return value * units->scale;
	}
	return -1;
}

/* Values are checked to be in range first. */
static uint64_t round_to_u64(double number)
{
	return (uint64_t)(number + 0.5);
}

static int parse_value(const struct key *key, const char *value,
		       struct impair_spec *spec, char *why, size_t why_size)
{
	char *field = (char *)spec + key->offset;
	double number;

	switch (key->kind) {
	case PERCENT:
		number = scaled_number(value, no_unit);
		if (number < 0 || number > 100)
			return fail(why, why_size, "%s: '%s' is not a percentage "
				    "in [0, 100]", key->name, value);
		*(double *)field = number;
		return 0;
	case DURATION:
		number = scaled_number(value, duration_units);
		if (number < 0 || number > MAX_DELAY_NS)
			return fail(why, why_size, "%s: '%s' is not a duration "
				    "up to 60s with a unit us, ms or s (e.g. 10ms)",
				    key->name, value);
		*(uint64_t *)field = round_to_u64(number);
		return 0;
	case RATE:
		number = scaled_number(value, rate_units);
		if (number < 1 || number > MAX_RATE_BPS)
			return fail(why, why_size, "%s: '%s' is not a rate with a "
				    "unit bit, kbit, mbit or gbit (e.g. 100mbit)",
				    key->name, value);
		*(uint64_t *)field = round_to_u64(number);
		return 0;
	case SIZE:
		number = scaled_number(value, size_units);
		if (number < 1 || number > MAX_SIZE_BYTES)
			return fail(why, why_size, "%s: '%s' is not a byte count "
				    "in [1, 1g] (suffixes k, m, g)", key->name, value);
		*(uint64_t *)field = round_to_u64(number);
		return 0;
	case COUNT:
		number = scaled_number(value, no_unit);
		if (number < key->min || number > key->max ||
		    number != (double)(uint32_t)number)
			return fail(why, why_size, "%s: '%s' is not a whole number "
				    "in [%u, %u]", key->name, value, key->min, key->max);
		*(uint32_t *)field = (uint32_t)number;
		return 0;
	case OFFSET:
		number = scaled_number(value, size_units);
		if (number < 0 || number > MAX_STREAM_OFFSET ||
		    number != (double)(uint32_t)number)
			return fail(why, why_size, "%s: '%s' is not a whole byte "
				    "offset in [0, 4g - 1] (suffixes k, m, g)",
				    key->name, value);
		*(struct impair_stream_offset *)field = (struct impair_stream_offset){
			.given = true, .bytes = (uint32_t)number };
		return 0;
	}
	return fail(why, why_size, "%s: unknown kind of value", key->name);
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/* The message names every key, from the table, so it cannot go stale. */
static int unknown_key(const char *name, char *why, size_t why_size)
{
	char known[IMPAIR_SPEC_WHY_MAX] = "";
	size_t used = 0;

	for (size_t i = 0; i < KEY_COUNT && used < sizeof(known); i++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
					 i ? ", " : "", keys[i].name);
	return fail(why, why_size, "unknown key '%s' (keys: %s)", name, known);
}

static int parse_item(char *item, struct impair_spec *spec, bool *seen,
		      char *why, size_t why_size)
{
	char *equals = strchr(item, '=');
	const struct key *key;

	if (!equals)
		return fail(why, why_size, "'%s' is not KEY=VALUE", item);
	*equals = '\0';
	key = find_key(item);
	if (!key)
		return unknown_key(item, why, why_size);
	if (seen[key - keys])
		return fail(why, why_size, "%s: given twice", key->name);
	seen[key - keys] = true;
	return parse_value(key, equals + 1, spec, why, why_size);
}

/* Keys that only mean something together with others. */
static int check_combination(struct impair_spec *spec, char *why,
			     size_t why_size)
{
	if (spec->rate_bps == 0 && (spec->queue_bytes || spec->ecn_bytes))
		return fail(why, why_size, "queue and ecn need rate (they describe "
			    "the rate limiter's backlog)");
	if (spec->rate_bps && spec->queue_bytes == 0)
		spec->queue_bytes = IMPAIR_QUEUE_DEFAULT_BYTES;
	return 0;
}

int impair_spec_parse(const char *text, struct impair_spec *spec, char *why,
		      size_t why_size)
{
	bool seen[KEY_COUNT] = { false };
	char *copy, *item, *rest;
	int rc = 0;

	impair_spec_none(spec);
	copy = strdup(text);
	if (!copy)
		return fail(why, why_size, "out of memory");
	for (item = strtok_r(copy, ",", &rest); item && rc == 0;
	     item = strtok_r(NULL, ",", &rest))
		rc = parse_item(item, spec, seen, why, why_size);
	free(copy);
	return rc == 0 ? check_combination(spec, why, why_size) : rc;
}
