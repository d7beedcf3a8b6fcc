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
 * The storage process's handlers, storage_dispatch_parent() and
 * storage_dispatch_engine(), against whatever the other processes may
 * send, and its write timers.  storage.c is included, so that its state
 * can be reset for every input; the messages go through real socketpairs.
 * The state files are a table in memory here (statefile_load() and
 * statefile_save() are replaced), so that a write costs nothing and can
 * be made to fail.
 *
 * Input: a flags byte (bit 0: start with a well-formed configuration
 * from the parent, wg0 and wg1; bit 1: wg0.state holds two entries;
 * bit 2: wg1.state is damaged; bit 3: wg2.state holds one entry), then
 * operations, each an op byte and what it needs:
 *	bits 0-4	0-20: a message from the parent, of the type
 *			fuzz_type() gives for it;
 *			21: from the parent, a type of four input bytes;
 *			22: from the engine, its type the next byte
 *			(those too through fuzz_type());
 *			23: LOAD, 24-27: ENTRY, 28: SAVE, from the engine;
 *			29: the write timers of the interfaces that have one
 *			pending fire (bit 5: the writes fail);
 *			30: from the engine, a batch of ENTRYs and their
 *			SAVE (see batch()); 31: a configuration from the
 *			parent
 *	bit 5		with a descriptor
 *	bit 6		the payload is a length (two bytes) and that many
 *			input bytes; otherwise it has the size its type
 *			wants, from the input
 *	bit 7		held back, to arrive with the next message
 * and a byte for the peer id, which storage does not look at.
 *
 * Beside not crashing, the process must do what a model of it says:
 * each message is fatal exactly when the model says so; a transaction is
 * open, an engine message waits for a configuration, and a save is under
 * way exactly when the model has them; it answers each LOAD as the model
 * does; a write is pending exactly for the interfaces whose latest set
 * differs from their file; and the timers write exactly those sets.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"
#include "storage.h"
#include "fuzz_daemon.h"

static int	 fuzz_statefile_load(const char *, struct state_entry **,
		    size_t *, char *, size_t);
static int	 fuzz_statefile_save(const char *, const struct state_entry *,
		    size_t, char *, size_t);
static int	 fuzz_imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
		    const void *, size_t);

#define imsg_get	fuzz_imsg_get
#define imsg_free	fuzz_imsg_free
#define statefile_load	fuzz_statefile_load
#define statefile_save	fuzz_statefile_save
#define imsgev_compose	fuzz_imsgev_compose
#include "../../wgmeshd/storage.c"
#undef statefile_load
#undef statefile_save
#undef imsgev_compose
/* origin_name() and statefile_entry_valid(), as the daemon has them */
#include "../../wgmeshd/statefile.c"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define FUZZ_MAXOPS	256
#define FUZZ_NAMES	1024	/* interfaces in the configurations */
#define FUZZ_FILES	64
#define FUZZ_BATCH	17
#define FUZZ_BATCH_MAX	(STATEFILE_ENTRIES_MAX + 8)

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum file_state {
	FILE_NONE,
	FILE_OK,
	FILE_DAMAGED,
};

/* A state file: in the table the process sees, or in the model's. */
struct file {
	char			 name[IMSG_IFNAME_MAX];
	enum file_state		 state;
	struct state_entry	*e;
	size_t			 n;
};

struct files {
	struct file		 f[FUZZ_FILES];
	size_t			 n;
};

struct names {
	char			 name[FUZZ_NAMES][IMSG_IFNAME_MAX];
	size_t			 n;
};

/* The model's view of an interface. */
struct m_iface {
	char			 name[IMSG_IFNAME_MAX];
	struct state_entry	*want;
	size_t			 nwant;
	struct state_entry	*disk;
	size_t			 ndisk;
	int			 disk_known;
	int			 dirty;
};

/* A message from the engine, as sent. */
struct m_msg {
	uint32_t		 type;
	int			 fd;		/* it came with one */
	size_t			 len;
	uint8_t			 data[sizeof(union storage_msg)];
};

struct model {
	int			 in_reconf;
	int			 fatal;		/* the process should be dead */
	struct names		 conf, prev, next;
	char			 pend_name[IMSG_IFNAME_MAX];
	struct state_entry	*pend;
	size_t			 npend, pend_size;
	/* engine messages not looked at yet: the first one waits */
	struct m_msg		*queue;
	size_t			 nqueue, queue_size;
	int			 holding;
	struct m_iface		*ifaces;
	size_t			 nifaces;
	struct files		 files;		/* what should be on disk */
	/* what the process should send the engine, in order */
	struct m_msg		*expect;
	size_t			 nexpect, expect_next, expect_size;
	size_t			 writes;	/* expected saves */
};

