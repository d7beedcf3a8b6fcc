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
 * Tests of common/imsg.c over real socketpairs.  Every reading side is
 * non-blocking and every loop is bounded, so a bug makes a test fail
 * rather than hang; nothing sleeps.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "proto.h"
#include "fdpass.h"
#include "regress.h"

#define MAX_PAYLOAD	(MAX_IMSGSIZE - IMSG_HEADER_SIZE)
/* imsg_get()/imsgbuf_read() rounds before next_imsg() gives up */
#define READ_ROUNDS	1000

static void	 socks(int [2]);
static void	 set_nonblock(int);
static void	 fill(unsigned char *, size_t, unsigned int);
static int	 pattern_ok(const unsigned char *, size_t, unsigned int);
static void	 send_all(int, const void *, size_t);
static void	 send_hdr(int, uint16_t, uint16_t);
static void	 send_fds(int, const int *, size_t);
static ssize_t	 next_imsg(struct imsgbuf *, struct imsg *);
static int	 fd_closed(int);
static int	 pipe_at_eof(int);
static void	 test_init(void);
static void	 test_roundtrip(void);
static void	 test_oversize(void);
static void	 test_partial(void);
static void	 test_bad_header(void);
static void	 test_hasfd_without_fd(void);
static void	 test_fd_pass(void);
static void	 test_fd_sequence(void);
static void	 test_fd_partial_write(void);
static void	 test_big_queue(void);
static void	 test_eof(void);
static void	 test_epipe(void);
static void	 test_get_data(void);
static void	 test_free_twice(void);
static void	 test_clear(void);
static void	 test_ctrunc(void);
static void	 test_fd_overflow(void);
static void	 test_rbuf_full(void);
static void	 test_queue_cap(void);
static void	 test_refuse_fds(void);
static void	 test_check(void);
static const char *check(uint32_t, size_t, int, unsigned int);

/* Large: keep them off the stack. */
static struct imsgbuf	 wbuf, rbuf;

static void
socks(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		err(1, "socketpair");
}

static void
set_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		err(1, "fcntl");
}

static void
fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

static int
pattern_ok(const unsigned char *buf, size_t len, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (buf[i] != (unsigned char)(seed * 131 + i * 7 + (i >> 8)))
			return (0);
	return (1);
}

static void
send_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1)
			err(1, "write");
		p += n;
		len -= n;
	}
}

/* A bare header, as a broken or hostile peer might send it. */
static void
send_hdr(int fd, uint16_t len, uint16_t flags)
{
	struct imsg_hdr	hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 1;
	hdr.len = len;
	hdr.flags = flags;
	send_all(fd, &hdr, sizeof(hdr));
}

/* One byte carrying nfds descriptors in one SCM_RIGHTS message. */
static void
send_fds(int sock, const int *fds, size_t nfds)
{
	char	byte = 0;

	if (fdpass_send(sock, &byte, 1, fds, nfds) != 1)
		err(1, "send_fds");
}

/*
 * The next message on a non-blocking socket whose data has all been sent:
 * >0 as imsg_get(), -1 with errno on error, EAGAIN when it never comes.
 */
static ssize_t
next_imsg(struct imsgbuf *ibuf, struct imsg *imsg)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < READ_ROUNDS; i++) {
		if ((n = imsg_get(ibuf, imsg)) != 0)
			return (n);
		if ((n = imsgbuf_read(ibuf)) == -1)
			return (-1);
		if (n == 0) {
			errno = ECONNRESET;
			return (-1);
		}
	}
	errno = EAGAIN;
	return (-1);
}

