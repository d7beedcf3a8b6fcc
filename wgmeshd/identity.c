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
 * Who two nodes think they are.  A handshake proves only that both ends
 * hold the keys; each end routes the other's addresses by the names and
 * allowed-ips of its own file, and when the two files disagree (a node
 * renamed on one side, a prefix routed to another peer) WireGuard drops
 * every datagram from an address that is not the sender's allowed-ip,
 * while the handshakes go on.  So each node tells each peer, sealed, its
 * name, its key, its addresses, the name it knows the peer by and what
 * it routes to the peer (GOSSIP_MSG_IDENTITY), and each compares that
 * with its own file: a disagreement is a mismatch (PEER_STATE_MISMATCH),
 * not up.  It travels between control addresses (address_control()),
 * which derive from the keys alone, so it arrives when the names
 * disagree.  Encoding and comparison only; mesh.c sends and keeps it.
 *
 * The wire form, all lengths checked on receipt:
 *	flags (IDENTITY_WANT: send me yours)
 *	name length, name		(the sender's own, 1 to 63 bytes)
 *	name length, name		(the receiver's, as the sender knows it)
 *	public key			(the sender's, 32 bytes)
 *	count, prefixes			(the sender's addresses)
 *	count, prefixes			(what it routes to the receiver)
 *	zero bytes			(a request is padded to the largest
 *					 answer: IDENTITY_LEN_MAX)
 * A count is the number of prefixes (at most IMSG_PREFIXES_MAX) with
 * IDENTITY_MORE set when there were more than could be told; a prefix is
 * its family (4 or 6), its length, and 4 or 16 bytes of address.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <event.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "wire.h"
#include "engine.h"

#define IDENTITY_MORE		0x80	/* in a count */
#define IDENTITY_COUNT		0x7f

static ssize_t	 identity_put_name(uint8_t *, size_t, const char *);
static ssize_t	 identity_get_name(const uint8_t *, size_t, char *);
static ssize_t	 identity_put_prefixes(uint8_t *, size_t,
		    const struct imsg_prefix *, size_t, int);
static ssize_t	 identity_get_prefixes(const uint8_t *, size_t,
		    struct imsg_prefix *, uint8_t *, uint8_t *);
static int	 identity_covered(const struct imsg_prefix *,
		    const struct imsg_prefix *, size_t);
static const char *identity_host(const struct imsg_prefix *, char *,
		    size_t);

static ssize_t
identity_put_name(uint8_t *buf, size_t len, const char *name)
{
	size_t	n = strnlen(name, IMSG_NAME_MAX);

	if (n == 0 || n >= IMSG_NAME_MAX || len < 1 + n)
		return (-1);
	buf[0] = (uint8_t)n;
	memcpy(buf + 1, name, n);
	return ((ssize_t)(1 + n));
}

/* A name is printable ASCII without quotes or backslashes: it is logged. */
static ssize_t
identity_get_name(const uint8_t *buf, size_t len, char *name)
{
	size_t	n, i;

	if (len < 1)
		return (-1);
	n = buf[0];
	if (n == 0 || n >= IMSG_NAME_MAX || len < 1 + n)
		return (-1);
	for (i = 0; i < n; i++)
		if (buf[1 + i] <= ' ' || buf[1 + i] > '~' ||
		    buf[1 + i] == '"' || buf[1 + i] == '\\')
			return (-1);
	memcpy(name, buf + 1, n);
	name[n] = '\0';
	return ((ssize_t)(1 + n));
}

static ssize_t
identity_put_prefixes(uint8_t *buf, size_t len, const struct imsg_prefix *p,
    size_t n, int more)
{
	size_t	i, off = 1, alen;

	if (n > IMSG_PREFIXES_MAX || len < 1)
		return (-1);
	buf[0] = (uint8_t)n | (more ? IDENTITY_MORE : 0);
	for (i = 0; i < n; i++) {
		alen = p[i].af == AF_INET ? 4 : 16;
		if (len < off + 2 + alen)
			return (-1);
		buf[off] = p[i].af == AF_INET ? 4 : 6;
		buf[off + 1] = p[i].plen;
		memcpy(buf + off + 2, p[i].addr, alen);
		off += 2 + alen;
	}
	return ((ssize_t)off);
}

static ssize_t
identity_get_prefixes(const uint8_t *buf, size_t len, struct imsg_prefix *p,
    uint8_t *n, uint8_t *more)
{
	size_t	i, off = 1, alen, count;

	if (len < 1)
		return (-1);
	count = buf[0] & IDENTITY_COUNT;
	if (count > IMSG_PREFIXES_MAX)
		return (-1);
	for (i = 0; i < count; i++) {
		if (len < off + 2)
			return (-1);
		if (buf[off] != 4 && buf[off] != 6)
			return (-1);
		alen = buf[off] == 4 ? 4 : 16;
		if (buf[off + 1] > alen * 8 || len < off + 2 + alen)
			return (-1);
		memset(&p[i], 0, sizeof(p[i]));
		p[i].af = buf[off] == 4 ? AF_INET : AF_INET6;
		p[i].plen = buf[off + 1];
		memcpy(p[i].addr, buf + off + 2, alen);
		off += 2 + alen;
	}
	*n = (uint8_t)count;
	*more = (buf[0] & IDENTITY_MORE) != 0;
	return ((ssize_t)off);
}

/* A node's identity for a peer; a request (want) is IDENTITY_LEN_MAX. */
ssize_t
identity_encode(uint8_t *buf, size_t len, const struct identity *id, int want)
{
	size_t	off = 1;
	ssize_t	n;

	if (len < IDENTITY_LEN_MAX)
		return (-1);
	memset(buf, 0, IDENTITY_LEN_MAX);
	buf[0] = want ? IDENTITY_WANT : 0;
	if ((n = identity_put_name(buf + off, len - off, id->name)) == -1)
		return (-1);
	off += (size_t)n;
	if ((n = identity_put_name(buf + off, len - off, id->peer_name)) == -1)
		return (-1);
	off += (size_t)n;
	memcpy(buf + off, id->public_key, WG_KEY_LEN);
	off += WG_KEY_LEN;
	if ((n = identity_put_prefixes(buf + off, len - off, id->addresses,
	    id->naddresses, id->addresses_more)) == -1)
		return (-1);
	off += (size_t)n;
	if ((n = identity_put_prefixes(buf + off, len - off, id->routed,
	    id->nrouted, id->routed_more)) == -1)
		return (-1);
	off += (size_t)n;
	return ((ssize_t)(want ? IDENTITY_LEN_MAX : off));
}

/* -1: malformed (unknown flags, a bad name or prefix, bytes after). */
int
identity_decode(const uint8_t *buf, size_t len, struct identity *id,
    int *want)
{
	size_t	off = 1, i;
	ssize_t	n;

	if (len < 1 || len > IDENTITY_LEN_MAX ||
	    (buf[0] & ~IDENTITY_WANT) != 0)
		return (-1);
	memset(id, 0, sizeof(*id));
	*want = (buf[0] & IDENTITY_WANT) != 0;
	/* a request no smaller than any answer it may cause */
	if (*want && len != IDENTITY_LEN_MAX)
		return (-1);
	if ((n = identity_get_name(buf + off, len - off, id->name)) == -1)
		return (-1);
	off += (size_t)n;
	if ((n = identity_get_name(buf + off, len - off, id->peer_name)) == -1)
		return (-1);
	off += (size_t)n;
	if (len - off < WG_KEY_LEN)
		return (-1);
	memcpy(id->public_key, buf + off, WG_KEY_LEN);
	off += WG_KEY_LEN;
	if ((n = identity_get_prefixes(buf + off, len - off, id->addresses,
	    &id->naddresses, &id->addresses_more)) == -1)
		return (-1);
	off += (size_t)n;
	if ((n = identity_get_prefixes(buf + off, len - off, id->routed,
	    &id->nrouted, &id->routed_more)) == -1)
		return (-1);
	off += (size_t)n;
	/* a request's padding, and nothing else */
	for (i = off; i < len; i++)
		if (buf[i] != 0)
			return (-1);
	if (*want == 0 && off != len)
		return (-1);
	return (0);
}

/* Is a's address (its host part too) inside one of the n prefixes? */
static int
identity_covered(const struct imsg_prefix *a, const struct imsg_prefix *list,
    size_t n)
{
	struct prefix	host, net;
	size_t		i;

	prefix_from_imsg(&host, a);
	host.plen = host.af == AF_INET ? 32 : 128;
	for (i = 0; i < n; i++) {
		prefix_from_imsg(&net, &list[i]);
		if (prefix_overlap(&host, &net))
			return (1);
	}
	return (0);
}

static const char *
identity_host(const struct imsg_prefix *p, char *buf, size_t len)
{
	if (inet_ntop(p->af, p->addr, buf, len) == NULL)
		strlcpy(buf, "?", len);
	return (buf);
}

/*
 * Compares what a peer told (theirs) with what this node would tell it
 * (ours: this node's name and addresses, the peer's name here and what
 * is routed to it here).  Returns 0 when they agree; otherwise 1 with
 * the first disagreement, and how to mend it, in why.  A list cut short
 * (IDENTITY_MORE) proves nothing about what it left out.
 */
int
identity_check(const struct identity *theirs, const struct identity *ours,
    char *why, size_t len)
{
	char	a[INET6_ADDRSTRLEN];
	size_t	i;

	if (strcmp(theirs->name, ours->peer_name) != 0) {
		snprintf(why, len, "calls itself \"%s\", named \"%s\" here: "
		    "make the names agree", theirs->name, ours->peer_name);
		return (1);
	}
	if (strcmp(theirs->peer_name, ours->name) != 0) {
		snprintf(why, len, "knows this node as \"%s\", not \"%s\": "
		    "make the names agree", theirs->peer_name, ours->name);
		return (1);
	}
	for (i = 0; i < theirs->naddresses; i++)
		if (!ours->routed_more && !identity_covered(
		    &theirs->addresses[i], ours->routed, ours->nrouted)) {
			snprintf(why, len, "its address %s is not in its "
			    "allowed-ips here", identity_host(
			    &theirs->addresses[i], a, sizeof(a)));
			return (1);
		}
	for (i = 0; i < ours->naddresses; i++)
		if (!theirs->routed_more && !identity_covered(
		    &ours->addresses[i], theirs->routed, theirs->nrouted)) {
			snprintf(why, len, "our address %s is not in its "
			    "allowed-ips for us there", identity_host(
			    &ours->addresses[i], a, sizeof(a)));
			return (1);
		}
	return (0);
}