static int	 holding(void);
static int	 deliver(struct fuzz_pipe *);
static int	 settle(struct fuzz_pipe *, struct model *);
static void	 check_state(struct model *);
static void	 model_parent(struct model *, uint32_t, const void *, size_t);
static void	 model_engine(struct model *, uint32_t, int, const void *,
		    size_t);
static int	 model_engine_msg(struct model *, const struct m_msg *, int);
static void	 model_resume(struct model *);
static void	 model_load(struct model *, const char *);
static void	 model_timers(struct model *, int);
static struct m_iface *model_iface(struct model *, const char *, int);
static void	 model_expect(struct model *, uint32_t, const void *, size_t);
static void	 model_free(struct model *);
static int	 names_have(const struct names *, const char *);
static int	 name_ok(const char *);
static int	 entry_ok(const struct state_entry *);
static struct file *files_get(struct files *, const char *, int);
static void	 files_set(struct files *, const char *, enum file_state,
		    const struct state_entry *, size_t);
static void	 files_free(struct files *);
static int	 same(const struct state_entry *, size_t,
		    const struct state_entry *, size_t);
static struct state_entry *copy(const struct state_entry *, size_t);
static size_t	 payload(struct fuzz_in *, struct model *, uint32_t, int,
		    uint8_t *);
static void	 gen_entry(struct fuzz_in *, struct model *,
		    struct imsg_state_entry *, const char *);
static void	 gen_ifname(struct fuzz_in *, struct model *, char *);
static void	 fire_timers(struct model *, int);
static int	 batch(struct fuzz_in *, struct model *);
static int	 reconf(struct fuzz_in *, struct model *, uint32_t);

static struct fuzz_pipe	 pp, pe;	/* from the parent, the engine */
static struct files	 disk;		/* what the process has written */
static int		 save_fails;	/* statefile_save() fails */
static size_t		 nwrites;	/* statefile_save() calls */
static struct model	*cur_model;

static const char *const ifnames[] = { "wg0", "wg1", "wg2", "wg-home" };

/* the sandbox is sandbox.c's business; never reached here */
void
privdrop_statedir(const char *user, const char *dir)
{
	fuzz_fail("privdrop_statedir");
}

void
sandbox_storage(void)
{
	fuzz_fail("sandbox_storage");
}

static int
fuzz_statefile_load(const char *ifname, struct state_entry **out, size_t *n,
    char *err, size_t errlen)
{
	struct file	*f = files_get(&disk, ifname, 0);

	*out = NULL;
	*n = 0;
	if (!name_ok(ifname))
		fuzz_fail("load of an invalid name");
	if (f == NULL || f->state == FILE_NONE)
		return (STATEFILE_MISSING);
	if (f->state == FILE_DAMAGED) {
		snprintf(err, errlen, "%s.state: line 2: damaged", ifname);
		return (-1);
	}
	*out = copy(f->e, f->n);
	*n = f->n;
	return (0);
}

static int
fuzz_statefile_save(const char *ifname, const struct state_entry *e,
    size_t n, char *err, size_t errlen)
{
	size_t	 i;

	nwrites++;
	if (!name_ok(ifname) || n > STATEFILE_ENTRIES_MAX)
		fuzz_fail("save of %s, %zu entries", ifname, n);
	for (i = 0; i < n; i++)
		if (!entry_ok(&e[i]))
			fuzz_fail("save of an invalid entry");
	if (save_fails) {
		snprintf(err, errlen, "%s.state.tmp: write: No space left on "
		    "device", ifname);
		return (-1);
	}
	files_set(&disk, ifname, FILE_OK, e, n);
	return (0);
}

/* Each message for the engine must be the model's next one. */
static int
fuzz_imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t len)
{
	struct model	*m = cur_model;
	struct m_msg	*x;

	if (iev != &storage_state.iev_engine)
		fuzz_fail("%s to the parent", imsg_type_name(type));
	if (m->expect_next == m->nexpect)
		fuzz_fail("%s to the engine, the model sends nothing",
		    imsg_type_name(type));
	x = &m->expect[m->expect_next++];
	if (x->type != type || x->len != len || fd != -1 ||
	    memcmp(x->data, data, len) != 0)
		fuzz_fail("%s to the engine, the model sends %s",
		    imsg_type_name(type), imsg_type_name(x->type));
	return (imsgev_compose(iev, type, peerid, fd, data, len));
}

/* Names as ifname_valid() takes them, written out again. */
static int
name_ok(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len == 0 || len >= IMSG_IFNAME_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return (0);
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return (0);
	return (1);
}

