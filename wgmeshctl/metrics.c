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
 * show metrics: the engine's answer to IMSG_CTL_SHOW_METRICS (one moment:
 * its interfaces, peers and counters) in Prometheus' text exposition
 * format, for node_exporter's textfile collector (wgmeshd-metrics.service
 * writes it to a file).  Names follow Prometheus' conventions: the
 * wgmeshd_ prefix, counters end in _total, units in the name (_seconds,
 * _bytes), every metric's samples together after its HELP and TYPE
 * lines.  wgmeshctl(8) lists every metric and what it means.
 *
 * A peer is named by its interface and its name (unique on an interface);
 * its key and address are labels of wgmeshd_peer_info only, so that a
 * query joins them in when it needs them.  Label values come from the
 * daemon and are escaped here whatever it sent: printable ASCII stays,
 * but for the backslash and the double quote, which are escaped as the
 * format wants, and a newline (\n); any other byte becomes "\ooo", so
 * that the output is ASCII, and so valid UTF-8, always.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "wgmeshctl.h"

/* the longest label value: a name, every byte of it "\\ooo" */
#define LABEL_MAX	(IMSG_NAME_MAX * 5 + 1)

static void	 family(const char *, const char *, const char *);
static const char *label(const char *, size_t);
static const char *peer_labels(const struct ctl_peer *);
static void	 print_ifaces(const struct ctl_iface *, size_t,
		    const struct ctl_peer *, size_t);
static void	 print_peers(const struct ctl_peer *, size_t);
static void	 print_peer_states(const struct ctl_peer *, size_t);
static void	 print_counters(const struct ctl_counters *);

/* The states wgmeshd_peer_state has a sample for, each peer. */
static const uint8_t	peer_states[] = {
	PEER_STATE_NO_ENDPOINT,
	PEER_STATE_CONNECTING,
	PEER_STATE_UP,
	PEER_STATE_UNREACHABLE,
	PEER_STATE_MISMATCH,
};

/* A metric's HELP and TYPE lines; its samples follow. */
static void
family(const char *name, const char *type, const char *help)
{
	printf("# HELP wgmeshd_%s %s\n", name, help);
	printf("# TYPE wgmeshd_%s %s\n", name, type);
}

/*
 * A label value from the daemon, escaped (see the top comment); "len" is
 * the size of the field it came in, which need not hold a NUL.  A few
 * rotating buffers serve one printf().
 */
