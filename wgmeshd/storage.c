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
 * seccomp filter.  It takes the configuration from the parent and keeps,
 * for the engine, the known endpoints of each configured interface in
 * IFNAME.state (statefile.c):
 *
 *	engine: LOAD IFNAME		storage: ENTRY ... LOADED n
 *	engine: ENTRY ... SAVE IFNAME n	(the interface's whole state now)
 *
 * A save that changes nothing on disk writes nothing; one that does is
 * written STORAGE_WRITE_SECONDS later, with whatever set is the latest
 * by then, so a file is written at most once in that time.  When the
 * daemon stops, the parent closes our pipe and the engine's; the engine
 * sends its last saves first, and we write everything pending once its
 * pipe closes.  Anything malformed from the engine is fatal: it is the
 * process that handles the network, and we did not start it.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"
#include "storage.h"

#define STORAGE_IFACES_MAX	4096	/* in one configuration */

/* The interface names of one configuration. */
struct storage_conf {
	char			(*ifname)[IMSG_IFNAME_MAX];
	size_t			 n;
};

/* An interface the engine has loaded or saved. */
struct storage_iface {
	LIST_ENTRY(storage_iface) entry;
	char			 ifname[IMSG_IFNAME_MAX];
	struct state_entry	*want;		/* the engine's latest set */
	size_t			 nwant;
	struct state_entry	*disk;		/* what the file holds */
	size_t			 ndisk;
	int			 disk_known;	/* 0: damaged, or not read */
	int			 dirty;		/* want is not on disk: the
						   timer runs exactly then */
	struct event		*ev_write;
};

union storage_msg {
	struct imsg_state_iface	 iface;		/* LOAD, SAVE */
	struct imsg_state_entry	 entry;
};

struct storage {
	struct event_base	*base;
	struct imsgev		 iev_parent;
	struct imsgev		 iev_engine;
	int			 in_reconf;
	int			 parent_gone;	/* the daemon is stopping */
	/*
	 * The names of the last configuration and of the one before: the
	 * engine may not have read a reload that removed an interface when
	 * it saves it.  "next" is the one being received.
	 */
	struct storage_conf	 conf;
	struct storage_conf	 prev;
	struct storage_conf	 next;
	/* the ENTRYs of a save whose SAVE has not come yet */
	char			 pend_ifname[IMSG_IFNAME_MAX];
	struct state_entry	*pend;
	size_t			 npend;
	size_t			 pend_size;
	/*
	 * An engine message for an interface not configured yet: the engine
	 * may have read a configuration that has not reached us.  Nothing
	 * more is read from the engine until the parent's next one.
	 */
	int			 holding;
	uint32_t		 held_type;
	union storage_msg	 held;
	LIST_HEAD(, storage_iface) ifaces;
};

static struct storage	 storage_state;

static void	 storage_dispatch_parent(int, short, void *);
static void	 storage_parent_gone(struct storage *);
static void	 storage_reconf_end(struct storage *);
static int	 storage_conf_has(const struct storage_conf *, const char *);
static void	 storage_dispatch_engine(int, short, void *);
static void	 storage_engine_run(struct storage *);
static int	 storage_engine_msg(struct storage *, uint32_t,
		    const union storage_msg *, int);
static void	 storage_resume(struct storage *);
static const char *storage_entry_invalid(const struct state_entry *);
static void	 storage_load(struct storage *, const char *);
static void	 storage_entry(struct storage *, const char *,
		    const struct state_entry *);
static void	 storage_save(struct storage *, const char *);
static struct storage_iface *storage_iface(struct storage *, const char *);
static void	 storage_write_timer(int, short, void *);
static int	 storage_write(struct storage_iface *);
static __dead void storage_exit(struct storage *);
static void	 storage_clear(struct storage *);
static struct state_entry *entries_dup(const struct state_entry *, size_t);
static int	 entries_equal(const struct state_entry *, size_t,
		    const struct state_entry *, size_t);

__dead void
storage(int debug, int verbose, const char *user, const char *statedir)
{
	struct storage	*s = &storage_state;

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	sandbox_proc_name("storage");

	tzset();
	if ((s->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	privdrop_statedir(user, statedir);
	sandbox_storage();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/*
	 * A service manager or a terminal signals all of the daemon at
	 * once; the parent stops us by closing our pipe, after the engine
	 * has had its say, so that nothing pending is lost.
	 */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	LIST_INIT(&s->ifaces);
	imsgev_init(&s->iev_parent, s->base, 3, storage_dispatch_parent, s);
	imsgev_init(&s->iev_engine, s->base, 4, storage_dispatch_engine, s);
	imsgev_pipe(&s->iev_parent, "the parent", 0);
	imsgev_pipe(&s->iev_engine, "the engine", 0);
	event_base_dispatch(s->base);
	storage_exit(s);
}

static void
storage_dispatch_parent(int fd, short event, void *arg)
{
	struct storage		*s = arg;
	struct imsgev		*iev = &s->iev_parent;
	struct imsg		 imsg;
	struct imsg_iface	 mi;
	char			(*names)[IMSG_IFNAME_MAX];
	const char		*why;
	ssize_t			 n;
	int			 verbose, ended;

	if (imsgev_io(iev, event) == -1) {
		storage_parent_gone(s);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the parent");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_PARENT)) != NULL)
			fatalx("%s", why);
		ended = 0;
		switch (imsg.hdr.type) {
		case IMSG_RECONF_BEGIN:
			if (s->in_reconf)
				fatalx("IMSG_RECONF_BEGIN inside a "
				    "reconfiguration");
			s->in_reconf = 1;
			s->next.n = 0;
			break;
		case IMSG_RECONF_IFACE:
			if (!s->in_reconf)
				fatalx("IMSG_RECONF_IFACE outside a "
				    "reconfiguration");
			imsg_payload(&imsg, &mi, sizeof(mi));
			/* the name becomes a file name */
			if (memchr(mi.ifname, '\0', sizeof(mi.ifname)) ==
			    NULL || !ifname_valid(mi.ifname))
				fatalx("IMSG_RECONF_IFACE: invalid interface "
				    "name");
			if (s->next.n >= STORAGE_IFACES_MAX)
				fatalx("IMSG_RECONF_IFACE: more than %d "
				    "interfaces", STORAGE_IFACES_MAX);
			if ((names = reallocarray(s->next.ifname,
			    s->next.n + 1, sizeof(*names))) == NULL)
				fatal("reconf");
			s->next.ifname = names;
			memcpy(names[s->next.n++], mi.ifname,
			    sizeof(mi.ifname));
			break;
		case IMSG_RECONF_PEER:
			if (!s->in_reconf)
				fatalx("IMSG_RECONF_PEER outside a "
				    "reconfiguration");
			break;
		case IMSG_RECONF_END:
			if (!s->in_reconf)
				fatalx("IMSG_RECONF_END outside a "
				    "reconfiguration");
			s->in_reconf = 0;
			ended = 1;
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
		/* after the free: this reads the engine's messages */
		if (ended)
			storage_reconf_end(s);
	}
}

/*
 * The parent closed its pipe: the daemon is stopping.  The engine sends
 * its last saves and closes its pipe; then everything is written.
 */
static void
storage_parent_gone(struct storage *s)
{
	log_debug("the parent closed its pipe; waiting for the engine");
	imsgev_clear(&s->iev_parent);
	s->parent_gone = 1;
	/* no configuration will come for a message that waits for one */
	storage_resume(s);
	if (s->iev_engine.ibuf.fd == -1)
		storage_exit(s);
}

static void
storage_reconf_end(struct storage *s)
{
	free(s->prev.ifname);
	s->prev = s->conf;
	s->conf = s->next;
	memset(&s->next, 0, sizeof(s->next));
	storage_resume(s);
}

static int
storage_conf_has(const struct storage_conf *c, const char *ifname)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->ifname[i], ifname) == 0)
			return (1);
	return (0);
}

static void
storage_dispatch_engine(int fd, short event, void *arg)
{
	struct storage	*s = arg;

	/* paused: nothing is read until the parent's next configuration */
	if (s->holding)
		return;
	if (imsgev_io(&s->iev_engine, event) == -1) {
		/* the engine ended: after its last saves, or it died */
		log_debug("the engine closed its pipe");
		imsgev_clear(&s->iev_engine);
		storage_exit(s);
	}
	storage_engine_run(s);
}

/* Handles what has been read from the engine, unless a message waits. */
static void
storage_engine_run(struct storage *s)
{
	struct imsgev		*iev = &s->iev_engine;
	struct imsg		 imsg;
	union storage_msg	 m;
	const char		*why;
	uint32_t		 type;
	ssize_t			 n;

	while (!s->holding) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			fatal("imsg_get from the engine");
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_ENGINE)) != NULL)
			fatalx("%s", why);
		type = imsg.hdr.type;
		switch (type) {
		case IMSG_STATE_LOAD:
		case IMSG_STATE_SAVE:
			imsg_payload(&imsg, &m.iface, sizeof(m.iface));
			break;
		case IMSG_STATE_ENTRY:
			imsg_payload(&imsg, &m.entry, sizeof(m.entry));
			break;
		default:
			fatalx("unexpected %s from the engine",
			    imsg_type_name(type));
		}
		imsg_free(&imsg);
		if (storage_engine_msg(s, type, &m, s->parent_gone) == 1) {
			s->holding = 1;
			s->held_type = type;
			s->held = m;
			/* the event comes back in storage_resume() */
			event_del(&iev->ev);
		}
	}
}