/* What a state file may hold, written out again. */
static int
entry_ok(const struct state_entry *e)
{
	static const uint8_t	 zero[WG_KEY_LEN];

	return (memcmp(e->public_key, zero, WG_KEY_LEN) != 0 &&
	    fuzz_addr_is_endpoint(&e->endpoint) && e->endpoint.scope == 0 &&
	    e->last_seen > 0 &&
	    e->origin >= ORIGIN_OBSERVED && e->origin <= ORIGIN_PERSISTED);
}

static int
names_have(const struct names *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return (1);
	return (0);
}

static struct file *
files_get(struct files *fs, const char *name, int create)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].name, name) == 0)
			return (&fs->f[i]);
	if (!create)
		return (NULL);
	if (fs->n == FUZZ_FILES)
		fuzz_fail("more than %d files", FUZZ_FILES);
	memset(&fs->f[fs->n], 0, sizeof(fs->f[0]));
	strlcpy(fs->f[fs->n].name, name, sizeof(fs->f[0].name));
	return (&fs->f[fs->n++]);
}

static void
files_set(struct files *fs, const char *name, enum file_state state,
    const struct state_entry *e, size_t n)
{
	struct file	*f = files_get(fs, name, 1);

	free(f->e);
	f->state = state;
	f->e = copy(e, n);
	f->n = n;
}

static void
files_free(struct files *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		free(fs->f[i].e);
	memset(fs, 0, sizeof(*fs));
}

static int
same(const struct state_entry *a, size_t na, const struct state_entry *b,
    size_t nb)
{
	return (na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0));
}

static struct state_entry *
copy(const struct state_entry *e, size_t n)
{
	struct state_entry	*c;

	if (n == 0)
		return (NULL);
	if ((c = calloc(n, sizeof(*c))) == NULL)
		fuzz_fail("calloc");
	memcpy(c, e, n * sizeof(*c));
	return (c);
}

/* What the process must make of a message from the parent. */
static void
model_parent(struct model *m, uint32_t type, const void *data, size_t len)
{
	struct imsg_iface	 mi;
	int			 v;

	if (m->fatal)
		return;
	switch (type) {
	case IMSG_RECONF_BEGIN:
		if (m->in_reconf || len != sizeof(uint32_t))
			m->fatal = 1;
		m->in_reconf = 1;
		m->next.n = 0;
		break;
	case IMSG_RECONF_IFACE:
		if (!m->in_reconf || len != sizeof(mi)) {
			m->fatal = 1;
			break;
		}
		memcpy(&mi, data, sizeof(mi));
		if (memchr(mi.ifname, '\0', sizeof(mi.ifname)) == NULL ||
		    !name_ok(mi.ifname)) {
			m->fatal = 1;
			break;
		}
		if (m->next.n == FUZZ_NAMES)
			fuzz_fail("more than %d names", FUZZ_NAMES);
		strlcpy(m->next.name[m->next.n++], mi.ifname,
		    IMSG_IFNAME_MAX);
		break;
	case IMSG_RECONF_PEER:
		if (!m->in_reconf || len != sizeof(struct imsg_peer))
			m->fatal = 1;
		break;
	case IMSG_RECONF_END:
		if (!m->in_reconf || len != 0) {
			m->fatal = 1;
			break;
		}
		m->in_reconf = 0;
		m->prev = m->conf;
		m->conf = m->next;
		m->next.n = 0;
		model_resume(m);
		break;
	case IMSG_CTL_LOG_VERBOSE:
		if (len != sizeof(v))
			m->fatal = 1;
		else {
			memcpy(&v, data, sizeof(v));
			if (v < 0 || v > 2)
				m->fatal = 1;
		}
		break;
	default:
		m->fatal = 1;
		break;
	}
}

/* A message from the engine: looked at now, or after the one waiting. */
static void
model_engine(struct model *m, uint32_t type, int fd, const void *data,
    size_t len)
{
	struct m_msg	*q;

	if (m->fatal)
		return;
	if (m->nqueue == m->queue_size) {
		m->queue_size = m->queue_size == 0 ? 16 : m->queue_size * 2;
		if ((q = reallocarray(m->queue, m->queue_size,
		    sizeof(*q))) == NULL)
			fuzz_fail("reallocarray");
		m->queue = q;
	}
	q = &m->queue[m->nqueue++];
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->fd = fd;
	q->len = len;
	memcpy(q->data, data, len < sizeof(q->data) ? len : sizeof(q->data));
	if (!m->holding)
		model_resume(m);
}

/*
 * Looks at the queued engine messages: the first for the last time if
 * it has waited, and until one waits.
 */
static void
model_resume(struct model *m)
{
	int	 final = m->holding;
	size_t	 i = 0;

	while (i < m->nqueue && !m->fatal) {
		m->holding = model_engine_msg(m, &m->queue[i], final);
		if (m->holding)
			break;
		final = 0;
		i++;
	}
	if (i == 0)
		return;
	m->nqueue -= i;
	memmove(m->queue, m->queue + i, m->nqueue * sizeof(*m->queue));
}

