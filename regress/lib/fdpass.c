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
 * The tests' one way to send a message with descriptors (imsg, the
 * control socket, a hostile engine, the sandbox's filters all take them).
 * The daemon's own is common/imsg.c's; this one sends whatever a test
 * asks for, well formed or not.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>

#include "fdpass.h"

/*
 * Sends len bytes of buf on sock in one sendmsg(2), with nfds descriptors
 * from fds in one SCM_RIGHTS message when nfds is not 0.  No SIGPIPE: a
 * peer gone is -1 and EPIPE.  Returns what sendmsg(2) returned; -1 and
 * EINVAL for more than FDPASS_MAX descriptors.
 */
ssize_t
fdpass_send(int sock, const void *buf, size_t len, const int *fds,
    size_t nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
	}			 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;

	if (nfds > FDPASS_MAX) {
		errno = EINVAL;
		return (-1);
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	return (sendmsg(sock, &msg, MSG_NOSIGNAL));
}
