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
 * A fuzz target's input, read from the front: past its end every byte is
 * zero, so that a short input still drives a whole run.  Shared by the
 * daemon targets (fuzz_daemon.c) and fuzz_gossip.
 */

#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_in {
	const uint8_t	*p;
	size_t		 len;
};

uint8_t		 fuzz_u8(struct fuzz_in *);
uint16_t	 fuzz_u16(struct fuzz_in *);
uint32_t	 fuzz_u32(struct fuzz_in *);
uint64_t	 fuzz_u64(struct fuzz_in *);
void		 fuzz_bytes(struct fuzz_in *, void *, size_t);

#endif /* FUZZ_INPUT_H */