/* Returns 1 when the message must wait for a configuration. */
static int
model_engine_msg(struct model *m, const struct m_msg *q, int final)
{
	struct imsg_state_iface	 si;
	struct imsg_state_entry	 se;
	struct state_entry	 e, *p;
	struct m_iface		*mi;
	const char		*name;

	/* no message from the engine carries a descriptor (proto.h) */
	if (q->fd) {
		m->fatal = 1;
		return (0);
	}
	switch (q->type) {
	case IMSG_STATE_LOAD:
	case IMSG_STATE_SAVE:
		if (q->len != sizeof(si)) {
			m->fatal = 1;
			return (0);
		}
		memcpy(&si, q->data, sizeof(si));
		name = si.ifname;
		break;
	case IMSG_STATE_ENTRY:
		if (q->len != sizeof(se)) {
			m->fatal = 1;
			return (0);
		}
		memcpy(&se, q->data, sizeof(se));
		name = se.ifname;
		break;
	default:
		m->fatal = 1;
		return (0);
	}
	if (memchr(name, '\0', IMSG_IFNAME_MAX) == NULL || !name_ok(name)) {
		m->fatal = 1;
		return (0);
	}

	memset(&e, 0, sizeof(e));
	switch (q->type) {
	case IMSG_STATE_LOAD:
		if (si.nentries != 0 || m->npend > 0)
			m->fatal = 1;
		break;
	case IMSG_STATE_ENTRY:
		e.last_seen = se.last_seen;
		memcpy(e.public_key, se.public_key, WG_KEY_LEN);
		e.endpoint = se.endpoint;
		e.origin = se.origin;
		if ((m->npend > 0 && strcmp(name, m->pend_name) != 0) ||
		    m->npend >= STATEFILE_ENTRIES_MAX || !entry_ok(&e))
			m->fatal = 1;
		break;
	case IMSG_STATE_SAVE:
		if ((m->npend > 0 && strcmp(name, m->pend_name) != 0) ||
		    si.nentries != m->npend)
			m->fatal = 1;
		break;
	}
	if (m->fatal)
		return (0);
	if (!names_have(&m->conf, name) && !names_have(&m->prev, name)) {
		if (final)
			m->fatal = 1;
		return (!final);
	}

	switch (q->type) {
	case IMSG_STATE_LOAD:
		model_load(m, name);
		break;
	case IMSG_STATE_ENTRY:
		if (m->npend == m->pend_size) {
			m->pend_size = m->pend_size == 0 ? 16 :
			    m->pend_size * 2;
			if ((p = reallocarray(m->pend, m->pend_size,
			    sizeof(*p))) == NULL)
				fuzz_fail("reallocarray");
			m->pend = p;
		}
		m->pend[m->npend++] = e;
		strlcpy(m->pend_name, name, sizeof(m->pend_name));
		break;
	case IMSG_STATE_SAVE:
		mi = model_iface(m, name, 1);
		free(mi->want);
		mi->want = m->pend;
		mi->nwant = m->npend;
		m->pend = NULL;
		m->npend = m->pend_size = 0;
		m->pend_name[0] = '\0';
		mi->dirty = !(mi->disk_known && same(mi->want, mi->nwant,
		    mi->disk, mi->ndisk));
		break;
	}
	return (0);
}

/* The answer: the file, or the set still to be written. */
static void
model_load(struct model *m, const char *name)
{
	struct m_iface		*mi = model_iface(m, name, 1);
	struct file		*f = files_get(&m->files, name, 0);
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	size_t			 i;

	if (!mi->dirty) {
		free(mi->disk);
		free(mi->want);
		mi->disk = NULL;
		mi->ndisk = 0;
		mi->disk_known = 1;
		if (f != NULL && f->state == FILE_OK) {
			mi->disk = copy(f->e, f->n);
			mi->ndisk = f->n;
		} else if (f != NULL && f->state == FILE_DAMAGED)
			mi->disk_known = 0;
		mi->want = copy(mi->disk, mi->ndisk);
		mi->nwant = mi->ndisk;
	}
	for (i = 0; i < mi->nwant; i++) {
		memset(&se, 0, sizeof(se));
		strlcpy(se.ifname, name, sizeof(se.ifname));
		se.last_seen = mi->want[i].last_seen;
		memcpy(se.public_key, mi->want[i].public_key, WG_KEY_LEN);
		se.endpoint = mi->want[i].endpoint;
		se.origin = mi->want[i].origin;
		model_expect(m, IMSG_STATE_ENTRY, &se, sizeof(se));
	}
	memset(&si, 0, sizeof(si));
	strlcpy(si.ifname, name, sizeof(si.ifname));
	si.nentries = mi->nwant;
	model_expect(m, IMSG_STATE_LOADED, &si, sizeof(si));
}