/* Call with nothing opened since fd was closed, or fd may be reused. */
static int
fd_closed(int fd)
{
	return (fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

/*
 * The read end of a pipe is at EOF only once every copy of its write end
 * is closed, wherever it went: a check that fd reuse cannot fool.
 */
static int
pipe_at_eof(int rfd)
{
	char	c;

	set_nonblock(rfd);
	return (read(rfd, &c, 1) == 0);
}

static void
test_init(void)
{
	TEST("init");
	imsgbuf_init(&wbuf, 7);
	CHECK(wbuf.fd == 7, "fd %d", wbuf.fd);
	CHECK(wbuf.pid == getpid(), "pid %d", (int)wbuf.pid);
	CHECK(imsgbuf_queuelen(&wbuf) == 0, "queuelen %zu",
	    imsgbuf_queuelen(&wbuf));
	CHECK(TAILQ_EMPTY(&wbuf.wq), "queue not empty");
	CHECK(wbuf.rlen == 0 && wbuf.nfds == 0, "rlen %zu nfds %zu",
	    wbuf.rlen, wbuf.nfds);
	imsgbuf_clear(&wbuf);
}

static void
test_roundtrip(void)
{
	static const size_t	 sizes[] = { 0, 1, 7, 100, 4096, MAX_PAYLOAD,
				    0, 3 };
	static unsigned char	 buf[MAX_PAYLOAD];
	struct imsg		 imsg;
	size_t			 i, n = sizeof(sizes) / sizeof(sizes[0]);
	ssize_t			 len;
	pid_t			 pid;
	int			 sv[2];

	TEST("round trip");
	socks(sv);
	set_nonblock(sv[1]);
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);

	for (i = 0; i < n; i++) {
		fill(buf, sizes[i], i);
		/* pid 0 stands for our own */
		pid = i % 2 == 0 ? 0 : (pid_t)(4000 + i);
		CHECK(imsg_compose(&wbuf, 100 + i, 0xdead0000 + i, pid, -1,
		    sizes[i] == 0 ? NULL : buf, sizes[i]) == 0,
		    "compose %zu: %s", i, strerror(errno));
	}
	CHECK(imsgbuf_queuelen(&wbuf) == n, "queuelen %zu",
	    imsgbuf_queuelen(&wbuf));
	CHECK(imsgbuf_flush(&wbuf) == 0, "flush: %s", strerror(errno));
	CHECK(imsgbuf_queuelen(&wbuf) == 0, "queuelen %zu after flush",
	    imsgbuf_queuelen(&wbuf));

	for (i = 0; i < n; i++) {
		len = next_imsg(&rbuf, &imsg);
		CHECK(len == (ssize_t)(IMSG_HEADER_SIZE + sizes[i]),
		    "message %zu: got %zd: %s", i, len, strerror(errno));
		if (len <= 0)
			break;
		pid = i % 2 == 0 ? getpid() : (pid_t)(4000 + i);
		CHECK(imsg.hdr.type == 100 + i, "type %u", imsg.hdr.type);
		CHECK(imsg.hdr.peerid == 0xdead0000 + i, "peerid %x",
		    imsg.hdr.peerid);
		CHECK(imsg.hdr.pid == (uint32_t)pid, "pid %u", imsg.hdr.pid);
		CHECK(imsg.hdr.len == len, "hdr.len %u", imsg.hdr.len);
		CHECK(imsg.hdr.flags == 0, "flags %x", imsg.hdr.flags);
		CHECK(imsg.fd == -1, "fd %d", imsg.fd);
		CHECK(imsg_get_len(&imsg) == sizes[i], "len %zu",
		    imsg_get_len(&imsg));
		if (sizes[i] == 0)
			CHECK(imsg.data == NULL, "data for empty payload");
		else
			CHECK(imsg.data != NULL &&
			    pattern_ok(imsg.data, sizes[i], i),
			    "payload %zu differs", i);
		imsg_free(&imsg);
	}
	CHECK(imsg_get(&rbuf, &imsg) == 0, "message left over");
	CHECK(rbuf.rlen == 0, "%zu bytes left over", rbuf.rlen);
	CHECK(imsgbuf_read(&rbuf) == -1 && errno == EAGAIN,
	    "more data than sent");

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_oversize(void)
{
	static unsigned char	 buf[MAX_IMSGSIZE];
	int			 p[2];

	TEST("oversize compose");
	if (pipe(p) == -1)
		err(1, "pipe");
	imsgbuf_init(&wbuf, -1);
	errno = 0;
	CHECK(imsg_compose(&wbuf, 1, 0, 0, -1, buf, MAX_PAYLOAD + 1) == -1 &&
	    errno == ERANGE, "one byte too many: errno %d", errno);
	errno = 0;
	CHECK(imsg_compose(&wbuf, 1, 0, 0, -1, buf, SIZE_MAX) == -1 &&
	    errno == ERANGE, "SIZE_MAX: errno %d", errno);
	errno = 0;
	CHECK(imsg_compose(&wbuf, 1, 0, 0, p[0], buf, MAX_IMSGSIZE) == -1 &&
	    errno == ERANGE, "with fd: errno %d", errno);
	CHECK(fcntl(p[0], F_GETFD) != -1, "refused fd was closed");
	errno = 0;
	CHECK(imsg_compose(&wbuf, 1, 0, 0, -1, NULL, 5) == -1 &&
	    errno == EINVAL, "NULL data: errno %d", errno);
	CHECK(imsgbuf_queuelen(&wbuf) == 0 && TAILQ_EMPTY(&wbuf.wq),
	    "refused message queued");
	CHECK(imsg_compose(&wbuf, 1, 0, 0, -1, buf, MAX_PAYLOAD) == 0,
	    "maximal payload refused: %s", strerror(errno));
	CHECK(imsgbuf_queuelen(&wbuf) == 1, "queuelen %zu",
	    imsgbuf_queuelen(&wbuf));
	imsgbuf_clear(&wbuf);
	close(p[0]);
	close(p[1]);
}

static void
test_partial(void)
{
	unsigned char	 wire[2 * (IMSG_HEADER_SIZE + 300)];
	unsigned char	 payload[300];
	struct imsg	 imsg;
	size_t		 wlen, off, chunk, one;
	ssize_t		 n, got;
	int		 a[2], b[2], ok, count;

	TEST("partial reads");
	socks(a);
	socks(b);
	set_nonblock(a[1]);
	set_nonblock(b[1]);
	imsgbuf_init(&wbuf, a[0]);
	imsgbuf_init(&rbuf, b[1]);

	/* Two messages as imsg_compose() frames them, caught raw. */
	fill(payload, sizeof(payload), 9);
	if (imsg_compose(&wbuf, 42, 7, 0, -1, payload, sizeof(payload)) ==
	    -1 || imsg_compose(&wbuf, 43, 8, 0, -1, payload, 0) == -1 ||
	    imsgbuf_flush(&wbuf) == -1)
		err(1, "compose");
	one = IMSG_HEADER_SIZE + sizeof(payload);
	wlen = 0;
	while (wlen < one + IMSG_HEADER_SIZE) {
		if ((n = read(a[1], wire + wlen, sizeof(wire) - wlen)) <= 0)
			err(1, "read");
		wlen += n;
	}
	CHECK(wlen == one + IMSG_HEADER_SIZE, "wire length %zu", wlen);

	/* Byte by byte: nothing until the last byte of the first. */
	ok = 1;
	for (off = 0; off < one; off++) {
		send_all(b[0], wire + off, 1);
		if (imsgbuf_read(&rbuf) != 1)
			ok = 0;
		got = imsg_get(&rbuf, &imsg);
		if (off + 1 < one && got != 0)
			ok = 0;
		if (off + 1 == one) {
			CHECK(got == (ssize_t)one, "complete message: %zd",
			    got);
			CHECK(imsg.hdr.type == 42 && imsg.hdr.peerid == 7 &&
			    imsg.datalen == sizeof(payload) &&
			    pattern_ok(imsg.data, sizeof(payload), 9),
			    "message differs");
		}
		imsg_free(&imsg);
	}
	CHECK(ok, "a message before its last byte, or a short read");

	/* The empty one, header split down the middle. */
	send_all(b[0], wire + one, 5);
	CHECK(imsgbuf_read(&rbuf) == 5, "read 5");
	CHECK(imsg_get(&rbuf, &imsg) == 0, "message from half a header");
	send_all(b[0], wire + one + 5, IMSG_HEADER_SIZE - 5);
	CHECK(next_imsg(&rbuf, &imsg) == (ssize_t)IMSG_HEADER_SIZE &&
	    imsg.hdr.type == 43 && imsg.data == NULL, "empty message");
	imsg_free(&imsg);

	/* Both again, over and over, in odd chunks. */
	count = 0;
	for (chunk = 3; chunk < 2 * one; chunk += 61) {
		for (off = 0; off < wlen; off += n) {
			n = wlen - off < chunk ? wlen - off : chunk;
			send_all(b[0], wire + off, n);
			if (imsgbuf_read(&rbuf) != n)
				break;
			while ((got = imsg_get(&rbuf, &imsg)) > 0) {
				if ((imsg.hdr.type == 42 && got ==
				    (ssize_t)one) || (imsg.hdr.type == 43 &&
				    got == (ssize_t)IMSG_HEADER_SIZE))
					count++;
				imsg_free(&imsg);
			}
		}
	}
	CHECK(count == 2 * (int)((2 * one - 3 + 60) / 61), "%d messages",
	    count);
	CHECK(rbuf.rlen == 0, "%zu bytes left", rbuf.rlen);

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void
test_bad_header(void)
{
	static const struct {
		const char	*what;
		uint16_t	 len;
		uint16_t	 flags;
	} bad[] = {
		{ "len 0", 0, 0 },
		{ "len below header", IMSG_HEADER_SIZE - 1, 0 },
		{ "len above maximum", MAX_IMSGSIZE + 1, 0 },
		{ "len 65535", 65535, 0 },
		{ "unknown flag", IMSG_HEADER_SIZE, 0x0002 },
		{ "high flag", IMSG_HEADER_SIZE, 0x8000 },
		{ "unknown flag beside HASFD", IMSG_HEADER_SIZE,
		    IMSGF_HASFD | 0x0100 },
	};
	struct imsg	 imsg;
	size_t		 i;
	ssize_t		 n;
	int		 sv[2];

	TEST("malformed headers");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		socks(sv);
		set_nonblock(sv[1]);
		imsgbuf_init(&rbuf, sv[1]);
		/* Only the header: a bad one must not wait for more. */
		send_hdr(sv[0], bad[i].len, bad[i].flags);
		CHECK(imsgbuf_read(&rbuf) == (ssize_t)IMSG_HEADER_SIZE,
		    "%s: read", bad[i].what);
		errno = 0;
		n = imsg_get(&rbuf, &imsg);
		CHECK(n == -1 && errno == EBADMSG, "%s: got %zd errno %d",
		    bad[i].what, n, errno);
		CHECK(imsg.fd == -1 && imsg.data == NULL,
		    "%s: imsg not reset", bad[i].what);
		/* It stays bad, and imsg_free() on the result is safe. */
		CHECK(imsg_get(&rbuf, &imsg) == -1 && errno == EBADMSG,
		    "%s: second try", bad[i].what);
		imsg_free(&imsg);
		imsgbuf_clear(&rbuf);
		close(sv[0]);
		close(sv[1]);
	}
}

static void
test_hasfd_without_fd(void)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 sv[2];

	TEST("HASFD without a descriptor");
	socks(sv);
	set_nonblock(sv[1]);
	imsgbuf_init(&rbuf, sv[1]);
	send_hdr(sv[0], IMSG_HEADER_SIZE, IMSGF_HASFD);
	errno = 0;
	n = next_imsg(&rbuf, &imsg);
	CHECK(n == -1 && errno == EBADMSG, "got %zd errno %d", n, errno);
	imsg_free(&imsg);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_pass(void)
{
	struct imsg	 imsg;
	char		 buf[16];
	ssize_t		 n;
	int		 sv[2], p[2], fd;

	TEST("descriptor passing");
	socks(sv);
	set_nonblock(sv[1]);
	if (pipe(p) == -1)
		err(1, "pipe");
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);

	CHECK(imsg_compose(&wbuf, 5, 0, 0, p[0], "fd", 2) == 0,
	    "compose: %s", strerror(errno));
	CHECK(imsgbuf_flush(&wbuf) == 0, "flush: %s", strerror(errno));
	/* Sent, so the queue's copy is gone; nothing opened since. */
	CHECK(fd_closed(p[0]), "sent fd %d still open", p[0]);

	n = next_imsg(&rbuf, &imsg);
	CHECK(n == (ssize_t)IMSG_HEADER_SIZE + 2, "got %zd: %s", n,
	    strerror(errno));
	CHECK(imsg.hdr.flags == IMSGF_HASFD, "flags %x", imsg.hdr.flags);
	CHECK(imsg.fd != -1, "no fd");
	CHECK(rbuf.nfds == 0, "%zu fds pending", rbuf.nfds);
	CHECK(imsg.fd == -1 || (fcntl(imsg.fd, F_GETFD) & FD_CLOEXEC),
	    "received fd without close-on-exec");

	fd = imsg_get_fd(&imsg);
	CHECK(imsg.fd == -1, "imsg_get_fd left fd %d", imsg.fd);
	CHECK(imsg_get_fd(&imsg) == -1, "fd claimed twice");
	imsg_free(&imsg);
	CHECK(fd == -1 || fcntl(fd, F_GETFD) != -1,
	    "imsg_free closed a claimed fd");

	send_all(p[1], "through", 7);
	memset(buf, 0, sizeof(buf));
	CHECK(fd != -1 && read(fd, buf, sizeof(buf)) == 7 &&
	    memcmp(buf, "through", 7) == 0, "read through passed fd");

	if (fd != -1)
		close(fd);
	close(p[1]);
	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_sequence(void)
{
	/* 1: the message carries a pipe */
	static const int	 withfd[] = { 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1 };
	struct imsg		 imsg;
	char			 want[16], buf[16];
	size_t			 i, n = sizeof(withfd) / sizeof(withfd[0]);
	int			 sv[2], p[2], wfd[16], ok;
	ssize_t			 len;

	TEST("descriptors in sequence");
	socks(sv);
	set_nonblock(sv[1]);
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);

	for (i = 0; i < n; i++) {
		wfd[i] = -1;
		p[0] = -1;
		if (withfd[i]) {
			if (pipe(p) == -1)
				err(1, "pipe");
			wfd[i] = p[1];
		}
		if (imsg_compose(&wbuf, 200 + i, i, 0, p[0], &i,
		    sizeof(i)) == -1)
			err(1, "compose");
	}
	CHECK(imsgbuf_flush(&wbuf) == 0, "flush: %s", strerror(errno));

	for (i = 0; i < n; i++) {
		if (wfd[i] == -1)
			continue;
		snprintf(want, sizeof(want), "pipe %zu", i);
		send_all(wfd[i], want, strlen(want));
		close(wfd[i]);
	}

	for (i = 0; i < n; i++) {
		len = next_imsg(&rbuf, &imsg);
		CHECK(len == (ssize_t)(IMSG_HEADER_SIZE + sizeof(i)),
		    "message %zu: %zd: %s", i, len, strerror(errno));
		if (len <= 0)
			break;
		CHECK(imsg.hdr.type == 200 + i, "type %u", imsg.hdr.type);
		CHECK((imsg.fd != -1) == withfd[i], "message %zu fd %d", i,
		    imsg.fd);
		if (imsg.fd == -1) {
			imsg_free(&imsg);
			continue;
		}
		snprintf(want, sizeof(want), "pipe %zu", i);
		memset(buf, 0, sizeof(buf));
		ok = read(imsg.fd, buf, sizeof(buf) - 1) ==
		    (ssize_t)strlen(want) && strcmp(buf, want) == 0;
		CHECK(ok, "message %zu: read \"%s\", want \"%s\"", i, buf,
		    want);
		/* Every write end is closed: the pipe ends here. */
		CHECK(read(imsg.fd, buf, sizeof(buf)) == 0, "not at EOF");
		imsg_free(&imsg);
	}
	CHECK(rbuf.nfds == 0, "%zu fds pending", rbuf.nfds);

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_partial_write(void)
{
	static unsigned char	 buf[MAX_PAYLOAD];
	struct imsg		 imsg;
	struct stat		 sb, psb;
	size_t			 got, round;
	ssize_t			 n;
	int			 sv[2], p[2], fd, sndbuf = 4096, ok;

	TEST("descriptor on a message written in pieces");
	socks(sv);
	set_nonblock(sv[0]);
	set_nonblock(sv[1]);
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1)
		err(1, "setsockopt");
	if (pipe(p) == -1 || fstat(p[1], &psb) == -1 || (fd = dup(p[1])) == -1)
		err(1, "pipe");
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);
	fill(buf, sizeof(buf), 3);
	if (imsg_compose(&wbuf, 0, 0, 0, p[1], buf, sizeof(buf)) == -1 ||
	    imsg_compose(&wbuf, 1, 0, 0, -1, buf, sizeof(buf)) == -1 ||
	    imsg_compose(&wbuf, 2, 0, 0, fd, buf, sizeof(buf)) == -1)
		err(1, "compose");

	CHECK(imsgbuf_write(&wbuf) == 0, "write: %s", strerror(errno));
	CHECK(imsgbuf_queuelen(&wbuf) == 3 &&
	    TAILQ_FIRST(&wbuf.wq)->wpos > 0, "first write not partial");

	/* Sent once with its first byte, never again with the rest. */
	got = 0;
	ok = 1;
	for (round = 0; round < 10000 && got < 3; round++) {
		if (imsgbuf_write(&wbuf) == -1 ||
		    ((n = imsgbuf_read(&rbuf)) == -1 && errno != EAGAIN)) {
			CHECK(0, "i/o: %s", strerror(errno));
			break;
		}
		while ((n = imsg_get(&rbuf, &imsg)) > 0) {
			if (imsg.hdr.type != got || !pattern_ok(imsg.data,
			    imsg.datalen, 3) || (imsg.fd != -1) != (got != 1))
				ok = 0;
			if (imsg.fd != -1 && (fstat(imsg.fd, &sb) == -1 ||
			    sb.st_ino != psb.st_ino))
				ok = 0;
			if (rbuf.nfds != 0)
				ok = 0;
			imsg_free(&imsg);
			got++;
		}
	}
	CHECK(got == 3, "%zu of 3 messages", got);
	CHECK(ok, "wrong message, or a descriptor sent twice");
	CHECK(rbuf.nfds == 0, "%zu descriptors pending", rbuf.nfds);

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
	CHECK(pipe_at_eof(p[0]), "passed fds left open");
	close(p[0]);
}

