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
 * The storage process (storage.c) and the state files it keeps
 * (statefile.c).
 */

#ifndef STORAGE_H
#define STORAGE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct state_entry;

/* storage.c: a changed state is written this long after it is saved */
#define STORAGE_WRITE_SECONDS	5

/*
 * statefile.c: the known endpoints of an interface's peers, in
 * IFNAME.state in the current directory (the storage process's chroot).
 * A damaged file is refused as a whole ("line N: reason").  The storage
 * process coalesces saves: at most one per STORAGE_WRITE_SECONDS, and one
 * at shutdown.
 */
#define STATEFILE_LINE_MAX	256		/* including the newline */
#define STATEFILE_SIZE_MAX	(1024 * 1024)
#define STATEFILE_MISSING	1		/* statefile_load(): no file */

const char	*origin_name(uint8_t);
int		 statefile_parse(const char *, size_t, int64_t,
		    struct state_entry **, size_t *, char *, size_t);
int		 statefile_format(char *, size_t, const struct state_entry *,
		    size_t);
size_t		 statefile_size(size_t);
int		 statefile_load(const char *, struct state_entry **, size_t *,
		    char *, size_t);
int		 statefile_save(const char *, const struct state_entry *,
		    size_t, char *, size_t);
int		 statefile_entry_valid(const struct state_entry *);

#endif /* STORAGE_H */
