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
 * The receiving side of common/imsg.c against whatever a peer may send.
 *
 * Input: one control byte, then the byte stream.  The low four bits of
 * the control byte bound the size of each write (1 << n bytes, the sizes
 * themselves drawn from a generator it seeds), so messages arrive split
 * at varying places; the next two bits say how often a write carries a
 * descriptor (never, 1 in 8, 1 in 2, always).
 *
 * Every message that imsg_get() accepts is composed again on a second
 * socketpair; the bytes that come out there must be exactly the bytes
 * that were accepted, which puts imsg_compose() and imsgbuf_write(), with
 * its partial writes, to work as well.  Every descriptor sent is a copy
 * of one pipe's write end, so at the end the pipe must be at EOF: any
 * copy left open is a leak.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "fdpass.h"

#define FUZZ_MAXINPUT	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 nonblock(int);
static uint32_t	 next_rand(uint32_t *);
static void	 check_imsg(struct imsg *, ssize_t, const struct stat *);
static void	 echo(const uint8_t *, size_t);

static struct imsgbuf	 ibuf, ebuf;
static uint8_t		 echoed[FUZZ_MAXINPUT];
static int		 esv[2] = { -1, -1 };

static void
nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		abort();
}

/* xorshift32: any sequence will do, as long as the input decides it */
static uint32_t
next_rand(uint32_t *state)
{
	uint32_t	x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return (x);
}

/* What imsg_get() promises about a message it returns. */
static void
check_imsg(struct imsg *imsg, ssize_t n, const struct stat *psb)
{
	static uint8_t	 buf[MAX_IMSGSIZE];
	struct stat	 sb;
	size_t		 len = imsg_get_len(imsg);

	if (n != imsg->hdr.len || n < (ssize_t)IMSG_HEADER_SIZE ||
	    n > MAX_IMSGSIZE || len != n - IMSG_HEADER_SIZE)
		abort();
	if ((len == 0) != (imsg->data == NULL))
		abort();
	if (imsg_get_data(imsg, buf, len) != 0)
		abort();
	if (imsg_get_data(imsg, buf, len + 1) != -1 || errno != EBADMSG)
		abort();
	if (len > 0 && (imsg_get_data(imsg, buf, len - 1) != -1 ||
	    errno != EBADMSG))
		abort();
	if (len > 0 && imsg_get_data(imsg, NULL, 0) != -1)
		abort();
	if (len > 0 && memcmp(buf, imsg->data, len) != 0)
		abort();

	/* The only descriptor ever sent is the pipe. */
	if ((imsg->hdr.flags & IMSGF_HASFD) != 0) {
		if (imsg->fd == -1 || fstat(imsg->fd, &sb) == -1 ||
		    sb.st_ino != psb->st_ino || sb.st_dev != psb->st_dev)
			abort();
	} else if (imsg->fd != -1)
		abort();
}

/* Frame the message again; the echo must match the input it came from. */
static void
echo(const uint8_t *want, size_t len)
{
	size_t	got = 0, rounds;
	ssize_t	n;

	for (rounds = 0; rounds < 4 * len + 64; rounds++) {
		if (imsgbuf_write(&ebuf) == -1)
			abort();
		if ((n = read(esv[1], echoed + got, sizeof(echoed) - got)) ==
		    -1) {
			if (errno != EAGAIN)
				abort();
		} else
			got += n;
		if (got >= len && imsgbuf_queuelen(&ebuf) == 0)
			break;
	}
	if (got != len || memcmp(echoed, want, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsg	 imsg;
	struct stat	 psb;
	size_t		 off = 0, accepted = 0, rounds, chunk, maxchunk;
	ssize_t		 n;
	uint32_t	 state;
	int		 sv[2], p[2], fdrate, fd, sndbuf = 4096;
	uint8_t		 ctl;

	if (size < 1 || size > FUZZ_MAXINPUT + 1)
		return (0);
	ctl = data[0];
	data++;
	size--;
	maxchunk = (size_t)1 << (ctl & 0x0f);
	fdrate = (ctl >> 4) & 0x03;
	state = 0x9e3779b9 ^ ctl ^ (uint32_t)size;

	/* Failing here after many runs would mean descriptors leak. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, esv) == -1 ||
	    pipe(p) == -1 || fstat(p[1], &psb) == -1)
		abort();
	/* A small buffer makes the echo's writes partial, and block. */
	if (setsockopt(esv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1)
		abort();
	nonblock(sv[0]);
	nonblock(sv[1]);
	nonblock(esv[0]);
	nonblock(esv[1]);
	nonblock(p[0]);
	imsgbuf_init(&ibuf, sv[0]);
	imsgbuf_init(&ebuf, esv[0]);
	/* pid 0 in a header must come out as 0 again */
	ebuf.pid = 0;

	/*
	 * Every round writes or reads at least a byte: a writer that
	 * would block has left data for the reader, and rbuf cannot fill
	 * without holding a whole message.  So the bound is never reached
	 * unless something is wrong.
	 */
	if (size == 0) {
		close(sv[1]);
		sv[1] = -1;
	}
	for (rounds = 0; rounds < 2 * size + 16; rounds++) {
		if (sv[1] != -1) {
			chunk = 1 + next_rand(&state) % maxchunk;
			if (chunk > size - off)
				chunk = size - off;
			fd = -1;
			if (fdrate == 3 || (fdrate == 2 &&
			    next_rand(&state) % 2 == 0) || (fdrate == 1 &&
			    next_rand(&state) % 8 == 0))
				fd = p[1];
			n = fdpass_send(sv[1], data + off, chunk, &fd,
			    fd != -1);
			if (n == -1 && errno != EAGAIN)
				abort();
			if (n > 0)
				off += n;
			if (off == size) {
				close(sv[1]);
				sv[1] = -1;
			}
		}

		if ((n = imsgbuf_read(&ibuf)) == 0)
			break;
		if (n == -1) {
			if (errno == EAGAIN)
				continue;
			break;
		}
		while ((n = imsg_get(&ibuf, &imsg)) > 0) {
			check_imsg(&imsg, n, &psb);
			/* Claim some descriptors, leave some to imsg_free. */
			fd = -1;
			if (imsg.fd != -1) {
				if (imsg.hdr.type % 2 == 0)
					fd = imsg_get_fd(&imsg);
				else if ((fd = dup(imsg.fd)) == -1)
					abort();
			}
			if (imsg_compose(&ebuf, imsg.hdr.type, imsg.hdr.peerid,
			    imsg.hdr.pid, fd, imsg.data, imsg.datalen) == -1)
				abort();
			accepted += n;
			/* The second call must find nothing to free. */
			imsg_free(&imsg);
			imsg_free(&imsg);
		}
		if (n == -1)
			break;
	}
	if (rounds == 2 * size + 16)
		abort();

	echo(data, accepted);

	imsgbuf_clear(&ibuf);
	imsgbuf_clear(&ebuf);
	if (sv[1] != -1)
		close(sv[1]);
	close(sv[0]);
	close(esv[0]);
	close(esv[1]);
	close(p[1]);
	/* EOF only if no copy of the write end is left open anywhere. */
	if (read(p[0], &ctl, 1) != 0)
		abort();
	close(p[0]);
	return (0);
}