/* The timers fire: every interface with a set to write has one. */
static void
model_timers(struct model *m, int fail)
{
	struct m_iface	*mi;
	size_t		 i;

	for (i = 0; i < m->nifaces; i++) {
		mi = &m->ifaces[i];
		if (!mi->dirty)
			continue;
		m->writes++;
		if (fail)
			continue;
		files_set(&m->files, mi->name, FILE_OK, mi->want, mi->nwant);
		free(mi->disk);
		mi->disk = copy(mi->want, mi->nwant);
		mi->ndisk = mi->nwant;
		mi->disk_known = 1;
		mi->dirty = 0;
	}
}

static struct m_iface *
model_iface(struct model *m, const char *name, int create)
{
	struct m_iface	*mi;
	size_t		 i;

	for (i = 0; i < m->nifaces; i++)
		if (strcmp(m->ifaces[i].name, name) == 0)
			return (&m->ifaces[i]);
	if (!create)
		return (NULL);
	if ((mi = reallocarray(m->ifaces, m->nifaces + 1,
	    sizeof(*mi))) == NULL)
		fuzz_fail("reallocarray");
	m->ifaces = mi;
	mi = &m->ifaces[m->nifaces++];
	memset(mi, 0, sizeof(*mi));
	strlcpy(mi->name, name, sizeof(mi->name));
	return (mi);
}

static void
model_expect(struct model *m, uint32_t type, const void *data, size_t len)
{
	struct m_msg	*x;

	if (m->nexpect == m->expect_size) {
		m->expect_size = m->expect_size == 0 ? 16 :
		    m->expect_size * 2;
		if ((x = reallocarray(m->expect, m->expect_size,
		    sizeof(*x))) == NULL)
			fuzz_fail("reallocarray");
		m->expect = x;
	}
	x = &m->expect[m->nexpect++];
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->len = len;
	memcpy(x->data, data, len);
}

static void
model_free(struct model *m)
{
	size_t	 i;

	for (i = 0; i < m->nifaces; i++) {
		free(m->ifaces[i].want);
		free(m->ifaces[i].disk);
	}
	free(m->ifaces);
	free(m->pend);
	free(m->queue);
	free(m->expect);
	files_free(&m->files);
}

/* Storage stops reading the engine while it waits for a file. */
static int
holding(void)
{
	return (storage_state.holding);
}

/*
 * Lets the process read until the pipe is empty, or until it stops
 * reading the engine.  Returns -1 when a handler called fatal().
 */
static int
deliver(struct fuzz_pipe *fp)
{
	static const struct fuzz_hooks	 from_engine = {
		holding, NULL, NULL
	};
	struct storage			*s = &storage_state;

	if (fp == &pp)
		return (fuzz_deliver(fp, s->iev_parent.ibuf.fd,
		    storage_dispatch_parent, s, NULL));
	return (fuzz_deliver(fp, s->iev_engine.ibuf.fd,
	    storage_dispatch_engine, s, &from_engine));
}

/*
 * Delivers, and compares the process with the model.  After the
 * parent's messages, what the engine sent is delivered too: a
 * configuration may have let it through.
 */
static int
settle(struct fuzz_pipe *fp, struct model *m)
{
	int	 fatal;

	fatal = deliver(fp) == -1;
	if (!fatal && fp == &pp)
		fatal = deliver(&pe) == -1;
	if (fatal != m->fatal)
		fuzz_fail("%s: %s, the model says %s",
		    imsg_type_name(fuzz_cur_hdr.type), fatal ? "fatal" :
		    "accepted", m->fatal ? "fatal" : "accept");
	if (!fatal)
		check_state(m);
	return (fatal);
}

