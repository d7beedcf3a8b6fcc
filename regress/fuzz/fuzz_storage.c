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
 * send.  storage.c is included, so that its state can be reset for every
 * input; the messages go through real socketpairs.
 *
 * Input: a flags byte (bit 0: start with a well-formed configuration
 * from the parent), then messages, each an op byte and what it needs:
 *	bits 0-4	the type, 0 to IMSG_TYPE_MAX - 1, for the parent's
 *			pipe; 22: a type of four input bytes; 23: a message
 *			from the engine, its type the next byte; 24-31:
 *			types 2 to 9 again
 *	bit 5		with a descriptor
 *	bit 6		the payload is a length (two bytes) and that many
 *			input bytes; otherwise it has the size its type
 *			wants, from the input
 *	bit 7		held back, to arrive with the next message
 * and a byte for the peer id, which storage does not look at.
 *
 * Beside not crashing, the handlers must do what a small model of the
 * process says: each message is fatal exactly when the model says so
 * (wrong size, out of order, from the wrong process, unknown type), and
 * a transaction is open exactly when the model has one open.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "wgmeshd.h"
#include "fuzz_daemon.h"

#define imsg_get	fuzz_imsg_get
#define imsg_free	fuzz_imsg_free
#include "../../wgmeshd/storage.c"

#define FUZZ_MAXOPS	256

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct model {
	int	in_reconf;
	int	fatal;		/* the process should be dead */
};

static int	 deliver(struct fuzz_pipe *);
static int	 settle(struct fuzz_pipe *, struct model *);
static void	 model_step(struct model *, int, uint32_t, const void *,
		    size_t);
static size_t	 payload(struct fuzz_in *, uint32_t, int, uint8_t *);

static struct fuzz_pipe	 pp, pe;	/* from the parent, the engine */

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