/*
 * Checks and applies a message from the engine.  Returns 1 when it names
 * an interface not configured yet and "final" is not set: the caller
 * keeps it for after the parent's next configuration.
 */
static int
storage_engine_msg(struct storage *s, uint32_t type,
    const union storage_msg *m, int final)
{
	struct state_entry	 e;
	const char		*what = imsg_type_name(type), *ifname, *reason;

	memset(&e, 0, sizeof(e));
	ifname = type == IMSG_STATE_ENTRY ? m->entry.ifname : m->iface.ifname;
	if (memchr(ifname, '\0', IMSG_IFNAME_MAX) == NULL)
		fatalx("%s: unterminated interface name", what);
	/* it is never configured then, and not fit for a log */
	if (!ifname_valid(ifname))
		fatalx("%s: invalid interface name", what);

	switch (type) {
	case IMSG_STATE_LOAD:
		if (m->iface.nentries != 0)
			fatalx("%s for %s: %u entries, not 0", what, ifname,
			    m->iface.nentries);
		if (s->npend > 0)
			fatalx("%s for %s in the middle of a save for %s",
			    what, ifname, s->pend_ifname);
		break;
	case IMSG_STATE_ENTRY:
		if (s->npend > 0 && strcmp(ifname, s->pend_ifname) != 0)
			fatalx("%s for %s in the middle of a save for %s",
			    what, ifname, s->pend_ifname);
		if (s->npend >= STATEFILE_ENTRIES_MAX)
			fatalx("%s: more than %d entries for %s", what,
			    STATEFILE_ENTRIES_MAX, ifname);
		e.last_seen = m->entry.last_seen;
		memcpy(e.public_key, m->entry.public_key, WG_KEY_LEN);
		e.endpoint = m->entry.endpoint;
		e.origin = m->entry.origin;
		if ((reason = storage_entry_invalid(&e)) != NULL)
			fatalx("%s for %s: %s", what, ifname, reason);
		break;
	case IMSG_STATE_SAVE:
		if (s->npend > 0 && strcmp(ifname, s->pend_ifname) != 0)
			fatalx("%s for %s after entries for %s", what, ifname,
			    s->pend_ifname);
		if (m->iface.nentries != s->npend)
			fatalx("%s for %s: %u entries, but %zu sent", what,
			    ifname, m->iface.nentries, s->npend);
		break;
	default:
		fatalx("unexpected %s from the engine", what);
	}

	if (!storage_conf_has(&s->conf, ifname) &&
	    !storage_conf_has(&s->prev, ifname)) {
		if (final)
			fatalx("%s: %s is not a configured interface", what,
			    ifname);
		log_debug("%s for %s, not configured yet: waiting for the "
		    "configuration", what, ifname);
		return (1);
	}

	switch (type) {
	case IMSG_STATE_LOAD:
		storage_load(s, ifname);
		break;
	case IMSG_STATE_ENTRY:
		storage_entry(s, ifname, &e);
		break;
	case IMSG_STATE_SAVE:
		storage_save(s, ifname);
		break;
	}
	return (0);
}