static void
check_state(struct model *m)
{
	struct storage		*s = &storage_state;
	struct storage_iface	*si;
	struct m_iface		*mi;
	struct file		*f, *g;
	size_t			 n = 0, i;

	if (s->in_reconf != m->in_reconf)
		fuzz_fail("in_reconf %d, the model says %d", s->in_reconf,
		    m->in_reconf);
	if (s->holding != m->holding)
		fuzz_fail("holding %d, the model says %d", s->holding,
		    m->holding);
	if (s->npend != m->npend || (m->npend > 0 &&
	    (strcmp(s->pend_ifname, m->pend_name) != 0 ||
	    !same(s->pend, s->npend, m->pend, m->npend))))
		fuzz_fail("%zu entries pending, the model says %zu", s->npend,
		    m->npend);
	if (m->expect_next != m->nexpect)
		fuzz_fail("%s to the engine not sent",
		    imsg_type_name(m->expect[m->expect_next].type));
	m->nexpect = m->expect_next = 0;
	/* looked at when queued; nobody reads them here */
	fuzz_queue_drop(&s->iev_engine.ibuf);

	LIST_FOREACH(si, &s->ifaces, entry) {
		n++;
		if ((mi = model_iface(m, si->ifname, 0)) == NULL)
			fuzz_fail("%s: not in the model", si->ifname);
		if (!same(si->want, si->nwant, mi->want, mi->nwant))
			fuzz_fail("%s: %zu entries, the model has %zu",
			    si->ifname, si->nwant, mi->nwant);
		if (si->dirty != mi->dirty || si->disk_known !=
		    mi->disk_known)
			fuzz_fail("%s: dirty %d, disk known %d; the model "
			    "says %d, %d", si->ifname, si->dirty,
			    si->disk_known, mi->dirty, mi->disk_known);
		if ((evtimer_pending(si->ev_write, NULL) != 0) != mi->dirty)
			fuzz_fail("%s: a timer %s", si->ifname, mi->dirty ?
			    "missing" : "with nothing to write");
	}
	if (n != m->nifaces)
		fuzz_fail("%zu interfaces, the model has %zu", n, m->nifaces);

	if (nwrites != m->writes)
		fuzz_fail("%zu writes, the model says %zu", nwrites,
		    m->writes);
	for (i = 0; i < m->files.n; i++) {
		f = &m->files.f[i];
		g = files_get(&disk, f->name, 0);
		if (g == NULL || g->state != f->state ||
		    !same(g->e, g->n, f->e, f->n))
			fuzz_fail("%s.state is not what the model has",
			    f->name);
	}
	if (disk.n != m->files.n)
		fuzz_fail("%zu files, the model has %zu", disk.n,
		    m->files.n);
}

/* The write timers that are pending fire. */
static void
fire_timers(struct model *m, int fail)
{
	struct storage		*s = &storage_state;
	struct storage_iface	*si;

	save_fails = fail;
	model_timers(m, fail);
	LIST_FOREACH(si, &s->ifaces, entry)
		if (evtimer_pending(si->ev_write, NULL))
			storage_write_timer(-1, EV_TIMEOUT, si);
	save_fails = 0;
	check_state(m);
}

/*
 * ENTRYs and their SAVE, as the engine sends a state: up to 16 entries
 * from the input, or rarely up to the limit and a few more, copies of
 * one with a count in its key.
 */
static int
batch(struct fuzz_in *in, struct model *m)
{
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	char			 name[IMSG_IFNAME_MAX];
	size_t			 n, i;
	uint8_t			 sel;
	int			 many;

	gen_ifname(in, m, name);
	sel = fuzz_u8(in);
	many = sel == 0xff;
	n = many ? fuzz_u16(in) % FUZZ_BATCH_MAX : sel % FUZZ_BATCH;
	for (i = 0; i < n; i++) {
		if (!many || i == 0)
			gen_entry(in, m, &se, name);
		if (many) {
			se.public_key[WG_KEY_LEN - 2] = (uint8_t)(i >> 8);
			se.public_key[WG_KEY_LEN - 1] = (uint8_t)i;
		}
		/* queued only: written at once below */
		if (imsg_compose(&pe.ibuf, IMSG_STATE_ENTRY, 0, 0, -1, &se,
		    sizeof(se)) == -1)
			fuzz_fail("compose");
		model_engine(m, IMSG_STATE_ENTRY, 0, &se, sizeof(se));
	}
	memset(&si, 0, sizeof(si));
	memcpy(si.ifname, name, sizeof(si.ifname));
	si.nentries = m->npend;
	fuzz_pipe_send(&pe, IMSG_STATE_SAVE, 0, -1, &si, sizeof(si));
	model_engine(m, IMSG_STATE_SAVE, 0, &si, sizeof(si));
	return (settle(&pe, m));
}

/* A configuration of one to four interfaces, mostly well named. */
static int
reconf(struct fuzz_in *in, struct model *m, uint32_t gen)
{
	struct imsg_iface	 mi;
	size_t			 n, i;

	fuzz_pipe_send(&pp, IMSG_RECONF_BEGIN, 0, -1, &gen, sizeof(gen));
	model_parent(m, IMSG_RECONF_BEGIN, &gen, sizeof(gen));
	n = 1 + fuzz_u8(in) % 4;
	for (i = 0; i < n; i++) {
		memset(&mi, 0, sizeof(mi));
		fuzz_string(in, mi.ifname, sizeof(mi.ifname), ifnames,
		    nitems(ifnames));
		fuzz_pipe_send(&pp, IMSG_RECONF_IFACE, 0, -1, &mi,
		    sizeof(mi));
		model_parent(m, IMSG_RECONF_IFACE, &mi, sizeof(mi));
	}
	fuzz_pipe_send(&pp, IMSG_RECONF_END, 0, -1, NULL, 0);
	model_parent(m, IMSG_RECONF_END, NULL, 0);
	return (settle(&pp, m));
}

