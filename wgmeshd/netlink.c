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

/*
 * Walking netlink messages in a received buffer, for both users of
 * netlink in the parent: the kernel backend (wg_kernel.c, generic
 * netlink) and rtnl.c (rtnetlink, under both backends).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include <stdint.h>

#include "netlink.h"

/*
 * libmnl's mnl_nlmsg_ok() takes a length of 2^31 or more for a negative
 * one, and its alignment of a length near 2^32 wraps to 0; hence these.
 */
int
nl_msg_ok(const struct nlmsghdr *nlh, size_t rem)
{
	return (rem >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	    nlh->nlmsg_len <= rem);
}

/* Past the message at *p, which nl_msg_ok() has passed. */
void
nl_next(const uint8_t **p, size_t *rem)
{
	size_t	step;

	step = ((size_t)((const struct nlmsghdr *)*p)->nlmsg_len + 3) &
	    ~(size_t)3;
	if (step >= *rem)
		*rem = 0;
	else {
		*p += step;
		*rem -= step;
	}
}
