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

#ifndef FUZZ_DAEMON_H
#define FUZZ_DAEMON_H

/*
 * What the fuzz targets for the daemon's message handlers share
 * (fuzz_daemon.c): reading the input, the harness's end of a pipe to a
 * process, and the bookkeeping that lets an input end in fatal() without
 * leaking.  Built with -DFUZZING, so that fatal() jumps back to the
 * target (common/log.c).
 *
 * A target includes this after imsg.h and before the daemon's source
 * file, then defines imsg_get and imsg_free to the fuzz_ versions: the
 * message a handler is working on when it calls fatal() is then freed
 * by fuzz_imsg_forget(), and a handler that returns without freeing one
 * is caught.  fuzz_deliver() hands a process what the harness wrote to
 * its pipe, handler call by handler call, as its event loop would.
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "imsg.h"
#include "proto.h"
#include "fuzz_input.h"

void		 fuzz_string(struct fuzz_in *, char *, size_t,
		    const char *const *, size_t);
void		 fuzz_addr(struct fuzz_in *, struct imsg_addr *);
int		 fuzz_addr_is_endpoint(const struct imsg_addr *);

/* the message being handled, as imsg_get() returned it */
extern struct imsg_hdr	 fuzz_cur_hdr;
extern uint8_t		 fuzz_cur_data[MAX_IMSGSIZE];
extern size_t		 fuzz_cur_len;
extern unsigned long	 fuzz_cur_seq;	/* counts the messages */

ssize_t		 fuzz_imsg_get(struct imsgbuf *, struct imsg *);
void		 fuzz_imsg_free(struct imsg *);
void		 fuzz_imsg_forget(int);

/*
 * Descriptors sent to a process are copies of one pipe's write end, or of
 * one end of a datagram socketpair (fuzz_fd_socket()); the copies a
 * process was given and still holds are found by fuzz_fd_sweep().
 */
void		 fuzz_fd_init(void);
int		 fuzz_fd_copy(void);
int		 fuzz_fd_socket(void);
int		 fuzz_fd_is_copy(int);
void		 fuzz_fd_sweep(int);

/* the harness's end of a process's pipe */
struct fuzz_pipe {
	struct imsgbuf	 ibuf;
	int		 theirs;	/* the process's end */
};

/*
 * What a target does around each call of a handler by fuzz_deliver(),
 * any of them NULL: "stop" says to deliver no more for now (before and
 * after each call), "after" follows a call that returned, "fatal" one
 * that ended in fatal().
 */
struct fuzz_hooks {
	int		(*stop)(void);
	void		(*after)(void);
	void		(*fatal)(void);
};

void		 fuzz_pipe_open(struct fuzz_pipe *);
void		 fuzz_pipe_close(struct fuzz_pipe *);
size_t		 fuzz_pipe_pending(struct fuzz_pipe *);
int		 fuzz_pipe_send(struct fuzz_pipe *, uint32_t, uint32_t, int,
		    const void *, size_t);
void		 fuzz_queue_drop(struct imsgbuf *);
int		 fuzz_deliver(struct fuzz_pipe *, int, event_callback_fn,
		    void *, const struct fuzz_hooks *);

/*
 * A configuration as the parent sends it to its children: two
 * interfaces, wg0 with three peers (endpoints: an IPv4 literal, an IPv6
 * literal, a host name), listening on 51820, gossip and LAN discovery on
 * 1666, and wg1 with two (none, a host name), on 51821, gossip on 1667
 * and no LAN discovery.
 */
#define FUZZ_NKEYS	5
extern const uint8_t	 fuzz_keys[FUZZ_NKEYS][32];
void		 fuzz_send_conf(struct fuzz_pipe *, uint32_t);

/*
 * A message type as the inputs name it: codes below FUZZ_NTYPES by a
 * list in the order the corpora's seeds were written in, any other as
 * itself.  So the seeds keep their meaning when the enum (proto.h) is
 * renumbered; a new type goes at the end of the list.
 */
#define FUZZ_NTYPES	32
uint32_t	 fuzz_type(uint32_t);

/*
 * The engine's surroundings (fuzz_engine.c, fuzz_control.c): the sandbox
 * is never reached; the clock is fuzz_clock, for time() and for
 * realtime_us() (gossip's counters) alike; host names are looked up by
 * fuzz_getaddrinfo().  Without fuzz_dns_input, every name has one
 * address, 198.18.5.5, at once.  With it, each lookup takes the next
 * input byte: odd, it is answered at once by fuzz_dns_addrinfo(), as
 * evdns does from /etc/hosts or when it cannot even ask; even, it stays
 * in flight until fuzz_dns_take() (at most FUZZ_DNS_MAX of them).
 */
#define FUZZ_DNS_MAX	32

extern time_t		 fuzz_clock;
extern struct fuzz_in	*fuzz_dns_input;

time_t		 fuzz_time(time_t *);
int64_t		 fuzz_realtime_us(void);
struct evdns_getaddrinfo_request *fuzz_getaddrinfo(struct evdns_base *,
		    const char *, const char *, const struct evutil_addrinfo *,
		    evdns_getaddrinfo_cb, void *);
struct evutil_addrinfo *fuzz_dns_addrinfo(struct fuzz_in *, int *);
size_t		 fuzz_dns_pending(void);
void		 fuzz_dns_take(struct fuzz_in *, evdns_getaddrinfo_cb *,
		    void **);
void		 fuzz_dns_clear(void);

/* fatal() lands here; a target calls log_fuzz_onfatal(&fuzz_jmp) */
extern jmp_buf		 fuzz_jmp;

void		 fuzz_init(int);
void		 fuzz_atexit(void (*)(void));
struct event_base *fuzz_event_base(void);
__attribute__((__noreturn__)) void fuzz_fail(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

#endif /* FUZZ_DAEMON_H */