static const char *
label(const char *s, size_t len)
{
	static char	 bufs[4][LABEL_MAX];
	static int	 n;
	char		*buf = bufs[n], *b = buf, *e = buf + LABEL_MAX;
	unsigned char	 c;
	size_t		 i;

	n = (n + 1) % 4;
	if (len > IMSG_NAME_MAX)
		len = IMSG_NAME_MAX;
	for (i = 0; i < len && s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (c == '\\' || c == '"')
			b += snprintf(b, e - b, "\\%c", c);
		else if (c == '\n')
			b += snprintf(b, e - b, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			b += snprintf(b, e - b, "\\\\%03o", c);
		else
			*b++ = c;
	}
	*b = '\0';
	return (buf);
}

/* interface="...",peer="..." */
static const char *
peer_labels(const struct ctl_peer *cp)
{
	static char	 buf[2][32 + 2 * LABEL_MAX];
	static int	 n;

	n = (n + 1) % 2;
	snprintf(buf[n], sizeof(buf[n]), "interface=\"%s\",peer=\"%s\"",
	    label(cp->ifname, sizeof(cp->ifname)),
	    label(cp->name, sizeof(cp->name)));
	return (buf[n]);
}

/*
 * Per interface.  Its peers up are counted here, from the states of the
 * peers in the same answer, so that they agree with wgmeshd_peer_up.
 */
static void
print_ifaces(const struct ctl_iface *ci, size_t nci,
    const struct ctl_peer *cp, size_t ncp)
{
	char		 key[WG_KEY_B64_LEN], addr[INET6_ADDRSTRLEN];
	size_t		 i, j, up;

	family("interface_info", "gauge", "The interface's node name, "
	    "backend, public key and derived address; always 1.");
	for (i = 0; i < nci; i++) {
		key_to_base64(key, ci[i].public_key);
		inet_ntop(AF_INET6, ci[i].address, addr, sizeof(addr));
		printf("wgmeshd_interface_info{interface=\"%s\",name=\"%s\","
		    "backend=\"%s\",public_key=\"%s\",address=\"%s\"} 1\n",
		    label(ci[i].ifname, sizeof(ci[i].ifname)),
		    label(ci[i].node_name, sizeof(ci[i].node_name)),
		    label(ci[i].backend, sizeof(ci[i].backend)), key, addr);
	}
	family("interface_peers", "gauge",
	    "Peers configured on the interface.");
	for (i = 0; i < nci; i++)
		printf("wgmeshd_interface_peers{interface=\"%s\"} %u\n",
		    label(ci[i].ifname, sizeof(ci[i].ifname)), ci[i].npeers);
	family("interface_peers_up", "gauge",
	    "Peers of the interface whose state is up.");
	for (i = 0; i < nci; i++) {
		up = 0;
		for (j = 0; j < ncp; j++)
			if (cp[j].state == PEER_STATE_UP &&
			    strncmp(cp[j].ifname, ci[i].ifname,
			    sizeof(cp[j].ifname)) == 0)
				up++;
		printf("wgmeshd_interface_peers_up{interface=\"%s\"} %zu\n",
		    label(ci[i].ifname, sizeof(ci[i].ifname)), up);
	}
	family("upnp_enabled", "gauge", "1 if the interface has \"upnp "
	    "yes\": it asks the router for a UPnP port mapping.");
	for (i = 0; i < nci; i++)
		printf("wgmeshd_upnp_enabled{interface=\"%s\"} %d\n",
		    label(ci[i].ifname, sizeof(ci[i].ifname)),
		    ci[i].upnp_enabled ? 1 : 0);
	family("upnp_mapped", "gauge", "1 while the interface has a UPnP "
	    "port mapping on its router, 0 otherwise.");
	for (i = 0; i < nci; i++)
		printf("wgmeshd_upnp_mapped{interface=\"%s\"} %d\n",
		    label(ci[i].ifname, sizeof(ci[i].ifname)),
		    ci[i].upnp.af != 0 ? 1 : 0);
}

static void
print_peer_states(const struct ctl_peer *cp, size_t n)
{
	size_t	i, s;

	family("peer_up", "gauge", "1 if the peer is up (a recent "
	    "handshake and signs of life), 0 otherwise.");
	for (i = 0; i < n; i++)
		printf("wgmeshd_peer_up{%s} %d\n", peer_labels(&cp[i]),
		    cp[i].state == PEER_STATE_UP ? 1 : 0);
	family("peer_state", "gauge", "The peer's state: 1 for the one it "
	    "is in, 0 for the others (waiting, connecting, up, "
	    "unreachable, mismatch).");
	for (i = 0; i < n; i++)
		for (s = 0; s < sizeof(peer_states); s++)
			printf("wgmeshd_peer_state{%s,state=\"%s\"} %d\n",
			    peer_labels(&cp[i]),
			    peer_state_name(peer_states[s]),
			    cp[i].state == peer_states[s] ? 1 : 0);
	family("peer_path", "gauge", "The path to the peer, as the path "
	    "label says (direct, lan, relay via the node named by via, none "
	    "when not up or at a lost relay's port); always 1.");
	for (i = 0; i < n; i++) {
		if (cp[i].path == PATH_RELAY)
			printf("wgmeshd_peer_path{%s,path=\"relay\","
			    "via=\"%s\"} 1\n", peer_labels(&cp[i]),
			    label(cp[i].via, sizeof(cp[i].via)));
		else
			printf("wgmeshd_peer_path{%s,path=\"%s\"} 1\n",
			    peer_labels(&cp[i]), peer_path_name(cp[i].path));
	}
}

static void
print_peers(const struct ctl_peer *cp, size_t n)
{
	char	 key[WG_KEY_B64_LEN], addr[INET6_ADDRSTRLEN];
	size_t	 i;

	family("peer_info", "gauge", "The peer's public key and derived "
	    "address; always 1.");
	for (i = 0; i < n; i++) {
		key_to_base64(key, cp[i].public_key);
		inet_ntop(AF_INET6, cp[i].address, addr, sizeof(addr));
		printf("wgmeshd_peer_info{%s,public_key=\"%s\","
		    "address=\"%s\"} 1\n", peer_labels(&cp[i]), key, addr);
	}
	print_peer_states(cp, n);
	family("peer_last_handshake_timestamp_seconds", "gauge", "When the "
	    "latest handshake with the peer was, in seconds since the "
	    "epoch; 0: never.");
	for (i = 0; i < n; i++)
		printf("wgmeshd_peer_last_handshake_timestamp_seconds{%s} "
		    "%lld\n", peer_labels(&cp[i]),
		    (long long)cp[i].last_handshake);
	family("peer_handshake_age_seconds", "gauge", "Seconds since the "
	    "latest handshake with the peer; no sample if there was none.");
	for (i = 0; i < n; i++)
		if (cp[i].last_handshake != 0)
			printf("wgmeshd_peer_handshake_age_seconds{%s} %lld\n",
			    peer_labels(&cp[i]), cp[i].now >=
			    cp[i].last_handshake ? (long long)(cp[i].now -
			    cp[i].last_handshake) : 0LL);
	family("peer_receive_bytes_total", "counter", "Bytes received from "
	    "the peer; not reset when the daemon makes the peer anew.");
	for (i = 0; i < n; i++)
		printf("wgmeshd_peer_receive_bytes_total{%s} %llu\n",
		    peer_labels(&cp[i]), (unsigned long long)cp[i].rx_bytes);
	family("peer_transmit_bytes_total", "counter", "Bytes sent to the "
	    "peer; not reset when the daemon makes the peer anew.");
	for (i = 0; i < n; i++)
		printf("wgmeshd_peer_transmit_bytes_total{%s} %llu\n",
		    peer_labels(&cp[i]), (unsigned long long)cp[i].tx_bytes);
	family("peer_endpoint_changes_total", "counter", "Times the "
	    "device's endpoint for the peer changed.");
	for (i = 0; i < n; i++)
		printf("wgmeshd_peer_endpoint_changes_total{%s} %llu\n",
		    peer_labels(&cp[i]),
		    (unsigned long long)cp[i].endpoint_changes);
}

/* The engine's counters (counters[], wgmeshctl.c): engine-wide. */
static void
print_counters(const struct ctl_counters *cc)
{
	char		 name[64];
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < ncounters; i++) {
		snprintf(name, sizeof(name), "%s_total", counters[i].metric);
		if (i == 0 || strcmp(counters[i].metric,
		    counters[i - 1].metric) != 0)
			family(name, "counter", counters[i].help);
		memcpy(&v, (const uint8_t *)cc + counters[i].offset,
		    sizeof(v));
		if (counters[i].label != NULL)
			printf("wgmeshd_%s{%s=\"%s\"} %llu\n", name,
			    counters[i].label, counters[i].value,
			    (unsigned long long)v);
		else
			printf("wgmeshd_%s %llu\n", name,
			    (unsigned long long)v);
	}
}

/* Everything, on stdout: -1 if it could not all be written. */
int
metrics_print(const struct ctl_iface *ci, size_t nci,
    const struct ctl_peer *cp, size_t ncp, const struct ctl_counters *cc)
{
	print_ifaces(ci, nci, cp, ncp);
	print_peers(cp, ncp);
	print_counters(cc);
	if (fflush(stdout) == EOF || ferror(stdout))
		return (-1);
	return (0);
}
