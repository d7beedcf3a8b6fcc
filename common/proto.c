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
#include "proto.h"

static const char * const imsg_type_names[IMSG_TYPE_MAX] = {
	[IMSG_NONE] = "IMSG_NONE",
	[IMSG_CTL_SHOW_PEERS] = "IMSG_CTL_SHOW_PEERS",
	[IMSG_CTL_SHOW_INTERFACES] = "IMSG_CTL_SHOW_INTERFACES",
	[IMSG_CTL_SHOW_SELF] = "IMSG_CTL_SHOW_SELF",
	[IMSG_CTL_RELOAD] = "IMSG_CTL_RELOAD",
	[IMSG_CTL_LOG_VERBOSE] = "IMSG_CTL_LOG_VERBOSE",
	[IMSG_CTL_RESULT] = "IMSG_CTL_RESULT",
	[IMSG_CTL_PEER] = "IMSG_CTL_PEER",
	[IMSG_CTL_IFACE] = "IMSG_CTL_IFACE",
	[IMSG_CTL_END] = "IMSG_CTL_END",
	[IMSG_RECONF_BEGIN] = "IMSG_RECONF_BEGIN",
	[IMSG_RECONF_IFACE] = "IMSG_RECONF_IFACE",
	[IMSG_RECONF_PEER] = "IMSG_RECONF_PEER",
	[IMSG_RECONF_END] = "IMSG_RECONF_END",
	[IMSG_SOCKET_CONTROL] = "IMSG_SOCKET_CONTROL",
	[IMSG_SOCKET_GOSSIP] = "IMSG_SOCKET_GOSSIP",
	[IMSG_SOCKET_LAN] = "IMSG_SOCKET_LAN",
	[IMSG_DEVICE_PEER] = "IMSG_DEVICE_PEER",
	[IMSG_PAIR_KEY] = "IMSG_PAIR_KEY",
	[IMSG_SET_ENDPOINT] = "IMSG_SET_ENDPOINT",
	[IMSG_STATE_LOAD] = "IMSG_STATE_LOAD",
	[IMSG_STATE_ENTRY] = "IMSG_STATE_ENTRY",
	[IMSG_STATE_LOADED] = "IMSG_STATE_LOADED",
	[IMSG_STATE_SAVE] = "IMSG_STATE_SAVE",
	[IMSG_CTL_SHOW_COUNTERS] = "IMSG_CTL_SHOW_COUNTERS",
	[IMSG_CTL_COUNTERS] = "IMSG_CTL_COUNTERS",
	[IMSG_LAN_LINKS] = "IMSG_LAN_LINKS",
};

/* A name for any type, including ones that arrive from a hostile peer. */
const char *
imsg_type_name(uint32_t type)
{
	static char	unknown[32];

	if (type < IMSG_TYPE_MAX && imsg_type_names[type] != NULL)
		return (imsg_type_names[type]);
	snprintf(unknown, sizeof(unknown), "IMSG_UNKNOWN(%u)", type);
	return (unknown);
}

/*
 * IMSG_CTL_LOG_VERBOSE, from wgmeshctl or between the processes: one int,
 * 0 (brief) to LOG_VERBOSE_MAX.  Each receiver decides what -1 means.
 */
int
imsg_get_verbose(struct imsg *imsg, int *verbose)
{
	int	v;

	if (imsg_get_data(imsg, &v, sizeof(v)) == -1 || v < 0 ||
	    v > LOG_VERBOSE_MAX)
		return (-1);
	*verbose = v;
	return (0);
}