/* What the process must make of a message. */
static void
model_step(struct model *m, int from_engine, uint32_t type, const void *data,
    size_t len)
{
	int	v;

	if (m->fatal)
		return;
	if (from_engine) {
		m->fatal = 1;
		return;
	}
	switch (type) {
	case IMSG_RECONF_BEGIN:
		if (m->in_reconf || len != sizeof(uint32_t))
			m->fatal = 1;
		m->in_reconf = 1;
		break;
	case IMSG_RECONF_IFACE:
		if (!m->in_reconf || len != sizeof(struct imsg_iface))
			m->fatal = 1;
		break;
	case IMSG_RECONF_PEER:
		if (!m->in_reconf || len != sizeof(struct imsg_peer))
			m->fatal = 1;
		break;
	case IMSG_RECONF_END:
		if (!m->in_reconf || len != 0)
			m->fatal = 1;
		m->in_reconf = 0;
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

/*
 * Lets the process read until the pipe is empty.  Returns -1 when a
 * handler called fatal().
 */
static int
deliver(struct fuzz_pipe *fp)
{
	struct storage	*s = &storage_state;
	event_callback_fn fn = fp == &pp ? storage_dispatch_parent :
			    storage_dispatch_engine;
	int		 avail, rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		fuzz_pipe_pending(fp);
		if (setjmp(fuzz_jmp) != 0) {
			fuzz_imsg_forget(1);
			return (-1);
		}
		fn(fp == &pp ? s->iev_parent.ibuf.fd : s->iev_engine.ibuf.fd,
		    EV_READ, s);
		fuzz_imsg_forget(0);
		if (ioctl(fp == &pp ? s->iev_parent.ibuf.fd :
		    s->iev_engine.ibuf.fd, FIONREAD, &avail) == -1)
			fuzz_fail("FIONREAD");
		if (avail == 0 && imsgbuf_queuelen(&fp->ibuf) == 0)
			return (0);
	}
	fuzz_fail("the pipe does not drain");
}

/* Delivers, and compares the process with the model. */
static int
settle(struct fuzz_pipe *fp, struct model *m)
{
	struct storage	*s = &storage_state;
	int		 fatal;

	fatal = deliver(fp) == -1;
	if (fatal != m->fatal)
		fuzz_fail("%s: %s, the model says %s",
		    imsg_type_name(fuzz_cur_hdr.type), fatal ? "fatal" :
		    "accepted", m->fatal ? "fatal" : "accept");
	if (!fatal && s->in_reconf != m->in_reconf)
		fuzz_fail("in_reconf %d, the model says %d", s->in_reconf,
		    m->in_reconf);
	if (log_getverbose() < 0 || log_getverbose() > 2)
		fuzz_fail("verbosity %d", log_getverbose());
	return (fatal);
}

static size_t
payload(struct fuzz_in *in, uint32_t type, int raw, uint8_t *buf)
{
	size_t	len;
	int	v;

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
		len = sizeof(struct imsg_iface);
		break;
	case IMSG_RECONF_PEER:
		len = sizeof(struct imsg_peer);
		break;
	case IMSG_CTL_LOG_VERBOSE:
		/* mostly -1 to 3 */
		v = fuzz_u8(in);
		v = v < 0xf0 ? v % 5 - 1 : (int)fuzz_u32(in);
		memcpy(buf, &v, sizeof(v));
		return (sizeof(v));
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
	static uint8_t		 buf[MAX_IMSGSIZE];
	struct storage		*s = &storage_state;
	struct fuzz_in		 in = { data, size };
	struct fuzz_pipe	*fp, *held = NULL;
	struct model		 m;
	uint32_t		 type, gen = 1;
	size_t			 len, ops, i;
	uint8_t			 flags, op;
	int			 fd, fatal = 0, engine_side;

	memset(s, 0, sizeof(*s));
	memset(&m, 0, sizeof(m));
	s->base = fuzz_event_base();
	log_setverbose(0);
	fuzz_pipe_open(&pp);
	fuzz_pipe_open(&pe);
	imsgev_init(&s->iev_parent, s->base, pp.theirs,
	    storage_dispatch_parent, s);
	imsgev_init(&s->iev_engine, s->base, pe.theirs,
	    storage_dispatch_engine, s);

	flags = fuzz_u8(&in);
	if (flags & 1) {
		/* what the parent sends at start: one interface, two peers */
		memset(buf, 0, sizeof(struct imsg_peer));
		fuzz_pipe_send(&pp, IMSG_RECONF_BEGIN, 0, -1, &gen,
		    sizeof(gen));
		fuzz_pipe_send(&pp, IMSG_RECONF_IFACE, 0, -1, buf,
		    sizeof(struct imsg_iface));
		for (i = 0; i < 2; i++)
			fuzz_pipe_send(&pp, IMSG_RECONF_PEER, 0, -1, buf,
			    sizeof(struct imsg_peer));
		fuzz_pipe_send(&pp, IMSG_RECONF_END, 0, -1, NULL, 0);
		if (deliver(&pp) == -1)
			fuzz_fail("a well-formed configuration was refused");
	}

	for (ops = 0; ops < FUZZ_MAXOPS && in.len > 0 && !fatal; ops++) {
		op = fuzz_u8(&in);
		engine_side = 0;
		switch (op & 0x1f) {
		case 22:
			type = fuzz_u32(&in);
			break;
		case 23:
			engine_side = 1;
			type = fuzz_u8(&in);
			break;
		default:
			type = (op & 0x1f) % IMSG_TYPE_MAX;
			break;
		}
		len = payload(&in, type, op & 0x40, buf);
		fd = (op & 0x20) ? fuzz_fd_copy() : -1;
		fp = engine_side ? &pe : &pp;
		/* what is held back on the other pipe arrives first */
		if (held != NULL && held != fp &&
		    (fatal = settle(held, &m)) != 0)
			break;
		held = NULL;
		if (fuzz_pipe_send(fp, type, fuzz_u8(&in), fd, buf, len) == -1)
			fuzz_fail("compose");
		model_step(&m, engine_side, type, buf, len);
		if ((op & 0x80) && !m.fatal) {
			held = fp;	/* to arrive with the next one */
			continue;
		}
		fatal = settle(fp, &m);
	}
	if (held != NULL && !fatal)
		fatal = settle(held, &m);

	imsgev_clear(&s->iev_parent);
	imsgev_clear(&s->iev_engine);
	fuzz_pipe_close(&pp);
	fuzz_pipe_close(&pe);
	fuzz_fd_sweep(fatal);
	log_setverbose(0);
	return (0);
}
