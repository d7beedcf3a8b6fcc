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
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

/* Buffers gathered into one sendmsg(); far below IOV_MAX. */
#define IMSG_IOV_MAX		64
/* How long imsgbuf_flush() waits for the socket to drain, per wait. */
#define IMSG_FLUSH_TIMEOUT	(10 * 1000)

static void	ibuf_free(struct ibuf *);
static void	imsg_close_fds(int *, size_t);

void
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	ibuf->fd = fd;
	ibuf->pid = getpid();
	TAILQ_INIT(&ibuf->wq);
	ibuf->wqlen = 0;
	ibuf->wqbytes = 0;
	ibuf->rlen = 0;
	ibuf->nfds = 0;
	ibuf->nofds = 0;
}

/*
 * For a channel that never carries descriptors: one that arrives makes
 * imsg_get() fail (EBADF) rather than wait, unclaimed, in the FIFO.
 */
void
imsgbuf_refuse_fds(struct imsgbuf *ibuf)
{
	ibuf->nofds = 1;
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, buf, entry);
		ibuf_free(buf);
	}
	ibuf->wqlen = 0;
	ibuf->wqbytes = 0;
	imsg_close_fds(ibuf->fds, ibuf->nfds);
	ibuf->nfds = 0;
	ibuf->rlen = 0;
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t len)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*buf;

	/* Written this way round so that a huge len cannot wrap. */
	if (len > MAX_IMSGSIZE - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (-1);
	}
	if ((data == NULL && len != 0) || fd < -1) {
		errno = EINVAL;
		return (-1);
	}
	/* the reader is not keeping up: the writer must not grow */
	if (ibuf->wqbytes > IMSG_WQ_MAX_BYTES - IMSG_HEADER_SIZE - len) {
		errno = ENOBUFS;
		return (-1);
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = IMSG_HEADER_SIZE + len;
	hdr.flags = fd != -1 ? IMSGF_HASFD : 0;
	hdr.peerid = peerid;
	hdr.pid = pid != 0 ? pid : ibuf->pid;

	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (-1);
	if ((buf->buf = malloc(hdr.len)) == NULL) {
		free(buf);
		return (-1);
	}
	memcpy(buf->buf, &hdr, IMSG_HEADER_SIZE);
	if (len != 0)
		memcpy(buf->buf + IMSG_HEADER_SIZE, data, len);
	buf->size = hdr.len;
	buf->wpos = 0;
	/* Set only now: on failure above the caller still owns fd. */
	buf->fd = fd;

	TAILQ_INSERT_TAIL(&ibuf->wq, buf, entry);
	ibuf->wqlen++;
	ibuf->wqbytes += buf->size;
	return (0);
}

