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


#include <sys/types.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "imsg.h"
#include "log.h"

static void	imsgev_arm(struct imsgev *);

void
imsgev_init(struct imsgev *iev, struct event_base *base, int fd,
    event_callback_fn handler, void *arg)
{
	memset(iev, 0, sizeof(*iev));
	imsgbuf_init(&iev->ibuf, fd);
	iev->base = base;
	iev->handler = handler;
	iev->arg = arg;
	imsgev_arm(iev);
}

static void
imsgev_arm(struct imsgev *iev)
{
	short	events = EV_READ;

	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (iev->events == events)
		return;
	if (iev->events != 0)
		event_del(&iev->ev);
	event_assign(&iev->ev, iev->base, iev->ibuf.fd, events | EV_PERSIST,
	    iev->handler, iev->arg);
	if (event_add(&iev->ev, NULL) == -1)
		fatalx("event_add");
	iev->events = events;
}

/*
 * Names the other side of the pipe for fatal errors, and says whether it
 * may pass descriptors.
 */
void
imsgev_pipe(struct imsgev *iev, const char *name, int fds)
{
	iev->name = name;
	if (!fds)
		imsgbuf_refuse_fds(&iev->ibuf);
}

/*
 * Queues a message.  Failing to queue one to another daemon process is
 * fatal: the processes would no longer agree on the state.  A full write
 * queue (IMSG_WQ_MAX_BYTES) is fatal here, whoever the reader: it reads
 * too slowly or not at all, and waiting would only grow this process.
 */
int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(&iev->ibuf, type, peerid, 0, fd, data, len) == -1) {
		if (errno == ENOBUFS)
			fatalx("the write queue to %s holds %zu bytes, the "
			    "most it may (%d): it does not read",
			    iev->name != NULL ? iev->name : "a pipe",
			    iev->ibuf.wqbytes, IMSG_WQ_MAX_BYTES);
		return (-1);
	}
	imsgev_arm(iev);
	return (0);
}

/*
 * Reads and writes what the event allows.  Returns -1 when the other side
 * has gone (EOF or an error); the caller decides what that means.
 */
int
imsgev_io(struct imsgev *iev, short event)
{
	ssize_t	n;

	if (event & EV_READ) {
		n = imsgbuf_read(&iev->ibuf);
		if (n == 0)
			return (-1);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1)
			return (-1);
	}
	imsgev_arm(iev);
	return (0);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = 0;
	imsgbuf_clear(&iev->ibuf);
	if (iev->ibuf.fd != -1)
		close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
}
