/*
 * Copyright (c) 2026 The wgmeshd authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */


#include <stdint.h>
#include <stdio.h>

#include "imsg.h"
#include "log.h"
#include "proto.h"

/* imsg_check()'s table, from the rows of IMSG_TYPES (proto.h). */
struct imsg_spec {
	const char	*name;
	uint16_t	 size;		/* fixed part, in bytes */
	uint16_t	 elem;		/* then 0 to max of elem bytes each */
	uint16_t	 max;
	uint8_t		 from;		/* PROC_*: who may send it */
	uint8_t		 fd;		/* 1: always with one; 0: never */
};

#define NONE		0, 0, 0
#define EXACT(s)	sizeof(struct s), 0, 0
#define LIST(s, n)	0, sizeof(struct s), n
#define P		PROC_PARENT
#define E		PROC_ENGINE
#define S		PROC_STORAGE
#define C		PROC_CONTROL
#define R		PROC_RELAY
#define FD		1
#define IMSG_TYPE_SPEC(type, number, payload, sender, hasfd)		\
	[type] = { #type, payload, sender, hasfd },

static const struct imsg_spec imsg_specs[IMSG_TYPE_MAX] = {
	IMSG_TYPES(IMSG_TYPE_SPEC)
};

#undef NONE
#undef EXACT
#undef LIST
#undef P
#undef E
#undef S
#undef C
#undef R
#undef FD
#undef IMSG_TYPE_SPEC

static const char *
proc_name(unsigned int from)
{
	switch (from) {
	case PROC_PARENT:
		return ("the parent");
	case PROC_ENGINE:
		return ("the engine");
	case PROC_STORAGE:
		return ("the storage process");
	case PROC_CONTROL:
		return ("a control client");
	case PROC_RELAY:
		return ("the relay process");
	default:
		return ("an unknown process");
	}
}

/*
 * Whether a message may have come from "from" (one PROC_*) as it is:
 * a known type that process sends, a payload of the size the table
 * gives, a descriptor exactly when the type carries one.  NULL when it
 * may; otherwise what is wrong, for the caller's log.  The descriptor
 * stays in the message, for imsg_free() to close.
 */
const char *
imsg_check(const struct imsg *imsg, unsigned int from)
{
	static char		 why[160];
	const struct imsg_spec	*spec;
	const char		*name = imsg_type_name(imsg->hdr.type);
	size_t			 len = imsg->datalen, n;

	spec = imsg->hdr.type < IMSG_TYPE_MAX ?
	    &imsg_specs[imsg->hdr.type] : NULL;
	if (spec == NULL || spec->name == NULL || (spec->from & from) == 0) {
		snprintf(why, sizeof(why), "unexpected %s from %s", name,
		    proc_name(from));
		return (why);
	}
	if (spec->elem == 0 && len != spec->size) {
		snprintf(why, sizeof(why), "%s from %s: %zu bytes, not %u",
		    name, proc_name(from), len, spec->size);
		return (why);
	}
	if (spec->elem != 0 && (len < spec->size ||
	    (len - spec->size) % spec->elem != 0 ||
	    (n = (len - spec->size) / spec->elem) > spec->max)) {
		snprintf(why, sizeof(why), "%s from %s: %zu bytes, not %u "
		    "plus up to %u times %u", name, proc_name(from), len,
		    spec->size, spec->max, spec->elem);
		return (why);
	}
	if (spec->fd && imsg->fd == -1) {
		snprintf(why, sizeof(why), "%s from %s without a descriptor",
		    name, proc_name(from));
		return (why);
	}
	if (!spec->fd && imsg->fd != -1) {
		snprintf(why, sizeof(why), "%s from %s with a descriptor",
		    name, proc_name(from));
		return (why);
	}
	return (NULL);
}

/*
 * Copies out the payload of a message that imsg_check() has passed: a
 * size other than the handler's is the program's error (the table and
 * the handler disagree), not the sender's.
 */
void
imsg_payload(struct imsg *imsg, void *buf, size_t len)
{
	if (imsg_get_data(imsg, buf, len) == -1)
		fatalx("%s: %zu bytes, but its handler reads %zu",
		    imsg_type_name(imsg->hdr.type), imsg_get_len(imsg), len);
}

/* A name for any type, including ones that arrive from a hostile peer. */
const char *
imsg_type_name(uint32_t type)
{
	static char	unknown[32];

	if (type < IMSG_TYPE_MAX && imsg_specs[type].name != NULL)
		return (imsg_specs[type].name);
	snprintf(unknown, sizeof(unknown), "IMSG_UNKNOWN(%u)", type);
	return (unknown);
}

/*
 * A peer's state as the log, wgmeshctl and the metrics say it (a number
 * from the engine, so any value has a word).
 */
const char *
peer_state_name(unsigned int state)
{
	switch (state) {
	case PEER_STATE_NO_ENDPOINT:
		return ("waiting");
	case PEER_STATE_CONNECTING:
		return ("connecting");
	case PEER_STATE_UP:
		return ("up");
	case PEER_STATE_UNREACHABLE:
		return ("unreachable");
	case PEER_STATE_MISMATCH:
		return ("mismatch");
	}
	return ("unknown");
}

/* How traffic to an up peer goes (enum peer_path), in the same words. */
const char *
peer_path_name(unsigned int path)
{
	switch (path) {
	case PATH_DIRECT:
		return ("direct");
	case PATH_LAN:
		return ("lan");
	case PATH_RELAY:
		return ("relay");
	}
	return ("none");
}

/*
 * IMSG_CTL_LOG_VERBOSE, from wgmeshctl or between the processes, once
 * imsg_check() has passed it: 0 (brief) to LOG_VERBOSE_MAX.  Each
 * receiver decides what -1 means.
 */
int
imsg_get_verbose(struct imsg *imsg, int *verbose)
{
	struct ctl_log_verbose	lv;

	imsg_payload(imsg, &lv, sizeof(lv));
	if (lv.level < 0 || lv.level > LOG_VERBOSE_MAX)
		return (-1);
	*verbose = lv.level;
	return (0);
}
