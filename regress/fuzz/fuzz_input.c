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

/* A fuzz target's input: see fuzz_input.h. */

#include <stdint.h>
#include <string.h>

#include "fuzz_input.h"

uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t	v = 0;

	if (in->len > 0) {
		v = in->p[0];
		in->p++;
		in->len--;
	}
	return (v);
}

uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t	v;

	fuzz_bytes(in, &v, sizeof(v));
	return (v);
}

uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t	v;

	fuzz_bytes(in, &v, sizeof(v));
	return (v);
}

uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t	v;

	fuzz_bytes(in, &v, sizeof(v));
	return (v);
}

void
fuzz_bytes(struct fuzz_in *in, void *buf, size_t len)
{
	size_t	n = len < in->len ? len : in->len;

	memcpy(buf, in->p, n);
	memset((uint8_t *)buf + n, 0, len - n);
	in->p += n;
	in->len -= n;
}