ssize_t
imsgbuf_read(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(IMSG_MAX_PENDING_FDS *
				    sizeof(int))];
	}			 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	int			 fds[IMSG_MAX_PENDING_FDS];
	size_t			 nfds = 0, i, n;
	ssize_t			 rlen;
	int			 fd, bad = 0;

	if (ibuf->rlen >= sizeof(ibuf->rbuf)) {
		errno = ENOBUFS;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = sizeof(ibuf->rbuf) - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if ((rlen = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC)) == -1)
		return (-1);

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		/*
		 * Only SCM_RIGHTS carries descriptors.  Anything else was
		 * not asked for (SO_PASSCRED and the like) and is skipped;
		 * reading its payload as descriptors would close strangers.
		 */
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			/*
			 * The control buffer holds no more than this, so
			 * the check only guards against a broken kernel.
			 */
			if (nfds < IMSG_MAX_PENDING_FDS)
				fds[nfds++] = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}

	/*
	 * A descriptor lost to truncation, or one the FIFO has no room for,
	 * would pair later messages with the wrong descriptors.  The stream
	 * can no longer be trusted; the caller drops the channel.
	 */
	if (bad || (msg.msg_flags & MSG_CTRUNC) ||
	    nfds > IMSG_MAX_PENDING_FDS - ibuf->nfds) {
		imsg_close_fds(fds, nfds);
		errno = EBADMSG;
		return (-1);
	}
	/* Descriptors need a byte to ride on; none came, so drop them. */
	if (rlen == 0) {
		imsg_close_fds(fds, nfds);
		return (0);
	}

	memcpy(ibuf->fds + ibuf->nfds, fds, nfds * sizeof(int));
	ibuf->nfds += nfds;
	ibuf->rlen += rlen;
	return (rlen);
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct iovec		 iov[IMSG_IOV_MAX];
	struct msghdr		 msg;
	struct cmsghdr		*cmsg;
	struct ibuf		*buf;
	size_t			 left, chunk;
	ssize_t			 n;
	int			 iovcnt = 0, fd = -1;

	TAILQ_FOREACH(buf, &ibuf->wq, entry) {
		if (iovcnt == IMSG_IOV_MAX)
			break;
		/*
		 * A descriptor travels with the first byte of its message,
		 * so a buffer carrying one starts a sendmsg() of its own.
		 */
		if (buf->fd != -1) {
			if (iovcnt != 0)
				break;
			fd = buf->fd;
		}
		iov[iovcnt].iov_base = buf->buf + buf->wpos;
		iov[iovcnt].iov_len = buf->size - buf->wpos;
		iovcnt++;
	}
	if (iovcnt == 0)
		return (0);

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = iovcnt;
	if (fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}

	if ((n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		return (-1);
	}

	/*
	 * Any progress means the descriptor went out; the receiver has its
	 * own reference now, and it must not be sent a second time.
	 */
	if (fd != -1 && n > 0) {
		buf = TAILQ_FIRST(&ibuf->wq);
		close(buf->fd);
		buf->fd = -1;
	}

	left = n;
	while (left > 0 && (buf = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		chunk = buf->size - buf->wpos;
		if (left < chunk) {
			buf->wpos += left;
			ibuf->wqbytes -= left;
			break;
		}
		left -= chunk;
		TAILQ_REMOVE(&ibuf->wq, buf, entry);
		ibuf->wqlen--;
		ibuf->wqbytes -= chunk;
		ibuf_free(buf);
	}
	return (0);
}

int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	struct pollfd	pfd;
	int		nready;

	for (;;) {
		if (imsgbuf_write(ibuf) == -1)
			return (-1);
		if (TAILQ_EMPTY(&ibuf->wq))
			return (0);

		pfd.fd = ibuf->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		nready = poll(&pfd, 1, IMSG_FLUSH_TIMEOUT);
		if (nready == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (nready == 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return (-1);
		}
		/* POLLERR and POLLHUP: the next write reports the error. */
	}
}

size_t
imsgbuf_queuelen(const struct imsgbuf *ibuf)
{
	return (ibuf->wqlen);
}

ssize_t
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	void		*data = NULL;
	size_t		 datalen;

	/* Whatever happens, imsg_free() on the result is harmless. */
	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;

	/*
	 * A descriptor on a channel that carries none: the other side is
	 * not the program we expect, whatever message it rides on.
	 */
	if (ibuf->nofds && ibuf->nfds > 0) {
		errno = EBADF;
		return (-1);
	}
	if (ibuf->rlen < IMSG_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ibuf->rbuf, sizeof(hdr));
	if (hdr.len < IMSG_HEADER_SIZE || hdr.len > MAX_IMSGSIZE ||
	    (hdr.flags & ~IMSGF_HASFD) != 0) {
		errno = EBADMSG;
		return (-1);
	}
	if (hdr.len > ibuf->rlen)
		return (0);
	if ((hdr.flags & IMSGF_HASFD) && ibuf->nfds == 0) {
		errno = EBADMSG;
		return (-1);
	}

	/* Allocate before taking the fd, so ENOMEM leaves all as it was. */
	datalen = hdr.len - IMSG_HEADER_SIZE;
	if (datalen != 0) {
		if ((data = malloc(datalen)) == NULL)
			return (-1);
		memcpy(data, ibuf->rbuf + IMSG_HEADER_SIZE, datalen);
	}

	imsg->hdr = hdr;
	imsg->data = data;
	imsg->datalen = datalen;
	if (hdr.flags & IMSGF_HASFD) {
		imsg->fd = ibuf->fds[0];
		ibuf->nfds--;
		memmove(ibuf->fds, ibuf->fds + 1, ibuf->nfds * sizeof(int));
	}

	ibuf->rlen -= hdr.len;
	memmove(ibuf->rbuf, ibuf->rbuf + hdr.len, ibuf->rlen);
	/* some messages carry key material: leave no copy behind */
	explicit_bzero(ibuf->rbuf + ibuf->rlen, hdr.len);
	return (hdr.len);
}

int
imsg_get_data(struct imsg *imsg, void *buf, size_t len)
{
	if (len != imsg->datalen) {
		errno = EBADMSG;
		return (-1);
	}
	if (len != 0)
		memcpy(buf, imsg->data, len);
	return (0);
}

size_t
imsg_get_len(const struct imsg *imsg)
{
	return (imsg->datalen);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	fd = imsg->fd;

	imsg->fd = -1;
	return (fd);
}

void
imsg_free(struct imsg *imsg)
{
	if (imsg->data != NULL)
		explicit_bzero(imsg->data, imsg->datalen);
	free(imsg->data);
	if (imsg->fd != -1)
		close(imsg->fd);
	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;
}

static void
ibuf_free(struct ibuf *buf)
{
	if (buf->fd != -1)
		close(buf->fd);
	if (buf->buf != NULL)
		explicit_bzero(buf->buf, buf->size);
	free(buf->buf);
	free(buf);
}

static void
imsg_close_fds(int *fds, size_t nfds)
{
	size_t	i;

	for (i = 0; i < nfds; i++)
		close(fds[i]);
}