static void
test_big_queue(void)
{
	static unsigned char	 buf[MAX_PAYLOAD];
	const size_t		 count = 400;
	struct imsg		 imsg;
	struct stat		 sb, psb;
	size_t			 i, size, got, before, round;
	ssize_t			 n;
	int			 sv[2], p[2], fd, blocked, order, fdok;

	TEST("queue larger than the socket buffer");
	socks(sv);
	set_nonblock(sv[0]);
	set_nonblock(sv[1]);
	if (pipe(p) == -1 || fstat(p[1], &psb) == -1)
		err(1, "pipe");
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);

	/* About 3 MB; every 37th message carries a copy of the pipe. */
	for (i = 0; i < count; i++) {
		size = (i * 7919) % (MAX_PAYLOAD + 1);
		fill(buf, size, i);
		fd = -1;
		if (i % 37 == 5 && (fd = dup(p[1])) == -1)
			err(1, "dup");
		if (imsg_compose(&wbuf, i, 0, 0, fd, buf, size) == -1)
			err(1, "compose");
	}

	/* Write until the socket is full and nothing more goes. */
	blocked = 0;
	for (round = 0; round < 10000; round++) {
		before = imsgbuf_queuelen(&wbuf);
		if (imsgbuf_write(&wbuf) == -1) {
			CHECK(0, "write: %s", strerror(errno));
			break;
		}
		if (imsgbuf_queuelen(&wbuf) == before &&
		    imsgbuf_write(&wbuf) == 0 &&
		    imsgbuf_queuelen(&wbuf) == before) {
			blocked = 1;
			break;
		}
	}
	CHECK(blocked, "socket never filled");
	CHECK(imsgbuf_queuelen(&wbuf) > 0, "queue drained without a reader");

	got = 0;
	order = fdok = 1;
	for (round = 0; round < 100000 && got < count; round++) {
		if (imsgbuf_write(&wbuf) == -1) {
			CHECK(0, "write: %s", strerror(errno));
			break;
		}
		if ((n = imsgbuf_read(&rbuf)) == -1 && errno != EAGAIN) {
			CHECK(0, "read: %s", strerror(errno));
			break;
		}
		while ((n = imsg_get(&rbuf, &imsg)) > 0) {
			size = (got * 7919) % (MAX_PAYLOAD + 1);
			if (imsg.hdr.type != got || imsg.datalen != size ||
			    !pattern_ok(imsg.data, size, got))
				order = 0;
			if ((imsg.fd != -1) != (got % 37 == 5))
				fdok = 0;
			if (imsg.fd != -1 && (fstat(imsg.fd, &sb) == -1 ||
			    sb.st_ino != psb.st_ino || sb.st_dev != psb.st_dev))
				fdok = 0;
			imsg_free(&imsg);
			got++;
		}
		if (n == -1) {
			CHECK(0, "imsg_get: %s", strerror(errno));
			break;
		}
	}
	CHECK(got == count, "%zu of %zu messages", got, count);
	CHECK(order, "messages out of order or damaged");
	CHECK(fdok, "descriptors on the wrong messages");
	CHECK(imsgbuf_queuelen(&wbuf) == 0, "%zu still queued",
	    imsgbuf_queuelen(&wbuf));
	CHECK(rbuf.rlen == 0 && rbuf.nfds == 0, "rlen %zu nfds %zu",
	    rbuf.rlen, rbuf.nfds);

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
	close(p[1]);
	/* Every copy of the write end was closed, sent or not. */
	CHECK(pipe_at_eof(p[0]), "passed fds left open");
	close(p[0]);
}

