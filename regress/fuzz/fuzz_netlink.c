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
 * wgnl_parse_device() against whatever a WG_CMD_GET_DEVICE dump may hold.
 * Input: the bytes of one or more netlink messages as recvmsg(2) returns
 * them (the seeds are dumps captured from kernel WireGuard in the VM).
 * After a control byte, the messages are split into receive buffers at
 * message boundaries the control byte picks, and fed buffer by buffer
 * into one device, as wgnl_get() does; an accepted dump must keep the
 * parser's promises.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "fuzz_wg.h"

#define FUZZ_MAXINPUT	(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	struct wg_device	 dev;
	struct nlmsghdr		 hdr;
	uint32_t		*copy;
	size_t			 off, start, len, step, cut[65];
	int			 i, n = 0, rv = 0;
	uint8_t			 ctl;

	if (!init) {
		if (sodium_init() == -1)
			abort();
		init = 1;
	}
	if (size < 1 || size > FUZZ_MAXINPUT)
		return (0);
	ctl = data[0];
	data++;
	size--;

	/*
	 * A receive buffer holds whole messages: cut after message i when
	 * bit i % 8 of the control byte is set, as far as the headers go.
	 */
	for (off = 0, i = 0; n < 64 && size - off >= sizeof(hdr); i++) {
		memcpy(&hdr, data + off, sizeof(hdr));
		step = ((size_t)hdr.nlmsg_len + 3) & ~(size_t)3;
		if (hdr.nlmsg_len < sizeof(hdr) || step > size - off)
			break;
		off += step;
		if ((ctl >> (i % 8)) & 1)
			cut[n++] = off;
	}
	cut[n++] = size;

	memset(&dev, 0, sizeof(dev));
	for (i = 0, start = 0; i < n && rv == 0; i++) {
		if (cut[i] <= start)
			continue;
		len = cut[i] - start;
		/* An exact-size, aligned copy, so overreads are caught. */
		if ((copy = malloc(len)) == NULL)
			abort();
		memcpy(copy, data + start, len);
		rv = wgnl_parse_device(copy, len, &dev);
		free(copy);
		start = cut[i];
	}
	if (rv == 0)
		fuzz_check_device(&dev, 1);
	wg_device_free(&dev);
	return (0);
}