/*
 * After a configuration, or when none can come any more: the message
 * that waited for one is looked at for the last time, then what the
 * engine sent after it.
 */
static void
storage_resume(struct storage *s)
{
	if (!s->holding)
		return;
	s->holding = 0;
	storage_engine_msg(s, s->held_type, &s->held, 1);
	storage_engine_run(s);
	if (!s->holding && event_add(&s->iev_engine.ev, NULL) == -1)
		fatalx("event_add");
}

/* Why the state file would refuse the entry, or NULL. */
static const char *
storage_entry_invalid(const struct state_entry *e)
{
	if (statefile_entry_valid(e))
		return (NULL);
	if (key_is_zero(e->public_key))
		return ("no public key");
	if (!imsg_addr_is_endpoint(&e->endpoint))
		return ("not a unicast address and port");
	if (e->endpoint.scope != 0)
		return ("a link-local address, which is not saved");
	if (e->last_seen <= 0)
		return ("last seen is not a positive time");
	if (origin_name(e->origin) == NULL)
		return ("unknown origin");
	return ("not a valid entry");
}

/*
 * Sends the interface's entries: those of its file, or, when a write is
 * pending, the set that will be written (the file is older).
 */
static void
storage_load(struct storage *s, const char *ifname)
{
	struct storage_iface	*si = storage_iface(s, ifname);
	struct state_entry	*e;
	struct imsg_state_entry	 me;
	struct imsg_state_iface	 mi;
	char			 err[256];
	size_t			 n, i;
	int			 r;

	if (!si->dirty) {
		r = statefile_load(ifname, &e, &n, err, sizeof(err));
		free(si->disk);
		si->disk = e;
		si->ndisk = n;
		si->disk_known = r != -1;
		if (r == -1)
			log_warnx("%s; starting without it", err);
		else if (r == STATEFILE_MISSING)
			log_debug("%s.state: none yet", ifname);
		else
			log_debug("%s.state: %zu entr%s", ifname, n,
			    n == 1 ? "y" : "ies");
		free(si->want);
		si->want = entries_dup(si->disk, si->ndisk);
		si->nwant = si->ndisk;
	}

	for (i = 0; i < si->nwant; i++) {
		memset(&me, 0, sizeof(me));
		strlcpy(me.ifname, ifname, sizeof(me.ifname));
		me.last_seen = si->want[i].last_seen;
		memcpy(me.public_key, si->want[i].public_key, WG_KEY_LEN);
		me.endpoint = si->want[i].endpoint;
		me.origin = si->want[i].origin;
		if (imsgev_compose(&s->iev_engine, IMSG_STATE_ENTRY, 0, -1,
		    &me, sizeof(me)) == -1)
			fatal("compose IMSG_STATE_ENTRY");
	}
	memset(&mi, 0, sizeof(mi));
	strlcpy(mi.ifname, ifname, sizeof(mi.ifname));
	mi.nentries = si->nwant;
	if (imsgev_compose(&s->iev_engine, IMSG_STATE_LOADED, 0, -1, &mi,
	    sizeof(mi)) == -1)
		fatal("compose IMSG_STATE_LOADED");
}