static void
test_eof(void)
{
	struct imsg	 imsg;
	int		 sv[2];

	TEST("EOF");
	socks(sv);
	imsgbuf_init(&rbuf, sv[1]);
	send_hdr(sv[0], IMSG_HEADER_SIZE, 0);
	close(sv[0]);
	CHECK(imsgbuf_read(&rbuf) == (ssize_t)IMSG_HEADER_SIZE, "read");
	CHECK(imsg_get(&rbuf, &imsg) > 0, "message before EOF");
	imsg_free(&imsg);
	CHECK(imsgbuf_read(&rbuf) == 0, "no EOF");
	CHECK(imsgbuf_read(&rbuf) == 0, "no EOF the second time");
	imsgbuf_clear(&rbuf);
	close(sv[1]);
}

static void
test_epipe(void)
{
	sigset_t	 block, old, pending;
	int		 sv[2], r;

	TEST("closed peer");
	/* Blocked, a SIGPIPE would stay pending where we can see it. */
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &block, &old) == -1)
		err(1, "sigprocmask");

	socks(sv);
	close(sv[1]);
	imsgbuf_init(&wbuf, sv[0]);
	if (imsg_compose(&wbuf, 1, 0, 0, -1, "x", 1) == -1)
		err(1, "compose");
	errno = 0;
	r = imsgbuf_write(&wbuf);
	CHECK(r == -1 && errno == EPIPE, "write: %d errno %d", r, errno);
	CHECK(imsgbuf_queuelen(&wbuf) == 1, "queuelen %zu",
	    imsgbuf_queuelen(&wbuf));
	errno = 0;
	r = imsgbuf_flush(&wbuf);
	CHECK(r == -1 && errno == EPIPE, "flush: %d errno %d", r, errno);

	sigemptyset(&pending);
	CHECK(sigpending(&pending) == 0 && !sigismember(&pending, SIGPIPE),
	    "SIGPIPE raised");
	if (sigismember(&pending, SIGPIPE))
		signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old, NULL);

	imsgbuf_clear(&wbuf);
	close(sv[0]);
}

