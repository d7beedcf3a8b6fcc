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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"
#include "engine.h"

/*
 * wgmeshctl ping (IMSG_CTL_PING): one probe out at a time, the next a
 * second after the last was sent, or at once after one given up.  A
 * run ends with its client, and there are CONTROL_PINGS_MAX at most.
 */
struct ctl_ping_run {
	struct ctl_ping		 req;		/* as asked, checked */
	char			 ifname[IMSG_IFNAME_MAX];	/* the peer's */
	uint8_t			 public_key[WG_KEY_LEN];	/* for a reload */
	struct event		*ev;		/* the probe's deadline, or
						   the next probe */
	uint32_t		 seq;		/* probes sent */
	uint32_t		 answered;
	uint32_t		 id;		/* the one out; 0: none */
	struct timespec		 sent;		/* CLOCK_MONOTONIC */
};

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint32_t		 id;
	struct imsgev		 iev;
	int			 waiting;	/* for the parent's answer */
	int			 closing;	/* after the answer is out */
	int			 monitor;	/* takes IMSG_CTL_EVENTs */
	struct ctl_ping_run	*ping;		/* a ping running */
};

static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static struct event_base	*ctl_base;
static struct event		*ctl_ev_accept;
static int			 ctl_fd = -1;
static uint32_t			 ctl_next_id = 1;
static size_t			 ctl_nconns;
static size_t			 ctl_npings;
static uint32_t			 ctl_ping_next_id = 1;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(int, short, void *);
static void	 control_close(struct ctl_conn *);
static void	 control_end(struct ctl_conn *, int32_t, const char *);
static struct ctl_conn *control_find(uint32_t);
static void	 control_ping_start(struct ctl_conn *, const struct ctl_ping *);
static void	 control_ping_send(struct ctl_conn *);
static void	 control_ping_due(int, short, void *);
static int	 control_ping_answer(struct ctl_conn *, struct mesh_peer *,
		    int);
static void	 control_ping_end(struct ctl_conn *, const char *);
static void	 control_ping_free(struct ctl_conn *);
static int64_t	 control_ping_elapsed_us(const struct ctl_ping_run *);

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
	control_ping_free(c);
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
	struct ctl_ping		 cp;
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
	if (c->ping != NULL) {
		/* a ping runs: the client may only leave */
		if ((n = imsg_get(&c->iev.ibuf, &imsg)) != 0) {
			if (n > 0)
				imsg_free(&imsg);
			log_warnx("control: client %u: a request during a "
			    "ping; disconnected", c->id);
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
		case IMSG_CTL_PING:
			imsg_payload(&imsg, &cp, sizeof(cp));
			if (memchr(cp.ifname, '\0', sizeof(cp.ifname)) ==
			    NULL || memchr(cp.name, '\0', sizeof(cp.name)) ==
			    NULL || cp.count < 1 ||
			    cp.count > CTL_PING_COUNT_MAX ||
			    cp.wait_seconds < 1 ||
			    cp.wait_seconds > CTL_PING_WAIT_MAX) {
				bad = 1;
				break;
			}
			control_ping_start(c, &cp);
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
		if (c->closing || c->waiting || c->monitor || c->ping != NULL)
			break;	/* one request per connection */
	}
}

/*
 * IMSG_CTL_PING, checked: the peer found and up, or the reason why not
 * at once; then its first probe.
 */
static void
control_ping_start(struct ctl_conn *c, const struct ctl_ping *req)
{
	struct ctl_ping_run	*run;
	struct mesh_peer	*p;
	char			 why[IMSG_TEXT_MAX];

	if (ctl_npings >= CONTROL_PINGS_MAX) {
		snprintf(why, sizeof(why), "%d pings run already, the most "
		    "at once; try again later", CONTROL_PINGS_MAX);
		control_end(c, 1, why);
		return;
	}
	if ((p = engine_ctl_ping_find(req, why, sizeof(why))) == NULL) {
		control_end(c, 1, why);
		return;
	}
	if ((run = calloc(1, sizeof(*run))) == NULL) {
		log_warn("control: ping");
		control_end(c, 1, "out of memory");
		return;
	}
	if ((run->ev = evtimer_new(ctl_base, control_ping_due, c)) == NULL) {
		log_warnx("control: ping timer");
		free(run);
		control_end(c, 1, "out of memory");
		return;
	}
	run->req = *req;
	engine_ping_peer_id(p, run->ifname, sizeof(run->ifname),
	    run->public_key);
	c->ping = run;
	ctl_npings++;
	control_ping_send(c);
}

static void
control_ping_free(struct ctl_conn *c)
{
	if (c->ping == NULL)
		return;
	event_free(c->ping->ev);
	free(c->ping);
	c->ping = NULL;
	ctl_npings--;
}

/* The run is over: what came back decides the status. */
static void
control_ping_end(struct ctl_conn *c, const char *why)
{
	struct ctl_ping_run	*run = c->ping;
	char			 text[IMSG_TEXT_MAX];
	int32_t			 status = 0;

	if (why != NULL) {
		strlcpy(text, why, sizeof(text));
		status = 1;
	} else if (run->answered == 0) {
		snprintf(text, sizeof(text), "no answer from %s on %s to %u "
		    "probe%s (wgmeshctl show peers %s says what is known of "
		    "it)", run->req.name, run->ifname, run->seq,
		    run->seq == 1 ? "" : "s", run->req.name);
		status = 1;
	} else
		text[0] = '\0';
	control_ping_free(c);
	control_end(c, status, text);
}

