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
 * libFuzzer target for the configuration grammar: parse the input as a
 * wgmeshd.conf, print what was accepted, free it.  The parser keeps state
 * between calls (the -D macros), so this also checks that a parse leaves
 * nothing behind; LeakSanitizer sees every input's allocations.
 *
 * The parser reports each mistake through log_warnx(), which would print
 * megabytes per minute here.  Unless FUZZ_PARSE_VERBOSE is set, stdio's
 * stderr is pointed at /dev/null: libFuzzer took its own copy of the
 * pointer when it started, and the sanitizers write to fd 2 directly, so
 * their reports still appear.
 *
 * An "include" in the input opens that path for reading only; the
 * parser refuses anything but a private regular file, does not block on
 * FIFOs or devices, and bounds the include depth and count.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "conf.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static FILE	*devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((devnull = fopen("/dev/null", "w")) == NULL) {
		perror("/dev/null");
		exit(1);
	}
	if (sodium_init() == -1) {
		fprintf(stderr, "sodium_init failed\n");
		exit(1);
	}
	log_init(1, 0);
	if (getenv("FUZZ_PARSE_VERBOSE") == NULL)
		stderr = devnull;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wgmeshd_conf	*conf;
	FILE			*fp;

	/* fmemopen wants a buffer of at least one byte; "r" only reads it */
	if (size == 0)
		return (0);
	if ((fp = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return (0);
	conf = parse_config_stream("fuzz.conf", fp);
	fclose(fp);
	if (conf != NULL) {
		conf_print(devnull, conf);
		conf_free(conf);
	}
	return (0);
}
