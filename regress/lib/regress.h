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
 * A tiny test harness: CHECK() counts, prints only failures, and
 * regress_end() prints the "N passed, N failed" line that regress/run adds
 * up.  Each test program includes this header once.
 */

#ifndef WGM_REGRESS_H
#define WGM_REGRESS_H

#include <stdio.h>

static int	regress_passed;
static int	regress_failed;

#define CHECK(cond, ...) do {						\
	if (cond)							\
		regress_passed++;					\
	else {								\
		regress_failed++;					\
		printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

#define TEST(name)	printf("test: %s\n", (name))

static inline int
regress_end(void)
{
	printf("%d passed, %d failed\n", regress_passed, regress_failed);
	fflush(stdout);
	return (regress_failed == 0 ? 0 : 1);
}

#endif /* WGM_REGRESS_H */
