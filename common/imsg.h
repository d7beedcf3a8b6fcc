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
/*
 * The most a write queue may hold, in message bytes: beyond it the
 * reader is not keeping up (or not reading at all), and queueing more
 * would only grow the writer.  The largest legitimate burst is a reload
 * with the most peers the engine takes (65536): to the engine, a
 * RECONF_PEER (16 + 380 bytes), a PAIR_KEY (16 + 40) and a DEVICE_PEER
 * report (16 + 56) per peer, 524 bytes, so 34.3 MB, plus an
 * interface's few; a `show peers` answer for as many is 65536 CTL_PEERs
 * of 16 + 288 bytes, 19.9 MB.  64 MiB holds the largest with room for a
 * second round of reports.
 */
#define IMSG_WQ_MAX_BYTES	(64 * 1024 * 1024)

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
	size_t			 wqbytes; /* their bytes, not yet written */
	int			 nofds;	/* a descriptor received is an error */
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
void	 imsgbuf_refuse_fds(struct imsgbuf *);
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
	const char		*name;	/* the other side, for fatal errors */
};

void	 imsgev_init(struct imsgev *, struct event_base *, int,
	    event_callback_fn, void *);
int	 imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
	    const void *, size_t);
void	 imsgev_pipe(struct imsgev *, const char *, int);
int	 imsgev_io(struct imsgev *, short);
void	 imsgev_clear(struct imsgev *);

#endif /* WGM_IMSG_H */
