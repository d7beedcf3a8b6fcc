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
 * The storage process: the only one that writes to the state directory.
 * It runs as an unprivileged user, chrooted into that directory, under a
 * seccomp filter.  It takes the configuration from the parent and talks
 * to the engine; what it keeps (known endpoints) comes with gossip.
 */

#include <sys/types.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"

struct storage {
	struct event_base	*base;
	struct imsgev		 iev_parent;
	struct imsgev		 iev_engine;
	int			 in_reconf;
};

static struct storage	 storage_state;

static void	 storage_dispatch_parent(int, short, void *);
static void	 storage_dispatch_engine(int, short, void *);

__dead void
storage(int debug, int verbose, const char *user, const char *statedir)
{
	struct storage	*s = &storage_state;

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("storage");

	tzset();
	if ((s->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	privdrop_statedir(user, statedir);
	sandbox_storage();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	imsgev_init(&s->iev_parent, s->base, 3, storage_dispatch_parent, s);
	imsgev_init(&s->iev_engine, s->base, 4, storage_dispatch_engine, s);
	event_base_dispatch(s->base);
	exit(0);
}

static void
storage_dispatch_parent(int fd, short event, void *arg)
{
	struct storage	*s = arg;
	struct imsgev	*iev = &s->iev_parent;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 verbose;

	if (imsgev_io(iev, event) == -1)
		exit(0);	/* the parent went away */
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the parent");
		if (n == 0)
			break;
		switch (imsg.hdr.type) {
		case IMSG_RECONF_BEGIN:
			if (s->in_reconf || imsg_get_len(&imsg) !=
			    sizeof(uint32_t))
				fatalx("invalid IMSG_RECONF_BEGIN");
			s->in_reconf = 1;
			break;
		case IMSG_RECONF_IFACE:
			if (!s->in_reconf || imsg_get_len(&imsg) !=
			    sizeof(struct imsg_iface))
				fatalx("invalid IMSG_RECONF_IFACE");
			break;
		case IMSG_RECONF_PEER:
			if (!s->in_reconf || imsg_get_len(&imsg) !=
			    sizeof(struct imsg_peer))
				fatalx("invalid IMSG_RECONF_PEER");
			break;
		case IMSG_RECONF_END:
			if (!s->in_reconf || imsg_get_len(&imsg) != 0)
				fatalx("invalid IMSG_RECONF_END");
			s->in_reconf = 0;
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_verbose(&imsg, &verbose) == -1)
				fatalx("invalid IMSG_CTL_LOG_VERBOSE");
			log_setverbose(verbose);
			break;
		default:
			fatalx("unexpected %s from the parent",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
}

static void
storage_dispatch_engine(int fd, short event, void *arg)
{
	struct storage	*s = arg;
	struct imsgev	*iev = &s->iev_engine;
	struct imsg	 imsg;
	ssize_t		 n;

	/* the parent notices and reports a dead engine */
	if (imsgev_io(iev, event) == -1)
		exit(0);
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the engine");
		if (n == 0)
			break;
		fatalx("unexpected %s from the engine",
		    imsg_type_name(imsg.hdr.type));
	}
}
