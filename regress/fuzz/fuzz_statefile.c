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
 * The state file parser (wgmeshd/statefile.c) on arbitrary bytes.  What
 * it refuses must come with "line N: ..." (or the size) and no entries;
 * what it accepts must format again, and that text must parse back to the
 * same entries and format to the same bytes.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "storage.h"

/* a fixed clock, so that an input means the same thing every run */
#define FUZZ_NOW	1700000000LL

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_entry	*e, *e2;
	char			 err[256], *buf, *buf2;
	size_t			 n, n2, len;
	int			 r, r2;

	err[0] = '\0';
	if (statefile_parse((const char *)data, size, FUZZ_NOW, &e, &n, err,
	    sizeof(err)) == -1) {
		if (e != NULL || n != 0 || (strncmp(err, "line ", 5) != 0 &&
		    strncmp(err, "larger than", 11) != 0))
			abort();
		return (0);
	}
	if (n > STATEFILE_ENTRIES_MAX || (n == 0) != (e == NULL))
		abort();

	len = statefile_size(n);
	if ((buf = malloc(len)) == NULL || (buf2 = malloc(len)) == NULL)
		abort();
	if ((r = statefile_format(buf, len, e, n)) <= 0)
		abort();
	if (statefile_parse(buf, r, FUZZ_NOW, &e2, &n2, err,
	    sizeof(err)) == -1)
		abort();
	if (n2 != n || (n > 0 && memcmp(e, e2, n * sizeof(*e)) != 0))
		abort();
	if ((r2 = statefile_format(buf2, len, e2, n2)) != r ||
	    memcmp(buf, buf2, r) != 0)
		abort();

	free(buf);
	free(buf2);
	free(e);
	free(e2);
	return (0);
}