/* Mostly the name a sane engine would use; else any, or no string. */
static void
gen_ifname(struct fuzz_in *in, struct model *m, char *name)
{
	if (m->npend > 0 && fuzz_u8(in) < 0xc0) {
		memset(name, 0, IMSG_IFNAME_MAX);
		strlcpy(name, m->pend_name, IMSG_IFNAME_MAX);
		return;
	}
	fuzz_string(in, name, IMSG_IFNAME_MAX, ifnames, nitems(ifnames));
}

/* Mostly a valid entry, of one of five peers. */
static void
gen_entry(struct fuzz_in *in, struct model *m, struct imsg_state_entry *se,
    const char *name)
{
	uint8_t	 sel = fuzz_u8(in);

	memset(se, 0, sizeof(*se));
	if (name != NULL)
		memcpy(se->ifname, name, sizeof(se->ifname));	/* any bytes */
	else
		gen_ifname(in, m, se->ifname);
	switch (sel & 7) {
	case 5:
		break;		/* no key */
	case 6:
	case 7:
		fuzz_bytes(in, se->public_key, WG_KEY_LEN);
		break;
	default:
		memcpy(se->public_key, fuzz_keys[sel & 7], WG_KEY_LEN);
		break;
	}
	fuzz_addr(in, &se->endpoint);
	sel = fuzz_u8(in);
	if (sel < 0xc0)
		se->last_seen = 1700000000 - sel;
	else if (sel < 0xe0)
		se->last_seen = (int64_t)(sel & 3) - 2;
	else
		se->last_seen = (int64_t)fuzz_u64(in);
	sel = fuzz_u8(in);
	se->origin = sel < 0xf0 ? ORIGIN_OBSERVED + sel % 5 : fuzz_u8(in);
}

