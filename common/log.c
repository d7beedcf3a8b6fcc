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


#include <errno.h>
#ifdef FUZZING
#include <setjmp.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int		 log_to_stderr = 1;
static int		 log_verbose;
static const char	*log_procname;
static log_capture_cb	 log_capture_fn;
static void		*log_capture_arg;
#ifdef FUZZING
static jmp_buf		*log_fuzz_jmp;
static int		 log_fuzz_silent;
static char		 log_fuzz_msg[1024];
#endif

void
log_init(int to_stderr, int facility)
{
	log_to_stderr = to_stderr;
	if (log_to_stderr == 0)
		openlog("wgmeshd", LOG_PID | LOG_NDELAY, facility);
	tzset();
}

/*
 * While a capture function is set, every message is also handed to it:
 * the parent uses this to send a reload's errors to wgmeshctl.
 */
void
log_capture(log_capture_cb fn, void *arg)
{
	log_capture_fn = fn;
	log_capture_arg = arg;
}

void
log_procinit(const char *procname)
{
	log_procname = procname;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

#ifdef FUZZING
/*
 * Fuzz targets only (regress/fuzz): with a jmp_buf set, fatal() and
 * fatalx() jump there instead of exiting, so that one input ending in a
 * fatal error does not end the run; log_fuzz_fatalmsg() says what it
 * was.  While quiet, nothing is printed; capture functions still run.
 */
void
log_fuzz_onfatal(jmp_buf *jb)
{
	log_fuzz_jmp = jb;
}

void
log_fuzz_quiet(int quiet)
{
	log_fuzz_silent = quiet;
}

const char *
log_fuzz_fatalmsg(void)
{
	return (log_fuzz_msg);
}
#endif

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	msg[1024];
	int	saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_capture_fn != NULL && pri <= LOG_WARNING)
		log_capture_fn(msg, log_capture_arg);
#ifdef FUZZING
	if (log_fuzz_silent) {
		errno = saved_errno;
		return;
	}
#endif
	if (log_to_stderr) {
		if (log_procname != NULL)
			fprintf(stderr, "%s: %s\n", log_procname, msg);
		else
			fprintf(stderr, "%s\n", msg);
		fflush(stderr);
	} else {
		if (log_procname != NULL)
			syslog(pri, "%s: %s", log_procname, msg);
		else
			syslog(pri, "%s", msg);
	}
	errno = saved_errno;
}

void
log_warn(const char *emsg, ...)
{
	char	msg[1024];
	va_list	ap;
	int	saved_errno = errno;

	if (emsg == NULL)
		logit(LOG_ERR, "%s", strerror(saved_errno));
	else {
		va_start(ap, emsg);
		vsnprintf(msg, sizeof(msg), emsg, ap);
		va_end(ap);
		logit(LOG_ERR, "%s: %s", msg, strerror(saved_errno));
	}
	errno = saved_errno;
}

void
log_warnx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	ap;

	if (log_verbose > 0) {
		va_start(ap, emsg);
		vlog(LOG_DEBUG, emsg, ap);
		va_end(ap);
	}
}

static __dead void
vfatalc(int code, const char *emsg, va_list ap)
{
	char		 msg[1024];
	const char	*sep, *errstr;

	if (emsg != NULL) {
		vsnprintf(msg, sizeof(msg), emsg, ap);
		sep = ": ";
	} else {
		msg[0] = '\0';
		sep = "";
	}
	errstr = code != 0 ? strerror(code) : NULL;
	if (errstr != NULL)
		logit(LOG_CRIT, "fatal in %s: %s%s%s",
		    log_procname != NULL ? log_procname : "wgmeshd",
		    msg, sep, errstr);
	else
		logit(LOG_CRIT, "fatal in %s%s%s",
		    log_procname != NULL ? log_procname : "wgmeshd",
		    msg[0] != '\0' ? ": " : "", msg);
#ifdef FUZZING
	if (log_fuzz_jmp != NULL) {
		snprintf(log_fuzz_msg, sizeof(log_fuzz_msg), "%s%s%s", msg,
		    errstr != NULL ? sep : "", errstr != NULL ? errstr : "");
		longjmp(*log_fuzz_jmp, 1);
	}
#endif
	exit(1);
}

void
fatal(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
}

void
fatalx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
}
