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
 * uapi_parse_get() against whatever a userspace WireGuard may print.
 * Input: the reply, as read from the socket (the seeds are real replies
 * of wireguard-go).  Besides not crashing, an accepted reply must keep
 * the parser's promises: bounded counts, families and lengths that make
 * sense, allowed-ips without host bits; a refused one leaves nothing.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "fuzz_wg.h"

#define FUZZ_MAXINPUT	(1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	struct wg_device	 dev;
	char			*copy;

	if (!init) {
		if (sodium_init() == -1)
			abort();
		init = 1;
	}
	if (size > FUZZ_MAXINPUT)
		return (0);
	/* An exact-size copy, so that a read past the end is caught. */
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	memset(&dev, 0, sizeof(dev));
	strlcpy(dev.ifname, "wgfuzz", sizeof(dev.ifname));
	if (uapi_parse_get(copy, size, &dev) == 0)
		fuzz_check_device(&dev, 0);
	else if (dev.npeers != 0 || dev.peers != NULL ||
	    strcmp(dev.ifname, "wgfuzz") != 0)
		abort();
	wg_device_free(&dev);
	free(copy);
	return (0);
}