static size_t
payload(struct fuzz_in *in, struct model *m, uint32_t type, int raw,
    uint8_t *buf)
{
	struct imsg_iface	 mi;
	struct imsg_state_iface	 si;
	size_t			 len;
	uint8_t			 sel;
	int			 v;

	if (raw) {
		len = fuzz_u16(in) % (MAX_IMSGSIZE - IMSG_HEADER_SIZE + 1);
		fuzz_bytes(in, buf, len);
		return (len);
	}
	switch (type) {
	case IMSG_RECONF_BEGIN:
		len = sizeof(uint32_t);
		break;
	case IMSG_RECONF_IFACE:
		memset(&mi, 0, sizeof(mi));
		fuzz_string(in, mi.ifname, sizeof(mi.ifname), ifnames,
		    nitems(ifnames));
		memcpy(buf, &mi, sizeof(mi));
		return (sizeof(mi));
	case IMSG_RECONF_PEER:
		len = sizeof(struct imsg_peer);
		break;
	case IMSG_CTL_LOG_VERBOSE:
		/* mostly -1 to 3 */
		v = fuzz_u8(in);
		v = v < 0xf0 ? v % 5 - 1 : (int)fuzz_u32(in);
		memcpy(buf, &v, sizeof(v));
		return (sizeof(v));
	case IMSG_STATE_LOAD:
	case IMSG_STATE_SAVE:
	case IMSG_STATE_LOADED:
		memset(&si, 0, sizeof(si));
		gen_ifname(in, m, si.ifname);
		sel = fuzz_u8(in);
		if (sel < 0xe0)
			si.nentries = type == IMSG_STATE_SAVE ? m->npend : 0;
		else
			si.nentries = sel < 0xf0 ? sel & 3 : fuzz_u32(in);
		memcpy(buf, &si, sizeof(si));
		return (sizeof(si));
	case IMSG_STATE_ENTRY:
		gen_entry(in, m, (struct imsg_state_entry *)(void *)buf, NULL);
		return (sizeof(struct imsg_state_entry));
	default:
		len = 0;
		break;
	}
	fuzz_bytes(in, buf, len);
	return (len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init(1);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 good4[4] = { 198, 18, 0, 1 };
	static _Alignas(8) uint8_t buf[MAX_IMSGSIZE];
	static struct model	 m;
	struct storage		*s = &storage_state;
	struct fuzz_in		 in = { data, size };
	struct fuzz_pipe	*fp, *held = NULL;
	struct state_entry	 init[2];
	uint32_t		 type, gen = 1;
	size_t			 len, ops, i;
	uint8_t			 flags, op;
	int			 fd, fatal = 0, engine_side;

	memset(s, 0, sizeof(*s));
	memset(&m, 0, sizeof(m));
	cur_model = &m;
	nwrites = 0;
	s->base = fuzz_event_base();
	log_setverbose(0);
	fuzz_pipe_open(&pp);
	fuzz_pipe_open(&pe);
	imsgev_init(&s->iev_parent, s->base, pp.theirs,
	    storage_dispatch_parent, s);
	imsgev_init(&s->iev_engine, s->base, pe.theirs,
	    storage_dispatch_engine, s);

	flags = fuzz_u8(&in);
	memset(init, 0, sizeof(init));
	for (i = 0; i < nitems(init); i++) {
		memcpy(init[i].public_key, fuzz_keys[i], WG_KEY_LEN);
		init[i].endpoint.af = AF_INET;
		init[i].endpoint.port = 51820;
		memcpy(init[i].endpoint.addr, good4, sizeof(good4));
		init[i].endpoint.addr[3] += i;
		init[i].last_seen = 1699999000 + i;
		init[i].origin = ORIGIN_OBSERVED + i;
	}
	if (flags & 2) {
		files_set(&disk, "wg0", FILE_OK, init, 2);
		files_set(&m.files, "wg0", FILE_OK, init, 2);
	}
	if (flags & 4) {
		files_set(&disk, "wg1", FILE_DAMAGED, NULL, 0);
		files_set(&m.files, "wg1", FILE_DAMAGED, NULL, 0);
	}
	if (flags & 8) {
		files_set(&disk, "wg2", FILE_OK, init + 1, 1);
		files_set(&m.files, "wg2", FILE_OK, init + 1, 1);
	}
	if (flags & 1) {
		/* what the parent sends at start: wg0 and wg1 */
		fuzz_send_conf(&pp, gen);
		strlcpy(m.conf.name[0], "wg0", IMSG_IFNAME_MAX);
		strlcpy(m.conf.name[1], "wg1", IMSG_IFNAME_MAX);
		m.conf.n = 2;
		if (deliver(&pp) == -1)
			fuzz_fail("a well-formed configuration was refused");
		check_state(&m);
	}

	for (ops = 0; ops < FUZZ_MAXOPS && in.len > 0 && !fatal; ops++) {
		op = fuzz_u8(&in);
		engine_side = 0;
		switch (op & 0x1f) {
		case 21:
			type = fuzz_type(fuzz_u32(&in));
			break;
		case 22:
			engine_side = 1;
			type = fuzz_type(fuzz_u8(&in));
			break;
		case 23:
			engine_side = 1;
			type = IMSG_STATE_LOAD;
			break;
		case 24:
		case 25:
		case 26:
		case 27:
			engine_side = 1;
			type = IMSG_STATE_ENTRY;
			break;
		case 28:
			engine_side = 1;
			type = IMSG_STATE_SAVE;
			break;
		case 29:
		case 30:
		case 31:
			/* several messages, or none: settled on their own */
			if (held != NULL && (fatal = settle(held, &m)) != 0)
				continue;
			held = NULL;
			switch (op & 0x1f) {
			case 29:
				fire_timers(&m, (op & 0x20) != 0);
				break;
			case 30:
				fatal = batch(&in, &m);
				break;
			case 31:
				fatal = reconf(&in, &m, ++gen);
				break;
			}
			continue;
		default:
			type = fuzz_type(op & 0x1f);
			break;
		}
		len = payload(&in, &m, type, op & 0x40, buf);
		fd = (op & 0x20) ? fuzz_fd_copy() : -1;
		fp = engine_side ? &pe : &pp;
		/* what is held back on the other pipe arrives first */
		if (held != NULL && held != fp &&
		    (fatal = settle(held, &m)) != 0)
			break;
		held = NULL;
		if (fuzz_pipe_send(fp, type, fuzz_u8(&in), fd, buf, len) == -1)
			fuzz_fail("compose");
		if (engine_side)
			model_engine(&m, type, fd != -1, buf, len);
		else {
			model_parent(&m, type, buf, len);
			/* no message to storage carries one (proto.h) */
			if (fd != -1)
				m.fatal = 1;
		}
		if ((op & 0x80) && !m.fatal) {
			held = fp;	/* to arrive with the next one */
			continue;
		}
		fatal = settle(fp, &m);
	}
	if (held != NULL && !fatal)
		fatal = settle(held, &m);

	storage_clear(s);
	imsgev_clear(&s->iev_parent);
	imsgev_clear(&s->iev_engine);
	fuzz_pipe_close(&pp);
	fuzz_pipe_close(&pe);
	fuzz_fd_sweep(fatal);
	model_free(&m);
	files_free(&disk);
	log_setverbose(0);
	return (0);
}