/* The next probe, with an id never used before (wrapping, never 0). */
static void
control_ping_send(struct ctl_conn *c)
{
	struct ctl_ping_run	*run = c->ping;
	struct mesh_peer	*p;
	struct timeval		 tv;
	char			 why[IMSG_TEXT_MAX];

	if ((p = engine_ping_peer(run->ifname, run->public_key)) == NULL) {
		snprintf(why, sizeof(why), "peer %s on %s is no longer "
		    "configured", run->req.name, run->ifname);
		control_ping_end(c, why);
		return;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &run->sent) == -1)
		fatal("clock_gettime");
	if (engine_ping_send(p, ctl_ping_next_id, why, sizeof(why)) == -1) {
		control_ping_end(c, why);
		return;
	}
	run->seq++;
	run->id = ctl_ping_next_id++;
	if (ctl_ping_next_id > MESH_PING_ID_MAX)
		ctl_ping_next_id = 1;
	tv.tv_sec = run->req.wait_seconds;
	tv.tv_usec = 0;
	if (evtimer_add(run->ev, &tv) == -1)
		fatalx("control: ping timer");
}

/*
 * The timer: the probe out is given up, or (none out) the next is due.
 */
static void
control_ping_due(int fd, short event, void *arg)
{
	struct ctl_conn		*c = arg;
	struct ctl_ping_run	*run = c->ping;

	if (run->id != 0) {
		run->id = 0;
		if (control_ping_answer(c, engine_ping_peer(run->ifname,
		    run->public_key), 0) == -1)
			return;
	}
	if (run->seq >= run->req.count) {
		control_ping_end(c, NULL);
		return;
	}
	control_ping_send(c);
}

/*
 * An IMSG_CTL_PONG for the probe just answered (or given up), with p's
 * path now.  Returns -1 when the client, which does not read its
 * answers, was let go (c is gone then).
 */
static int
control_ping_answer(struct ctl_conn *c, struct mesh_peer *p, int answered)
{
	struct ctl_ping_run	*run = c->ping;
	struct ctl_pong		 pong;
	int64_t			 us;

	if (imsgbuf_queuelen(&c->iev.ibuf) >= CONTROL_EVENTS_QUEUED) {
		log_warnx("control: client %u: %d answers to its ping not "
		    "read; disconnected", c->id, CONTROL_EVENTS_QUEUED);
		control_close(c);
		return (-1);
	}
	memset(&pong, 0, sizeof(pong));
	strlcpy(pong.ifname, run->ifname, sizeof(pong.ifname));
	strlcpy(pong.name, run->req.name, sizeof(pong.name));
	if (p != NULL)
		engine_ping_describe(p, &pong);
	pong.seq = run->seq;
	if (answered) {
		us = control_ping_elapsed_us(run);
		pong.rtt_us = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)us;
		pong.answered = 1;
	}
	imsgev_compose(&c->iev, IMSG_CTL_PONG, 0, -1, &pong, sizeof(pong));
	return (0);
}

/*
 * The ALIVE_ACK of a ping's probe came from p (mesh_ping_ack()): the
 * client whose probe it is, if it still waits, hears of it; an answer
 * after its probe was given up, or to another's, finds no one.
 */
void
control_pong(struct mesh_peer *p, uint32_t id)
{
	struct ctl_conn		*c;
	struct ctl_ping_run	*run;
	struct timeval		 tv;
	int64_t			 left_us;
	uint8_t			 key[WG_KEY_LEN];
	char			 ifname[IMSG_IFNAME_MAX];

	if (id == 0)
		return;
	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->ping != NULL && c->ping->id == id)
			break;
	if (c == NULL)
		return;
	run = c->ping;
	engine_ping_peer_id(p, ifname, sizeof(ifname), key);
	if (strcmp(ifname, run->ifname) != 0 ||
	    memcmp(key, run->public_key, WG_KEY_LEN) != 0)
		return;		/* another peer echoed our token */
	run->id = 0;
	run->answered++;
	if (control_ping_answer(c, p, 1) == -1)
		return;
	if (run->seq >= run->req.count) {
		control_ping_end(c, NULL);
		return;
	}
	/* the next a second after this one was sent */
	left_us = 1000000 - control_ping_elapsed_us(run);
	if (left_us < 0)
		left_us = 0;
	tv.tv_sec = left_us / 1000000;
	tv.tv_usec = left_us % 1000000;
	if (evtimer_add(run->ev, &tv) == -1)
		fatalx("control: ping timer");
}

/* Microseconds since the probe out was sent. */
static int64_t
control_ping_elapsed_us(const struct ctl_ping_run *run)
{
	struct timespec	now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fatal("clock_gettime");
	return ((int64_t)(now.tv_sec - run->sent.tv_sec) * 1000000 +
	    (now.tv_nsec - run->sent.tv_nsec) / 1000);
}