static void
storage_entry(struct storage *s, const char *ifname,
    const struct state_entry *e)
{
	struct state_entry	*p;
	size_t			 size;

	if (s->npend == s->pend_size) {
		size = s->pend_size == 0 ? 16 : s->pend_size * 2;
		if (size > STATEFILE_ENTRIES_MAX)
			size = STATEFILE_ENTRIES_MAX;
		if ((p = reallocarray(s->pend, size, sizeof(*p))) == NULL)
			fatal("state entries");
		s->pend = p;
		s->pend_size = size;
	}
	if (s->npend == 0)
		strlcpy(s->pend_ifname, ifname, sizeof(s->pend_ifname));
	s->pend[s->npend++] = *e;
}

/* The pending entries are the interface's state now. */
static void
storage_save(struct storage *s, const char *ifname)
{
	struct storage_iface	*si = storage_iface(s, ifname);
	struct timeval		 tv = { STORAGE_WRITE_SECONDS, 0 };

	free(si->want);
	si->want = s->pend;
	si->nwant = s->npend;
	s->pend = NULL;
	s->npend = s->pend_size = 0;
	s->pend_ifname[0] = '\0';

	if (si->disk_known && entries_equal(si->want, si->nwant, si->disk,
	    si->ndisk)) {
		if (si->dirty)
			log_debug("%s.state: back to what is on disk",
			    ifname);
		si->dirty = 0;
		evtimer_del(si->ev_write);
		return;
	}
	if (si->dirty)
		return;		/* the timer writes the latest */
	si->dirty = 1;
	if (evtimer_add(si->ev_write, &tv) == -1)
		fatalx("evtimer_add");
}

