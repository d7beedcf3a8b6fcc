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


#ifndef WGM_IMSG_H
#define WGM_IMSG_H

#include <sys/types.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Framing of messages between the daemon's processes (and between
 * wgmeshctl and the engine), in the manner of OpenBSD's imsg: a fixed
 * header, a payload of at most MAX_IMSGSIZE - IMSG_HEADER_SIZE bytes, and
 * at most one file descriptor passed with SCM_RIGHTS alongside the first
 * byte of the message that carries it.  All I/O is non-blocking and copes
 * with partial reads and writes.
 */

#define MAX_IMSGSIZE		16384
#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define IMSGF_HASFD		0x0001
/* descriptors received but not yet claimed by a message */
#define IMSG_MAX_PENDING_FDS	16

struct imsg_hdr {
	uint32_t	 type;
	uint16_t	 len;		/* header included */
	uint16_t	 flags;
	uint32_t	 peerid;
	uint32_t	 pid;
};

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	unsigned char		*buf;
	size_t			 size;
	size_t			 wpos;	/* bytes already written */
	int			 fd;	/* -1 when none */
};

struct imsgbuf {
	int			 fd;
	pid_t			 pid;
	TAILQ_HEAD(, ibuf)	 wq;	/* write queue */
	size_t			 wqlen;	/* messages queued */
	unsigned char		 rbuf[2 * MAX_IMSGSIZE];
	size_t			 rlen;	/* valid bytes in rbuf */
	int			 fds[IMSG_MAX_PENDING_FDS];
	size_t			 nfds;	/* received, unclaimed */
};

struct imsg {
	struct imsg_hdr		 hdr;
	int			 fd;	/* -1 when none */
	void			*data;	/* NULL when the payload is empty */
	size_t			 datalen;
};

void	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_clear(struct imsgbuf *);
int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
ssize_t	 imsgbuf_read(struct imsgbuf *);
int	 imsgbuf_write(struct imsgbuf *);
int	 imsgbuf_flush(struct imsgbuf *);
size_t	 imsgbuf_queuelen(const struct imsgbuf *);
ssize_t	 imsg_get(struct imsgbuf *, struct imsg *);
int	 imsg_get_data(struct imsg *, void *, size_t);
size_t	 imsg_get_len(const struct imsg *);
int	 imsg_get_fd(struct imsg *);
void	 imsg_free(struct imsg *);

/*
 * One imsgbuf on a libevent loop (imsgev.c): read interest always, write
 * interest only while something is queued.  The handler calls
 * imsgev_io() first, then imsg_get() in a loop.
 */
struct imsgev {
	struct imsgbuf		 ibuf;
	struct event		 ev;
	struct event_base	*base;
	event_callback_fn	 handler;
	void			*arg;
	short			 events;
};

void	 imsgev_init(struct imsgev *, struct event_base *, int,
	    event_callback_fn, void *);
int	 imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
	    const void *, size_t);
int	 imsgev_io(struct imsgev *, short);
void	 imsgev_clear(struct imsgev *);

#endif /* WGM_IMSG_H */
