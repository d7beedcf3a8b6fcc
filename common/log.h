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

#ifndef WGM_LOG_H
#define WGM_LOG_H

#include <stdarg.h>
#ifdef FUZZING
#include <setjmp.h>
#endif

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

/*
 * Logging in the manner of OpenBSD's log.c: to syslog, or to stderr when
 * running in the foreground.  Once log_procinit() has named the process,
 * every line starts with that name, so the three processes of the daemon
 * can be told apart; before that (wgmeshd -n) lines are printed as they
 * are, which keeps "file:line: message" errors exact.
 */
typedef void (*log_capture_cb)(const char *, void *);

void	log_init(int to_stderr, int facility);
void	log_capture(log_capture_cb, void *);
void	log_procinit(const char *procname);
void	log_setverbose(int verbose);
int	log_getverbose(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
#ifdef FUZZING
/* fuzz targets only: see log.c */
void	log_fuzz_onfatal(jmp_buf *);
void	log_fuzz_quiet(int);
const char *log_fuzz_fatalmsg(void);
#endif

#endif /* WGM_LOG_H */