static void
test_get_data(void)
{
	struct {
		uint32_t	a;
		uint32_t	b;
	}		 in = { 0x01020304, 0xa0b0c0d0 }, out;
	unsigned char	 big[sizeof(in) + 1];
	struct imsg	 imsg;
	int		 sv[2];

	TEST("imsg_get_data");
	socks(sv);
	set_nonblock(sv[1]);
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);
	if (imsg_compose(&wbuf, 1, 0, 0, -1, &in, sizeof(in)) == -1 ||
	    imsg_compose(&wbuf, 2, 0, 0, -1, NULL, 0) == -1 ||
	    imsgbuf_flush(&wbuf) == -1)
		err(1, "compose");

	CHECK(next_imsg(&rbuf, &imsg) > 0, "first message");
	CHECK(imsg_get_len(&imsg) == sizeof(in), "len %zu",
	    imsg_get_len(&imsg));
	memset(&out, 0xff, sizeof(out));
	errno = 0;
	CHECK(imsg_get_data(&imsg, &out, sizeof(out) - 1) == -1 &&
	    errno == EBADMSG, "short copy allowed");
	errno = 0;
	CHECK(imsg_get_data(&imsg, big, sizeof(big)) == -1 &&
	    errno == EBADMSG, "long copy allowed");
	errno = 0;
	CHECK(imsg_get_data(&imsg, NULL, 0) == -1 && errno == EBADMSG,
	    "empty copy allowed");
	CHECK(out.a == 0xffffffff, "failed copy wrote");
	CHECK(imsg_get_data(&imsg, &out, sizeof(out)) == 0 &&
	    memcmp(&in, &out, sizeof(in)) == 0, "exact copy");
	imsg_free(&imsg);

	CHECK(next_imsg(&rbuf, &imsg) > 0, "second message");
	CHECK(imsg_get_len(&imsg) == 0, "len %zu", imsg_get_len(&imsg));
	CHECK(imsg_get_data(&imsg, NULL, 0) == 0, "empty copy refused");
	errno = 0;
	CHECK(imsg_get_data(&imsg, &out, 1) == -1 && errno == EBADMSG,
	    "copy from empty allowed");
	imsg_free(&imsg);

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_free_twice(void)
{
	struct imsg	 imsg;
	int		 sv[2], p[2];

	TEST("imsg_free twice");
	socks(sv);
	set_nonblock(sv[1]);
	if (pipe(p) == -1)
		err(1, "pipe");
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);
	if (imsg_compose(&wbuf, 1, 0, 0, p[1], "abc", 3) == -1 ||
	    imsgbuf_flush(&wbuf) == -1)
		err(1, "compose");
	CHECK(next_imsg(&rbuf, &imsg) > 0 && imsg.fd != -1 &&
	    imsg.data != NULL, "message with fd and data");
	/* imsg_free() closes the unclaimed write end: the pipe ends. */
	imsg_free(&imsg);
	CHECK(imsg.fd == -1 && imsg.data == NULL && imsg.datalen == 0,
	    "imsg not reset");
	imsg_free(&imsg);
	CHECK(pipe_at_eof(p[0]), "unclaimed fd left open");
	close(p[0]);
	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

