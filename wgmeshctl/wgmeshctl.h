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
 * wgmeshctl: what wgmeshctl.c (the commands, the text and JSON views) and
 * metrics.c (show metrics, Prometheus' text format) share.
 */

#ifndef WGMESHCTL_H
#define WGMESHCTL_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * A field of struct ctl_counters: its group and name as show counters
 * prints them, where it is, and the metric show metrics makes of it
 * (wgmeshd_METRIC_total, with one label LABEL="VALUE" when label is not
 * NULL).  The fields of one metric follow each other; the first one's
 * help is the metric's.
 */
struct counter {
	const char	*group;
	const char	*name;
	size_t		 offset;
	const char	*metric;
	const char	*label;
	const char	*value;
	const char	*help;
};

extern const struct counter	counters[];
extern const size_t		ncounters;

/* metrics.c */
int		 metrics_print(const struct ctl_iface *, size_t,
		    const struct ctl_peer *, size_t, const struct ctl_counters *);

#endif /* WGMESHCTL_H */