static struct storage_iface *
storage_iface(struct storage *s, const char *ifname)
{
	struct storage_iface	*si;

	LIST_FOREACH(si, &s->ifaces, entry)
		if (strcmp(si->ifname, ifname) == 0)
			return (si);
	/* one per name ever configured: the parent bounds them */
	if ((si = calloc(1, sizeof(*si))) == NULL)
		fatal("storage_iface");
	strlcpy(si->ifname, ifname, sizeof(si->ifname));
	if ((si->ev_write = evtimer_new(s->base, storage_write_timer,
	    si)) == NULL)
		fatalx("evtimer_new");
	LIST_INSERT_HEAD(&s->ifaces, si, entry);
	return (si);
}

static void
storage_write_timer(int fd, short event, void *arg)
{
	struct storage_iface	*si = arg;
	struct timeval		 tv = { STORAGE_WRITE_SECONDS, 0 };

	if (!si->dirty)
		return;
	/* a full disk or the like may pass: try again */
	if (storage_write(si) == -1 && evtimer_add(si->ev_write, &tv) == -1)
		fatalx("evtimer_add");
}

static int
storage_write(struct storage_iface *si)
{
	char	 err[256];

	if (statefile_save(si->ifname, si->want, si->nwant, err,
	    sizeof(err)) == -1) {
		log_warnx("%s.state: not written: %s", si->ifname, err);
		return (-1);
	}
	log_debug("%s.state: %zu entr%s written", si->ifname, si->nwant,
	    si->nwant == 1 ? "y" : "ies");
	free(si->disk);
	si->disk = entries_dup(si->want, si->nwant);
	si->ndisk = si->nwant;
	si->disk_known = 1;
	si->dirty = 0;
	evtimer_del(si->ev_write);
	return (0);
}

/* Writes what is pending, at once, and exits. */
static __dead void
storage_exit(struct storage *s)
{
	struct storage_iface	*si;
	int			 failed = 0;

	if (s->npend > 0)
		log_warnx("the engine's last save for %s was not finished; "
		    "it is lost", s->pend_ifname);
	LIST_FOREACH(si, &s->ifaces, entry)
		if (si->dirty && storage_write(si) == -1)
			failed = 1;
	storage_clear(s);
	if (failed)
		log_warnx("exiting with state not written");
	exit(0);
}

static void
storage_clear(struct storage *s)
{
	struct storage_iface	*si;

	while ((si = LIST_FIRST(&s->ifaces)) != NULL) {
		LIST_REMOVE(si, entry);
		event_free(si->ev_write);
		free(si->want);
		free(si->disk);
		free(si);
	}
	free(s->conf.ifname);
	free(s->prev.ifname);
	free(s->next.ifname);
	free(s->pend);
	memset(&s->conf, 0, sizeof(s->conf));
	memset(&s->prev, 0, sizeof(s->prev));
	memset(&s->next, 0, sizeof(s->next));
	s->pend = NULL;
	s->npend = s->pend_size = 0;
	s->holding = 0;
}

static struct state_entry *
entries_dup(const struct state_entry *e, size_t n)
{
	struct state_entry	*copy;

	if (n == 0)
		return (NULL);
	if ((copy = reallocarray(NULL, n, sizeof(*copy))) == NULL)
		fatal("state entries");
	memcpy(copy, e, n * sizeof(*copy));
	return (copy);
}

static int
entries_equal(const struct state_entry *a, size_t na,
    const struct state_entry *b, size_t nb)
{
	return (na == nb && (na == 0 || memcmp(a, b,
	    na * sizeof(*a)) == 0));
}