static void
test_clear(void)
{
	int	sv[2], p[2], q[2], fd;

	TEST("imsgbuf_clear");
	socks(sv);
	set_nonblock(sv[1]);
	if (pipe(p) == -1 || pipe(q) == -1)
		err(1, "pipe");

	/* Queued and never written. */
	imsgbuf_init(&wbuf, sv[0]);
	if (imsg_compose(&wbuf, 1, 0, 0, -1, "a", 1) == -1 ||
	    imsg_compose(&wbuf, 2, 0, 0, p[1], "b", 1) == -1)
		err(1, "compose");
	fd = p[1];
	imsgbuf_clear(&wbuf);
	CHECK(fd_closed(fd), "queued fd %d still open", fd);
	CHECK(imsgbuf_queuelen(&wbuf) == 0 && TAILQ_EMPTY(&wbuf.wq),
	    "queue not empty");
	CHECK(pipe_at_eof(p[0]), "queued fd still open somewhere");
	/* Cleared twice is harmless, and the socket is left alone. */
	imsgbuf_clear(&wbuf);
	CHECK(fcntl(sv[0], F_GETFD) != -1, "imsgbuf_clear closed ibuf->fd");

	/* Received and not claimed by any message. */
	imsgbuf_init(&rbuf, sv[1]);
	send_fds(sv[0], &q[1], 1);
	close(q[1]);
	CHECK(imsgbuf_read(&rbuf) == 1 && rbuf.nfds == 1, "nfds %zu",
	    rbuf.nfds);
	CHECK(!pipe_at_eof(q[0]), "pending fd closed early");
	imsgbuf_clear(&rbuf);
	CHECK(rbuf.nfds == 0, "nfds %zu", rbuf.nfds);
	CHECK(pipe_at_eof(q[0]), "pending fd still open");

	close(p[0]);
	close(q[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_ctrunc(void)
{
	int	sv[2], p[2], fds[IMSG_MAX_PENDING_FDS + 1];
	size_t	i;
	ssize_t	n;

	TEST("too many descriptors in one read");
	socks(sv);
	set_nonblock(sv[1]);
	if (pipe(p) == -1)
		err(1, "pipe");
	imsgbuf_init(&rbuf, sv[1]);
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fds[i] = p[1];
	send_fds(sv[0], fds, sizeof(fds) / sizeof(fds[0]));
	close(p[1]);
	errno = 0;
	n = imsgbuf_read(&rbuf);
	CHECK(n == -1 && errno == EBADMSG, "got %zd errno %d", n, errno);
	CHECK(rbuf.nfds == 0, "nfds %zu", rbuf.nfds);
	CHECK(pipe_at_eof(p[0]), "truncated fds left open");
	imsgbuf_clear(&rbuf);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_overflow(void)
{
	int	sv[2], p[2], q[2], fds[IMSG_MAX_PENDING_FDS];
	size_t	i;
	ssize_t	n;

	TEST("pending descriptor overflow");
	socks(sv);
	set_nonblock(sv[1]);
	if (pipe(p) == -1 || pipe(q) == -1)
		err(1, "pipe");
	imsgbuf_init(&rbuf, sv[1]);

	for (i = 0; i < IMSG_MAX_PENDING_FDS; i++)
		fds[i] = p[1];
	send_fds(sv[0], fds, IMSG_MAX_PENDING_FDS);
	close(p[1]);
	CHECK(imsgbuf_read(&rbuf) == 1 &&
	    rbuf.nfds == IMSG_MAX_PENDING_FDS, "nfds %zu", rbuf.nfds);

	send_fds(sv[0], &q[1], 1);
	close(q[1]);
	errno = 0;
	n = imsgbuf_read(&rbuf);
	CHECK(n == -1 && errno == EBADMSG, "got %zd errno %d", n, errno);
	CHECK(rbuf.nfds == IMSG_MAX_PENDING_FDS, "nfds %zu", rbuf.nfds);
	CHECK(pipe_at_eof(q[0]), "overflowing fd left open");
	CHECK(!pipe_at_eof(p[0]), "pending fds closed early");
	imsgbuf_clear(&rbuf);
	CHECK(pipe_at_eof(p[0]), "pending fds left open");

	close(p[0]);
	close(q[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_rbuf_full(void)
{
	static unsigned char	 buf[MAX_PAYLOAD];
	struct imsg		 imsg;
	ssize_t			 n = 0;
	int			 sv[2], i, got;

	TEST("read buffer full");
	socks(sv);
	set_nonblock(sv[1]);
	imsgbuf_init(&wbuf, sv[0]);
	imsgbuf_init(&rbuf, sv[1]);
	for (i = 0; i < 4; i++) {
		fill(buf, sizeof(buf), i);
		if (imsg_compose(&wbuf, i, 0, 0, -1, buf, sizeof(buf)) == -1)
			err(1, "compose");
	}
	if (imsgbuf_flush(&wbuf) == -1)
		err(1, "flush");

	/* A reader that never calls imsg_get() fills up, and is told. */
	for (i = 0; i < READ_ROUNDS; i++)
		if ((n = imsgbuf_read(&rbuf)) <= 0)
			break;
	CHECK(n == -1 && errno == ENOBUFS, "got %zd: %s", n,
	    strerror(errno));
	CHECK(rbuf.rlen == sizeof(rbuf.rbuf), "rlen %zu", rbuf.rlen);

	got = 0;
	while ((n = next_imsg(&rbuf, &imsg)) > 0) {
		if (imsg.hdr.type == (uint32_t)got &&
		    pattern_ok(imsg.data, imsg.datalen, got))
			got++;
		imsg_free(&imsg);
	}
	CHECK(got == 4, "%d messages after the buffer filled", got);

	imsgbuf_clear(&wbuf);
	imsgbuf_clear(&rbuf);
	close(sv[0]);
	close(sv[1]);
}

/*
 * The write queue holds at most IMSG_WQ_MAX_BYTES of messages: the next
 * is refused (ENOBUFS) and nothing is queued, while one that fits still
 * goes in; what is written leaves the count, partly written included.
 */
static void
test_queue_cap(void)
{
	static unsigned char	 buf[MAX_PAYLOAD];
	size_t			 i, full = IMSG_WQ_MAX_BYTES / MAX_IMSGSIZE;
	size_t			 before, wrote;
	int			 sv[2], r;

	TEST("write queue cap");
	socks(sv);
	set_nonblock(sv[0]);
	imsgbuf_init(&wbuf, sv[0]);
	for (i = 0; i < full; i++)
		if (imsg_compose(&wbuf, 1, 0, 0, -1, buf, MAX_PAYLOAD) == -1)
			break;
	CHECK(i == full, "refused at %zu of %zu: %s", i, full,
	    strerror(errno));
	CHECK(wbuf.wqbytes == IMSG_WQ_MAX_BYTES, "wqbytes %zu",
	    wbuf.wqbytes);
	errno = 0;
	r = imsg_compose(&wbuf, 1, 0, 0, -1, NULL, 0);
	CHECK(r == -1 && errno == ENOBUFS, "a header past the cap: %d %s",
	    r, strerror(errno));
	CHECK(imsgbuf_queuelen(&wbuf) == full, "queuelen %zu",
	    imsgbuf_queuelen(&wbuf));
	/* some written (the socket takes what it can, maybe part of one) */
	before = wbuf.wqbytes;
	CHECK(imsgbuf_write(&wbuf) == 0, "write: %s", strerror(errno));
	wrote = before - wbuf.wqbytes;
	CHECK(wrote > 0, "nothing written");
	if (wrote >= MAX_IMSGSIZE)
		CHECK(imsg_compose(&wbuf, 1, 0, 0, -1, buf, MAX_PAYLOAD) ==
		    0, "room again, refused: %s", strerror(errno));
	imsgbuf_clear(&wbuf);
	CHECK(wbuf.wqbytes == 0, "wqbytes %zu after clear", wbuf.wqbytes);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A channel that carries no descriptors: one that arrives, with or
 * without a message that claims it, makes imsg_get() fail with EBADF,
 * and it is closed when the buffer is cleared.
 */
static void
test_refuse_fds(void)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 sv[2], p[2], flags;

	for (flags = 0; flags <= IMSGF_HASFD; flags += IMSGF_HASFD) {
		TEST(flags ? "refused descriptor, flagged" :
		    "refused descriptor, not flagged");
		socks(sv);
		set_nonblock(sv[1]);
		if (pipe(p) == -1)
			err(1, "pipe");
		imsgbuf_init(&rbuf, sv[1]);
		imsgbuf_refuse_fds(&rbuf);
		/* a header's first byte carries it, the rest follows */
		send_fds(sv[0], &p[1], 1);
		close(p[1]);
		{
			struct imsg_hdr	hdr;

			memset(&hdr, 0, sizeof(hdr));
			hdr.type = 0x100;	/* its first byte is 0 */
			hdr.len = IMSG_HEADER_SIZE;
			hdr.flags = flags;
			/* send_fds() sent that zero byte */
			send_all(sv[0], (unsigned char *)&hdr + 1,
			    sizeof(hdr) - 1);
		}
		errno = 0;
		n = next_imsg(&rbuf, &imsg);
		CHECK(n == -1 && errno == EBADF, "imsg_get: %zd %s", n,
		    strerror(errno));
		imsg_free(&imsg);
		imsgbuf_clear(&rbuf);
		CHECK(pipe_at_eof(p[0]), "the descriptor left open");
		close(p[0]);
		close(sv[0]);
		close(sv[1]);
	}
}

int
main(void)
{
	test_init();
	test_roundtrip();
	test_oversize();
	test_partial();
	test_bad_header();
	test_hasfd_without_fd();
	test_fd_pass();
	test_fd_sequence();
	test_fd_partial_write();
	test_big_queue();
	test_eof();
	test_epipe();
	test_get_data();
	test_free_twice();
	test_clear();
	test_ctrunc();
	test_fd_overflow();
	test_rbuf_full();
	test_queue_cap();
	test_refuse_fds();
	test_check();
	return (regress_end());
}

/* imsg_check() of a message of that type, size and descriptor (or -1). */
static const char *
check(uint32_t type, size_t len, int fd, unsigned int from)
{
	static unsigned char	 buf[MAX_IMSGSIZE];
	struct imsg		 imsg;

	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.hdr.len = IMSG_HEADER_SIZE + len;
	imsg.fd = fd;
	imsg.data = len > 0 ? buf : NULL;
	imsg.datalen = len;
	return (imsg_check(&imsg, from));
}

/*
 * The message table (proto.h) as imsg_check() applies it: each row's
 * size, list, senders and descriptor, read here from the rows
 * themselves; every number one row's; the control socket's numbers as
 * wgmeshctl of any version knows them.
 */
struct row {
	uint32_t	 type;
	const char	*name;
	size_t		 size, elem, max;
	unsigned int	 from;
	int		 fd;
};

#define NONE		0, 0, 0
#define EXACT(s)	sizeof(struct s), 0, 0
#define LIST(s, n)	0, sizeof(struct s), n
#define P		PROC_PARENT
#define E		PROC_ENGINE
#define S		PROC_STORAGE
#define C		PROC_CONTROL
#define R		PROC_RELAY
#define FD		1
#define ROW(type, number, payload, from, fd)	{ type, #type, payload, from, fd },
static const struct row rows[] = { IMSG_TYPES(ROW) };
#undef NONE
#undef EXACT
#undef LIST
#undef P
#undef E
#undef S
#undef C
#undef R
#undef FD
#undef ROW

static void
test_check(void)
{
	static const unsigned int procs[] = { PROC_PARENT, PROC_ENGINE,
					    PROC_STORAGE, PROC_CONTROL,
					    PROC_RELAY };
	const struct row	*r;
	const char		*why;
	size_t			 i, j, k, nrows = sizeof(rows) / sizeof(rows[0]);
	uint32_t		 t;
	int			 named;

	TEST("message table: the control socket's numbers are fixed");
	CHECK(IMSG_CTL_SHOW_PEERS == 1 && IMSG_CTL_SHOW_INTERFACES == 2 &&
	    IMSG_CTL_SHOW_SELF == 3 && IMSG_CTL_RELOAD == 4 &&
	    IMSG_CTL_LOG_VERBOSE == 5 && IMSG_CTL_RESULT == 6 &&
	    IMSG_CTL_PEER == 7 && IMSG_CTL_IFACE == 8 && IMSG_CTL_END == 9 &&
	    IMSG_CTL_SHOW_COUNTERS == 24 && IMSG_CTL_COUNTERS == 25,
	    "a control message renumbered");

	TEST("message table: one row per number, each named");
	for (t = 0, named = 0; t < IMSG_TYPE_MAX; t++)
		if (strncmp(imsg_type_name(t), "IMSG_UNKNOWN", 12) != 0)
			named++;
	CHECK((size_t)named == nrows, "%d types named, %zu rows", named,
	    nrows);
	for (i = 0; i < nrows; i++)
		CHECK(strcmp(imsg_type_name(rows[i].type), rows[i].name) == 0,
		    "%s named %s", rows[i].name, imsg_type_name(rows[i].type));
	CHECK(strcmp(imsg_type_name(9999), "IMSG_UNKNOWN(9999)") == 0,
	    "%s", imsg_type_name(9999));

	TEST("message table: unknown types refused from anyone");
	for (k = 0; k < 5; k++) {
		CHECK((why = check(IMSG_NONE, 0, -1, procs[k])) != NULL &&
		    strstr(why, "unexpected IMSG_UNKNOWN(0)") != NULL,
		    "%s", why != NULL ? why : "taken");
		CHECK(check(IMSG_TYPE_MAX, 0, -1, procs[k]) != NULL,
		    "IMSG_TYPE_MAX taken");
		CHECK(check(UINT32_MAX, 0, -1, procs[k]) != NULL,
		    "type 0xffffffff taken");
	}

	TEST("message table: size, sender and descriptor of every row");
	for (i = 0; i < nrows; i++) {
		r = &rows[i];
		for (k = 0; k < 5; k++) {
			why = check(r->type, r->size, r->fd ? 0 : -1, procs[k]);
			if ((r->from & procs[k]) == 0) {
				CHECK(why != NULL && strstr(why,
				    "unexpected") != NULL, "%s from %#x: %s",
				    r->name, procs[k], why ? why : "taken");
				continue;
			}
			CHECK(why == NULL, "%s: %s", r->name, why);
			/* each count of a list's elements, and no more */
			for (j = 1; j <= r->max; j++)
				CHECK(check(r->type, r->size + j * r->elem,
				    -1 + r->fd, procs[k]) == NULL,
				    "%s with %zu elements refused", r->name, j);
			CHECK(check(r->type, r->size + (r->max + 1) *
			    r->elem + 1, -1 + r->fd, procs[k]) != NULL,
			    "%s one byte too long taken", r->name);
			CHECK(r->elem == 0 || check(r->type, r->size +
			    r->elem + 1, -1 + r->fd, procs[k]) != NULL,
			    "%s with part of an element taken", r->name);
			CHECK(r->size == 0 || check(r->type, r->size - 1,
			    -1 + r->fd, procs[k]) != NULL,
			    "%s one byte short taken", r->name);
			why = check(r->type, r->size, r->fd ? -1 : 0,
			    procs[k]);
			CHECK(why != NULL && strstr(why, r->fd ? "without" :
			    "with a descriptor") != NULL, "%s: %s", r->name,
			    why ? why : "descriptor not checked");
		}
	}

	TEST("message table: the payloads declared");
	CHECK(check(IMSG_CTL_SHOW_PEERS, 0, -1, PROC_CONTROL) == NULL &&
	    check(IMSG_CTL_SHOW_PEERS, IMSG_NAME_MAX, -1, PROC_CONTROL) ==
	    NULL && check(IMSG_CTL_SHOW_PEERS, 2 * IMSG_NAME_MAX, -1,
	    PROC_CONTROL) != NULL, "IMSG_CTL_SHOW_PEERS: a name or none");
	CHECK(check(IMSG_RECONF_BEGIN, sizeof(uint32_t), -1, PROC_PARENT) ==
	    NULL, "IMSG_RECONF_BEGIN: a generation");
	CHECK(check(IMSG_CTL_LOG_VERBOSE, sizeof(int), -1, PROC_CONTROL) ==
	    NULL, "IMSG_CTL_LOG_VERBOSE: an int");
	why = check(IMSG_SET_ENDPOINT, 35, -1, PROC_ENGINE);
	CHECK(why != NULL && strcmp(why, "IMSG_SET_ENDPOINT from the engine: "
	    "35 bytes, not 36") == 0, "%s", why ? why : "taken");
}
