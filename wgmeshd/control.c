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
 * The engine's side of the control socket.  wgmeshctl speaks imsg: one
 * request, then answers ending in IMSG_CTL_END.  A client that sends
 * anything malformed is disconnected; the daemon goes on.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"
#include "engine.h"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	struct imsgev		 iev;
	int			 waiting;	/* for the parent's answer */
	int			 closing;	/* after the answer is out */
	int			 monitor;	/* takes IMSG_CTL_EVENTs */
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static struct event_base	*ctl_base;
static struct event		*ctl_ev_accept;
static int			 ctl_fd = -1;
static uint32_t			 ctl_next_id = 1;
static size_t			 ctl_nconns;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(int, short, void *);
static void	 control_close(struct ctl_conn *);
static void	 control_end(struct ctl_conn *, int32_t, const char *);
static struct ctl_conn *control_find(uint32_t);

void
control_init(struct event_base *base, int fd)
{
	if (ctl_fd != -1)
		fatalx("control socket passed twice");
	ctl_base = base;
	ctl_fd = fd;
	if ((ctl_ev_accept = event_new(base, fd, EV_READ | EV_PERSIST,
	    control_accept, NULL)) == NULL ||
	    event_add(ctl_ev_accept, NULL) == -1)
		fatalx("control event");
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	int		 cfd;

	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control: accept");
		return;
	}
	if (ctl_nconns >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: too many clients");
		close(cfd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control");
		close(cfd);
		return;
	}
	c->id = ctl_next_id++;
	if (ctl_next_id == 0)
		ctl_next_id = 1;	/* 0 means "no client" */
	imsgev_init(&c->iev, ctl_base, cfd, control_dispatch, c);
	/* a descriptor from a client: "bad framing", and it is closed */
	imsgev_pipe(&c->iev, "a control client", 0);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
}

static struct ctl_conn *
control_find(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

static void
control_close(struct ctl_conn *c)
{
	TAILQ_REMOVE(&ctl_conns, c, entry);
	ctl_nconns--;
	imsgev_clear(&c->iev);
	free(c);
}

void
control_close_all(void)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&ctl_conns)) != NULL)
		control_close(c);
}

static void
control_end(struct ctl_conn *c, int32_t status, const char *text)
{
	struct ctl_result	r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	if (text != NULL)
		strlcpy(r.text, text, sizeof(r.text));
	imsgev_compose(&c->iev, IMSG_CTL_END, 0, -1, &r, sizeof(r));
	c->closing = 1;
}

/*
 * A change of a peer's state for every client that watches.  One that
 * does not read its events is let go rather than queued for without
 * bound.
 */
void
control_event(const struct ctl_event *ev)
{
	struct ctl_conn	*c, *next;

	for (c = TAILQ_FIRST(&ctl_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->monitor)
			continue;
		if (imsgbuf_queuelen(&c->iev.ibuf) >= CONTROL_EVENTS_QUEUED) {
			log_warnx("control: client %u: %d events not read; "
			    "disconnected", c->id, CONTROL_EVENTS_QUEUED);
			control_close(c);
			continue;
		}
		imsgev_compose(&c->iev, IMSG_CTL_EVENT, 0, -1, ev,
		    sizeof(*ev));
	}
}

/* An answer from the parent for client "id" (a reload). */
void
control_relay(uint32_t id, uint32_t type, const void *data, size_t len)
{
	struct ctl_conn	*c;

	if ((c = control_find(id)) == NULL)
		return;		/* the client left meanwhile */
	imsgev_compose(&c->iev, type, 0, -1, data, len);
	if (type == IMSG_CTL_END) {
		c->waiting = 0;
		c->closing = 1;
	}
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct ctl_conn		*c = arg;
	struct imsg		 imsg;
	struct ctl_show_peers	 sp;
	const char		*why;
	ssize_t			 n;
	int			 verbose, bad = 0;

	if (imsgev_io(&c->iev, event) == -1) {
		control_close(c);
		return;
	}
	if (c->monitor) {
		/* it asked for events and may say nothing more */
		if ((n = imsg_get(&c->iev.ibuf, &imsg)) != 0) {
			if (n > 0)
				imsg_free(&imsg);
			log_warnx("control: client %u: a request after "
			    "monitor; disconnected", c->id);
			control_close(c);
		}
		return;
	}
	if (c->closing || c->waiting) {
		/* one request per connection; close once the answer is out */
		if (c->closing && imsgbuf_queuelen(&c->iev.ibuf) == 0)
			control_close(c);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&c->iev.ibuf, &imsg)) == -1) {
			log_warnx("control: client %u: bad framing; disconnected",
			    c->id);
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_CONTROL)) != NULL) {
			log_warnx("control: client %u: invalid request: %s; "
			    "disconnected", c->id, why);
			imsg_free(&imsg);
			control_close(c);
			return;
		}
		switch (imsg.hdr.type) {
		case IMSG_CTL_SHOW_PEERS:
			/* every peer, or those of one name */
			if (imsg_get_len(&imsg) == 0) {
				engine_ctl_peers(&c->iev, NULL);
				control_end(c, 0, NULL);
				break;
			}
			imsg_payload(&imsg, &sp, sizeof(sp));
			if (memchr(sp.name, '\0', sizeof(sp.name)) == NULL) {
				bad = 1;
				break;
			}
			engine_ctl_peers(&c->iev, sp.name);
			control_end(c, 0, NULL);
			break;
		case IMSG_CTL_SHOW_INTERFACES:
		case IMSG_CTL_SHOW_SELF:
			/* the same answer: see struct ctl_iface */
			engine_ctl_ifaces(&c->iev);
			control_end(c, 0, NULL);
			break;
		case IMSG_CTL_SHOW_COUNTERS:
			engine_ctl_counters(&c->iev);
			control_end(c, 0, NULL);
			break;
		case IMSG_CTL_SHOW_METRICS:
			/* all of it at once: one moment (see proto.h) */
			engine_ctl_ifaces(&c->iev);
			engine_ctl_peers(&c->iev, NULL);
			engine_ctl_counters(&c->iev);
			control_end(c, 0, NULL);
			break;
		case IMSG_CTL_RELOAD:
			/* the parent answers; control_relay() passes it on */
			engine_ctl_reload(c->id);
			c->waiting = 1;
			break;
		case IMSG_CTL_MONITOR:
			/* no answer: events, until the client leaves */
			c->monitor = 1;
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_verbose(&imsg, &verbose) == -1) {
				bad = 1;
				break;
			}
			engine_ctl_verbose(verbose);
			control_end(c, 0, NULL);
			break;
		default:
			bad = 1;
			break;
		}
		imsg_free(&imsg);
		if (bad) {
			log_warnx("control: client %u: invalid request; "
			    "disconnected", c->id);
			control_close(c);
			return;
		}
		if (c->closing || c->waiting || c->monitor)
			break;	/* one request per connection */
	}
}
