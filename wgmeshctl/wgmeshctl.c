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
 * wgmeshctl: asks the engine over the control socket and prints the answer
 * as text or JSON.  Every answer is size-checked and every string bounded
 * before it is printed.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "imsg.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "wgmeshctl.h"

#define WGMESHD_SOCKET	"/run/wgmeshd.sock"
#define REPLY_TIMEOUT	(60 * 1000)	/* a reload of many peers */
#define PEERS_MAX	65536		/* kept to size the columns */
/* as many as the daemon may have: WG_PEERS_MAX, STORAGE_IFACES_MAX */
#define METRICS_PEERS_MAX	(65536 * 16)
#define METRICS_IFACES_MAX	4096

enum output { OUT_PEERS, OUT_IFACES, OUT_SELF, OUT_COUNTERS, OUT_METRICS,
    OUT_RESULT, OUT_EVENTS, OUT_PING };

/* The commands wgmeshctl knows; each word may be abbreviated. */
struct command {
	const char	*words[3];
	uint32_t	 type;
	enum output	 output;
	int		 takes_arg;	/* an optional trailing argument */
	int		 value;		/* log verbosity */
};

static const struct command commands[] = {
	{ { "show", "peers", NULL },	IMSG_CTL_SHOW_PEERS, OUT_PEERS, 1, 0 },
	{ { "show", "interfaces", NULL }, IMSG_CTL_SHOW_INTERFACES, OUT_IFACES,
	    0, 0 },
	{ { "show", "self", NULL },	IMSG_CTL_SHOW_SELF, OUT_SELF, 0, 0 },
	{ { "show", "counters", NULL }, IMSG_CTL_SHOW_COUNTERS, OUT_COUNTERS,
	    0, 0 },
	{ { "show", "metrics", NULL },	IMSG_CTL_SHOW_METRICS, OUT_METRICS, 0, 0 },
	{ { "reload", NULL, NULL },	IMSG_CTL_RELOAD, OUT_RESULT, 0, 0 },
	{ { "log", "verbose", NULL },	IMSG_CTL_LOG_VERBOSE, OUT_RESULT, 0, 1 },
	{ { "log", "brief", NULL },	IMSG_CTL_LOG_VERBOSE, OUT_RESULT, 0, 0 },
	{ { "monitor", NULL, NULL },	IMSG_CTL_MONITOR, OUT_EVENTS, 0, 0 },
	{ { "ping", NULL, NULL },	IMSG_CTL_PING, OUT_PING, 1, 0 },
};

/* wgmeshctl ping's round trips, for its summary */
struct ping_stats {
	uint32_t	 sent, answered;
	uint64_t	 sum_us;
	uint32_t	 min_us, max_us;
};

/* In struct ctl_counters' order; each group's counters together. */
#define COUNTER(g, n, metric, label, value, help)			\
	{ #g, #n, offsetof(struct ctl_counters, g.n), metric, label,	\
	    value, help }
#define DROP(g, n)							\
	COUNTER(g, drop_##n, #g "_dropped", "reason", #n, NULL)

const struct counter counters[] = {
	COUNTER(gossip, rx, "gossip_received", NULL, NULL,
	    "Gossip datagrams taken: sealed by a peer, fresh, well formed."),
	COUNTER(gossip, rx_bad, "gossip_received_invalid", NULL, NULL,
	    "Gossip datagrams sealed by a peer whose content was invalid."),
	COUNTER(gossip, rx_unknown, "gossip_unknown_entries", NULL, NULL,
	    "Gossiped entries that named no configured peer."),
	COUNTER(gossip, tx, "gossip_sent", NULL, NULL,
	    "Gossip datagrams sent."),
	COUNTER(gossip, tx_bytes, "gossip_sent_bytes", NULL, NULL,
	    "Payload bytes of the gossip datagrams sent."),
	COUNTER(gossip, punches, "gossip_punches_forwarded", NULL, NULL,
	    "PUNCH messages sent to a peer for another that asked."),
	COUNTER(gossip, alive_tx, "gossip_alives_sent", NULL, NULL,
	    "ALIVE messages sent, asking a peer for a sign of life."),
	COUNTER(gossip, rx_poke, "gossip_pokes_received", NULL, NULL,
	    "Empty datagrams from a peer's address: the poke that started "
	    "a handshake, delivered once it completed."),
	COUNTER(gossip, drop_nopeer, "gossip_dropped", "reason", "nopeer",
	    "Gossip datagrams dropped unanswered, by reason."),
	DROP(gossip, nokey),
	DROP(gossip, reconf),
	DROP(gossip, short),
	DROP(gossip, too_long),
	DROP(gossip, bad_version),
	DROP(gossip, bad_type),
	DROP(gossip, authentication_failed),
	DROP(gossip, replay),
	DROP(gossip, stale),
	DROP(gossip, no_space),
	COUNTER(lan, tx, "lan_sent", NULL, NULL,
	    "LAN discovery datagrams sent: beacons, challenges, answers."),
	COUNTER(lan, rx_beacon, "lan_received", "kind", "beacon",
	    "LAN discovery datagrams taken, by kind."),
	COUNTER(lan, rx_ping, "lan_received", "kind", "ping", NULL),
	COUNTER(lan, rx_pong, "lan_received", "kind", "pong", NULL),
	COUNTER(lan, rx_own, "lan_received", "kind", "own", NULL),
	COUNTER(lan, drop_bad, "lan_dropped", "reason", "bad",
	    "LAN discovery datagrams dropped unanswered, by reason."),
	DROP(lan, unicast),
	DROP(lan, nopeer),
	DROP(lan, nokey),
	DROP(lan, open),
	DROP(lan, nonce),
	DROP(lan, reconf),
	DROP(lan, hoplimit),
	DROP(lan, scope),
	DROP(lan, path),
	DROP(lan, offlink),
	COUNTER(relay, rx, "relay_received", NULL, NULL,
	    "Datagrams on this node's relay ports."),
	COUNTER(relay, forwarded, "relay_forwarded", NULL, NULL,
	    "Datagrams this node relayed between the ends of a pair."),
	COUNTER(relay, forwarded_bytes, "relay_forwarded_bytes", NULL, NULL,
	    "Bytes this node relayed between the ends of a pair."),
	COUNTER(relay, latched, "relay_latched", NULL, NULL,
	    "Legs of relayed pairs latched to an end, or moved."),
	COUNTER(relay, drop_junk, "relay_dropped", "reason", "junk",
	    "Datagrams on the relay ports dropped, by reason."),
	DROP(relay, wrong_peer),
	DROP(relay, unexpected),
	DROP(relay, replay),
	DROP(relay, unlatched),
	DROP(relay, paused),
	DROP(relay, rate),
	DROP(relay, full),
	DROP(relay, idle),
};
const size_t	ncounters = sizeof(counters) / sizeof(counters[0]);

_Static_assert(sizeof(counters) / sizeof(counters[0]) ==
    sizeof(struct ctl_counters) / sizeof(uint64_t),
    "a counter of struct ctl_counters not shown");

static __dead void	 usage(void);
static __dead void	 usage_why(const char *, int, char *[]);
static __dead void	 connect_failed(const char *);
static void		 peer_keep(const struct ctl_peer *);
static void		 peers_print(void);
static int		 width_of(int, const char *);
static const struct command *command_match(int, char *[]);
static int		 word_match(const char *, const char *);
static void		 json_string(const char *);
static const char	*shown(const char *);
static const char	*bounded(char *, size_t);
static const char	*origin_word(uint8_t);
static const char	*mapping_protocol(uint8_t);
static const char	*bytes(uint64_t, char *, size_t);
static const char	*age(int64_t, int64_t, char *, size_t);
static const char	*since(int64_t, int64_t, char *, size_t);
static void		 json_time(const char *, int64_t, int64_t);
static void		 print_peer(const struct ctl_peer *, int, int);
static void		 print_iface(const struct ctl_iface *, int, int);
static void		 print_self(const struct ctl_iface *, int, int);
static void		 print_counters(const struct ctl_counters *, int);
static void		 print_event(const struct ctl_event *, int);
static void		 print_pong(const struct ctl_pong *, int,
			    struct ping_stats *);
static void		 print_ping_summary(const char *,
			    const struct ping_stats *, int);
static uint32_t		 number(const char *, const char *, uint32_t,
			    uint32_t);
static int		 answer_expected(enum output, uint32_t);
static void		 output_open(const char *);
static void		 output_commit(void);
static void		 output_discard(void);
static void		*grow(void *, size_t *, size_t, size_t);

extern char	*__progname;

/* -o: the file show metrics replaces, and the one it writes first */
static const char	*out_path;
static char		 out_tmp[PATH_MAX];

static struct ctl_peer	*peers_kept;
static size_t		 npeers_kept;
static struct {
	int	 ifname, name, path, address, endpoint;
} peer_width;

static __dead void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: %s [-j] [-o file] [-s socket] command "
	    "[argument]\n", __progname);
	fprintf(stderr, "valid commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "\t%s%s%s%s\n", commands[i].words[0],
		    commands[i].words[1] != NULL ? " " : "",
		    commands[i].words[1] != NULL ? commands[i].words[1] : "",
		    commands[i].type == IMSG_CTL_PING ? " [-c count] "
		    "[-I interface] [-W seconds] name" :
		    commands[i].takes_arg ? " [name]" : "");
	exit(1);
}

/* What was typed, and why it is no command, then the list. */
static __dead void
usage_why(const char *why, int argc, char *argv[])
{
	char	 typed[128];
	size_t	 len = 0;
	int	 i, n;

	typed[0] = '\0';
	for (i = 0; i < argc && len < sizeof(typed); i++) {
		n = snprintf(typed + len, sizeof(typed) - len, "%s%s",
		    i > 0 ? " " : "", argv[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	warnx("%s: %s", why, shown(typed));
	usage();
}

/*
 * The daemon's socket cannot be reached: say what to do about it.  The
 * socket's group may use it (mode 0660), so a user not root may be let
 * in by that group.
 */
static __dead void
connect_failed(const char *path)
{
	struct stat	 st;
	struct group	*gr;
	char		 gid[16];
	int		 saved = errno;

	if (saved == EACCES || saved == EPERM) {
		if (stat(path, &st) == 0) {
			if ((gr = getgrgid(st.st_gid)) == NULL) {
				snprintf(gid, sizeof(gid), "%u",
				    (unsigned int)st.st_gid);
			} else
				strlcpy(gid, gr->gr_name, sizeof(gid));
			errx(1, "cannot connect to %s: %s; run wgmeshctl as "
			    "root, or as a member of group %s, which the "
			    "socket (mode %04o) lets in", path,
			    strerror(saved), gid,
			    (unsigned int)(st.st_mode & 07777));
		}
		errx(1, "cannot connect to %s: %s; run wgmeshctl as root",
		    path, strerror(saved));
	}
	if (saved == ENOENT || saved == ECONNREFUSED)
		errx(1, "cannot connect to %s: %s; wgmeshd is not running "
		    "(start it, e.g. systemctl start wgmeshd), or -s names "
		    "another socket", path, strerror(saved));
	errx(1, "cannot connect to %s: %s", path, strerror(saved));
}

static int
word_match(const char *typed, const char *word)
{
	size_t	len = strlen(typed);

	return (len > 0 && strncmp(typed, word, len) == 0);
}

/* Prefix matching, as in OpenBSD's control tools; ambiguity is an error. */
static const struct command *
command_match(int argc, char *argv[])
{
	const struct command	*match = NULL;
	size_t			 i;
	int			 w, nmatch = 0, nwords;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		for (nwords = 0; nwords < 3 &&
		    commands[i].words[nwords] != NULL; nwords++)
			;
		if (argc < nwords ||
		    argc > nwords + (commands[i].takes_arg ? 1 : 0))
			continue;
		for (w = 0; w < nwords; w++)
			if (!word_match(argv[w], commands[i].words[w]))
				break;
		if (w == nwords) {
			match = &commands[i];
			nmatch++;
		}
	}
	if (nmatch > 1)
		usage_why("ambiguous command", argc, argv);
	return (match);
}

/* A string from the daemon ends within its field, whatever it sent. */
static const char *
bounded(char *s, size_t len)
{
	s[len - 1] = '\0';
	return (s);
}

/*
 * A JSON string.  Names are ASCII, so a byte beyond it is taken as the
 * code point of the same value: the output is valid JSON (and UTF-8)
 * whatever the daemon sent, and the bytes can be recovered.
 */
static void
json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/*
 * A string from the daemon as a terminal may be shown it (str_vis()):
 * no escape sequence in a peer's name or a reason reaches the terminal.
 * A few rotating buffers serve one printf().
 */
static const char *
shown(const char *s)
{
	static char	 bufs[4][STR_VIS_MAX(IMSG_TEXT_MAX)];
	static int	 n;
	char		*buf = bufs[n];

	n = (n + 1) % 4;
	str_vis(buf, sizeof(bufs[0]), s);
	return (buf);
}

/* Whether an answer of this type belongs to a command's output. */
static int
answer_expected(enum output out, uint32_t type)
{
	switch (type) {
	case IMSG_CTL_END:
		return (1);
	case IMSG_CTL_RESULT:
		return (out == OUT_RESULT);
	case IMSG_CTL_PEER:
		return (out == OUT_PEERS || out == OUT_METRICS);
	case IMSG_CTL_IFACE:
		return (out == OUT_IFACES || out == OUT_SELF ||
		    out == OUT_METRICS);
	case IMSG_CTL_COUNTERS:
		return (out == OUT_COUNTERS || out == OUT_METRICS);
	case IMSG_CTL_EVENT:
		return (out == OUT_EVENTS);
	case IMSG_CTL_PONG:
		return (out == OUT_PING);
	}
	return (0);
}

/*
 * Room for one more element of "size" in an array of *n: show metrics
 * keeps the answers until all are in, up to "max" of them (as many as
 * the daemon can have: a daemon that sends more is not believed).  The
 * room doubles from 16 elements: it grows when *n is 16 times a power
 * of two.
 */
static void *
grow(void *a, size_t *n, size_t size, size_t max)
{
	size_t	room;

	if (*n >= max)
		errx(1, "more than %zu answers of one kind from wgmeshd", max);
	if (*n == 0)
		room = 16;
	else if (*n % 16 == 0 && ((*n / 16) & (*n / 16 - 1)) == 0)
		room = *n * 2;
	else
		return (a);
	if ((a = reallocarray(a, room, size)) == NULL)
		err(1, NULL);
	return (a);
}

/*
 * -o FILE: stdout becomes a new file beside FILE, which replaces FILE
 * once everything is written (output_commit()), so that a reader (node_
 * exporter's textfile collector) sees the old file or the new one, never
 * a part.  Its name does not end in ".prom": the collector skips it.
 * Made only once the daemon's whole answer is in; removed if wgmeshctl
 * fails before the rename.
 */
static void
output_open(const char *path)
{
	int	fd;

	if ((size_t)snprintf(out_tmp, sizeof(out_tmp), "%s.XXXXXX", path) >=
	    sizeof(out_tmp))
		errx(1, "path too long: %s", path);
	if ((fd = mkstemp(out_tmp)) == -1)
		err(1, "%s", out_tmp);
	if (atexit(output_discard) != 0)
		errx(1, "atexit");
	/* for the collector, which need not run as root */
	if (fchmod(fd, 0644) == -1)
		err(1, "%s", out_tmp);
	if (fflush(stdout) == EOF || dup2(fd, STDOUT_FILENO) == -1)
		err(1, "%s", out_tmp);
	close(fd);
}

static void
output_commit(void)
{
	if (fflush(stdout) == EOF || fsync(STDOUT_FILENO) == -1)
		err(1, "%s", out_tmp);
	if (rename(out_tmp, out_path) == -1)
		err(1, "rename %s to %s", out_tmp, out_path);
	out_tmp[0] = '\0';
}

/* at exit: a temporary file that was not renamed goes */
static void
output_discard(void)
{
	if (out_tmp[0] != '\0')
		unlink(out_tmp);
}

static const char *
origin_word(uint8_t s)
{
	switch (s) {
	case ORIGIN_CONFIGURED:
		return ("config");
	case ORIGIN_DNS:
		return ("dns");
	case ORIGIN_DEVICE:
		return ("device");
	case ORIGIN_GOSSIP:
		return ("gossip");
	case ORIGIN_PUNCH:
		return ("punch");
	case ORIGIN_PERSISTED:
		return ("state");
	case ORIGIN_LAN:
		return ("lan");
	case ORIGIN_UPNP:
		return ("upnp");
	case ORIGIN_RELAY:
		return ("relay");
	}
	return ("none");
}

static const char *
bytes(uint64_t n, char *buf, size_t len)
{
	if (n < 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", n / 1024.0);
	else if (n < 1024ULL * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1f GiB", n / (1024.0 * 1024 * 1024));
	return (buf);
}

static const char *
age(int64_t then, int64_t now, char *buf, size_t len)
{
	int64_t	d = now - then;

	if (then == 0)
		snprintf(buf, len, "never");
	else if (d < 0)
		snprintf(buf, len, "now");
	else if (d < 120)
		snprintf(buf, len, "%llds ago", (long long)d);
	else if (d < 7200)
		snprintf(buf, len, "%lldm ago", (long long)d / 60);
	else
		snprintf(buf, len, "%lldh ago", (long long)d / 3600);
	return (buf);
}

/* How long a state has lasted: "5s", "3m", "2h", "4d"; "-" if unknown. */
static const char *
since(int64_t then, int64_t now, char *buf, size_t len)
{
	int64_t	d = now - then;

	if (then == 0 || d < 0)
		snprintf(buf, len, "-");
	else if (d < 120)
		snprintf(buf, len, "%llds", (long long)d);
	else if (d < 7200)
		snprintf(buf, len, "%lldm", (long long)d / 60);
	else if (d < 2 * 86400)
		snprintf(buf, len, "%lldh", (long long)d / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)d / 86400);
	return (buf);
}

/* ", KEY: seconds since the epoch" and its age, or null for never. */
static void
json_time(const char *key, int64_t then, int64_t now)
{
	if (then == 0)
		printf(", \"%s\": null, \"%s_age\": null", key, key);
	else
		printf(", \"%s\": %lld, \"%s_age\": %lld", key,
		    (long long)then, key, (long long)(now - then));
}

static void
print_peer(const struct ctl_peer *cp0, int json, int first)
{
	struct ctl_peer	 cp = *cp0;
	char		 key[WG_KEY_B64_LEN], ep[ENDPOINT_STR_MAX];
	char		 addr[INET6_ADDRSTRLEN], h[32], rx[32], tx[32];
	char		 path[16 + IMSG_NAME_MAX];
	char		 lr[32], st[32];

	key_to_base64(key, cp.public_key);
	if (cp.path == PATH_RELAY)
		snprintf(path, sizeof(path), "relay via %s",
		    shown(bounded(cp.via, sizeof(cp.via))));
	else
		strlcpy(path, cp.path == PATH_NONE ? "-" :
		    peer_path_name(cp.path), sizeof(path));
	inet_ntop(AF_INET6, cp.address, addr, sizeof(addr));
	imsg_addr_ntop_ifname(&cp.endpoint, ep, sizeof(ep));
	if (json) {
		printf("%s\n    {\"interface\": ", first ? "" : ",");
		json_string(bounded(cp.ifname, sizeof(cp.ifname)));
		printf(", \"name\": ");
		json_string(bounded(cp.name, sizeof(cp.name)));
		printf(", \"public_key\": \"%s\", \"address\": \"%s\"", key,
		    addr);
		printf(", \"endpoint\": ");
		if (cp.endpoint.af != 0)
			json_string(ep);
		else
			printf("null");
		printf(", \"endpoint_source\": \"%s\"",
		    origin_word(cp.origin));
		if (cp.last_handshake != 0)
			printf(", \"latest_handshake\": %lld, "
			    "\"handshake_age\": %lld",
			    (long long)cp.last_handshake,
			    (long long)(cp.now - cp.last_handshake));
		else
			printf(", \"latest_handshake\": null, "
			    "\"handshake_age\": null");
		printf(", \"rx_bytes\": %llu, \"tx_bytes\": %llu",
		    (unsigned long long)cp.rx_bytes,
		    (unsigned long long)cp.tx_bytes);
		json_time("last_rx", cp.last_rx, cp.now);
		json_time("up_since", cp.up_since, cp.now);
		json_time("state_since", cp.state_since, cp.now);
		printf(", \"flaps\": %u", cp.flaps);
		printf(", \"persistent_keepalive\": %u", cp.keepalive);
		printf(", \"state\": \"%s\", \"reason\": ",
		    peer_state_name(cp.state));
		json_string(bounded(cp.reason, sizeof(cp.reason)));
		if (cp.path == PATH_NONE)
			printf(", \"path\": null");
		else
			printf(", \"path\": \"%s\"", peer_path_name(cp.path));
		if (cp.path == PATH_RELAY) {
			printf(", \"relay\": ");
			json_string(bounded(cp.via, sizeof(cp.via)));
			printf(", \"path_reason\": ");
			json_string(bounded(cp.path_why, sizeof(cp.path_why)));
		}
		printf("}");
		return;
	}
	/* the columns as wide as their widest value: see peers_print() */
	printf("%-*s %-*s %-11s %-9s %-*s %-*s %-*s %-7s %-10s %-10s %-10s "
	    "%-10s %-5u %s\n",
	    peer_width.ifname, shown(bounded(cp.ifname, sizeof(cp.ifname))),
	    peer_width.name, shown(bounded(cp.name, sizeof(cp.name))),
	    peer_state_name(cp.state), since(cp.state_since, cp.now, st,
	    sizeof(st)), peer_width.path, path, peer_width.address, addr,
	    peer_width.endpoint, cp.endpoint.af != 0 ? shown(ep) : "-",
	    origin_word(cp.origin), age(cp.last_handshake, cp.now,
	    h, sizeof(h)), age(cp.last_rx, cp.now, lr, sizeof(lr)),
	    bytes(cp.rx_bytes, rx, sizeof(rx)),
	    bytes(cp.tx_bytes, tx, sizeof(tx)), cp.flaps,
	    cp.path == PATH_RELAY ?
	    shown(bounded(cp.path_why, sizeof(cp.path_why))) :
	    cp.state == PEER_STATE_UP ? "" :
	    shown(bounded(cp.reason, sizeof(cp.reason))));
}

/* show peers' text: kept until all are here, to size the columns */
static void
peer_keep(const struct ctl_peer *cp)
{
	struct ctl_peer	*p;

	if (npeers_kept >= PEERS_MAX)
		errx(1, "more than %d peers from wgmeshd", PEERS_MAX);
	if ((p = reallocarray(peers_kept, npeers_kept + 1,
	    sizeof(*p))) == NULL)
		err(1, NULL);
	peers_kept = p;
	peers_kept[npeers_kept++] = *cp;
}

static int
width_of(int w, const char *s)
{
	int	len = (int)strlen(s);

	return (len > w ? len : w);
}

static void
peers_print(void)
{
	struct ctl_peer	 cp;
	char		 ep[ENDPOINT_STR_MAX], addr[INET6_ADDRSTRLEN];
	char		 path[16 + IMSG_NAME_MAX];
	size_t		 i;

	peer_width.ifname = 5;
	peer_width.name = 4;
	peer_width.address = 7;
	peer_width.endpoint = 8;
	peer_width.path = 4;
	for (i = 0; i < npeers_kept; i++) {
		cp = peers_kept[i];
		if (cp.path == PATH_RELAY) {
			snprintf(path, sizeof(path), "relay via %s",
			    shown(bounded(cp.via, sizeof(cp.via))));
			peer_width.path = width_of(peer_width.path, path);
		} else
			peer_width.path = width_of(peer_width.path,
			    peer_path_name(cp.path));
		inet_ntop(AF_INET6, cp.address, addr, sizeof(addr));
		imsg_addr_ntop_ifname(&cp.endpoint, ep, sizeof(ep));
		peer_width.ifname = width_of(peer_width.ifname,
		    shown(bounded(cp.ifname, sizeof(cp.ifname))));
		peer_width.name = width_of(peer_width.name,
		    shown(bounded(cp.name, sizeof(cp.name))));
		peer_width.address = width_of(peer_width.address, addr);
		if (cp.endpoint.af != 0)
			peer_width.endpoint = width_of(peer_width.endpoint,
			    shown(ep));
	}
	if (npeers_kept > 0)
		printf("%-*s %-*s %-11s %-9s %-*s %-*s %-*s %-7s %-10s %-10s "
		    "%-10s %-10s %-5s %s\n", peer_width.ifname, "IFACE",
		    peer_width.name, "PEER", "STATE", "SINCE", peer_width.path,
		    "PATH", peer_width.address, "ADDRESS", peer_width.endpoint,
		    "ENDPOINT", "SOURCE", "HANDSHAKE", "LAST RX", "RX", "TX",
		    "FLAPS", "NOTE");
	for (i = 0; i < npeers_kept; i++)
		print_peer(&peers_kept[i], 0, i == 0);
	free(peers_kept);
	peers_kept = NULL;
	npeers_kept = 0;
}

/* The name of the protocol that made a mapping, as wgmeshctl shows it. */
static const char *
mapping_protocol(uint8_t proto)
{
	switch (proto) {
	case PORTMAP_UPNP:
		return ("upnp");
	case PORTMAP_NATPMP:
		return ("nat-pmp");
	case PORTMAP_PCP:
		return ("pcp");
	}
	return (NULL);
}

static void
print_iface(const struct ctl_iface *ci0, int json, int first)
{
	struct ctl_iface	ci = *ci0;
	char			key[WG_KEY_B64_LEN], addr[INET6_ADDRSTRLEN];
	char			upnp[ENDPOINT_STR_MAX], mapping[ENDPOINT_STR_MAX + 12];
	const char		*proto;

	key_to_base64(key, ci.public_key);
	inet_ntop(AF_INET6, ci.address, addr, sizeof(addr));
	/* only what the engine may gossip is shown as a mapping */
	if (imsg_addr_is_endpoint(&ci.upnp))
		imsg_addr_ntop(&ci.upnp, upnp, sizeof(upnp));
	else
		upnp[0] = '\0';
	proto = mapping_protocol(ci.mapping_protocol);
	if (upnp[0] == '\0')
		snprintf(mapping, sizeof(mapping), "-");
	else
		snprintf(mapping, sizeof(mapping), "%s (%s)", upnp,
		    proto != NULL ? proto : "?");
	if (json) {
		printf("%s\n    {\"interface\": ", first ? "" : ",");
		json_string(bounded(ci.ifname, sizeof(ci.ifname)));
		printf(", \"name\": ");
		json_string(bounded(ci.node_name, sizeof(ci.node_name)));
		printf(", \"backend\": ");
		json_string(bounded(ci.backend, sizeof(ci.backend)));
		printf(", \"public_key\": \"%s\", \"address\": \"%s/64\", "
		    "\"listen_port\": %u, \"persistent_keepalive\": %u, "
		    "\"peers\": %u, \"peers_up\": %u, \"mapping\": ", key, addr,
		    ci.listen_port, ci.keepalive, ci.npeers, ci.npeers_up);
		if (upnp[0] != '\0')
			json_string(upnp);
		else
			printf("null");
		printf(", \"mapping_protocol\": ");
		if (upnp[0] != '\0' && proto != NULL)
			json_string(proto);
		else
			printf("null");
		/* the mapping's older name, whichever protocol made it */
		printf(", \"upnp\": ");
		if (upnp[0] != '\0')
			json_string(upnp);
		else
			printf("null");
		printf(", \"relay_pairs\": %u}", ci.relay_pairs);
		return;
	}
	if (first)
		printf("%-8s %-16s %-9s %-6s %-28s %-7s %-31s %-7s %s\n",
		    "IFACE", "NAME", "BACKEND", "PORT", "ADDRESS", "UP/ALL",
		    "MAPPING", "RELAYS", "PUBLIC KEY");
	printf("%-8s %-16s %-9s %-6u %-28s %3u/%-3u %-31s %-7u %s\n",
	    shown(bounded(ci.ifname, sizeof(ci.ifname))),
	    shown(bounded(ci.node_name, sizeof(ci.node_name))),
	    shown(bounded(ci.backend, sizeof(ci.backend))), ci.listen_port,
	    addr, ci.npeers_up, ci.npeers, mapping, ci.relay_pairs, key);
}

/*
 * This node as a peer block for the other nodes' configurations, with
 * the endpoint of its own entry when its file has one (literal IPv6
 * addresses in brackets, as the grammar wants them).
 */
static void
print_self(const struct ctl_iface *ci0, int json, int first)
{
	struct ctl_iface	ci = *ci0;
	char			key[WG_KEY_B64_LEN];
	char			ep[IMSG_HOST_MAX + 16];
	const char		*host;

	key_to_base64(key, ci.public_key);
	bounded(ci.ifname, sizeof(ci.ifname));
	bounded(ci.node_name, sizeof(ci.node_name));
	host = bounded(ci.self_endpoint_host, sizeof(ci.self_endpoint_host));
	ep[0] = '\0';
	if (host[0] != '\0')
		snprintf(ep, sizeof(ep), strchr(host, ':') != NULL ?
		    "[%s]:%u" : "%s:%u", host, ci.self_endpoint_port);
	if (json) {
		printf("%s\n    {\"interface\": ", first ? "" : ",");
		json_string(ci.ifname);
		printf(", \"name\": ");
		json_string(ci.node_name);
		printf(", \"public_key\": \"%s\", \"listen_port\": %u, "
		    "\"endpoint\": ", key, ci.listen_port);
		if (ep[0] != '\0')
			json_string(ep);
		else
			printf("null");
		printf("}");
		return;
	}
	printf("%s# for the other nodes' wgmeshd.conf, inside "
	    "\"interface %s { ... }\"\n", first ? "" : "\n",
	    shown(ci.ifname));
	printf("peer \"%s\" {\n", shown(ci.node_name));
	printf("\tpublic-key \"%s\"\n", key);
	if (ep[0] != '\0')
		printf("\tendpoint \"%s\"\t# this node's own entry's\n",
		    shown(ep));
	else
		printf("\t# endpoint \"HOST:%u\"\t# if this node has a "
		    "public address\n", ci.listen_port);
	printf("}\n");
}

/*
 * wgmeshctl monitor: one line per change of a peer's state, as it comes
 * (a JSON object per line with -j), for scripts that follow the mesh.
 */
static void
print_event(const struct ctl_event *ev0, int json)
{
	struct ctl_event	 ev = *ev0;
	struct tm		 tm;
	time_t			 t = (time_t)ev.at;
	char			 when[32], ep[ENDPOINT_STR_MAX];

	bounded(ev.ifname, sizeof(ev.ifname));
	bounded(ev.name, sizeof(ev.name));
	bounded(ev.reason, sizeof(ev.reason));
	imsg_addr_ntop_ifname(&ev.endpoint, ep, sizeof(ep));
	if (json) {
		printf("{\"time\": %lld, \"interface\": ", (long long)ev.at);
		json_string(ev.ifname);
		printf(", \"peer\": ");
		json_string(ev.name);
		printf(", \"state\": \"%s\", \"previous\": \"%s\", "
		    "\"endpoint\": ", peer_state_name(ev.state),
		    peer_state_name(ev.previous));
		if (ev.endpoint.af != 0)
			json_string(ep);
		else
			printf("null");
		printf(", \"reason\": ");
		json_string(ev.reason);
		printf("}\n");
	} else {
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		    &tm) == 0)
			snprintf(when, sizeof(when), "%lld",
			    (long long)ev.at);
		printf("%s %s %s %s", when, shown(ev.ifname), shown(ev.name),
		    peer_state_name(ev.state));
		if (ev.state == PEER_STATE_UP)
			printf(" at %s\n", ev.endpoint.af != 0 ? shown(ep) :
			    "-");
		else
			printf(" (was %s): %s\n", peer_state_name(ev.previous),
			    shown(ev.reason));
	}
	fflush(stdout);
}

/*
 * wgmeshctl ping: a line per probe, its round trip and the path the
 * peer's traffic took (a JSON object per line with -j).
 */
static void
print_pong(const struct ctl_pong *pg0, int json, struct ping_stats *st)
{
	struct ctl_pong	 pg = *pg0;
	char		 ep[ENDPOINT_STR_MAX], path[32 + IMSG_NAME_MAX];

	bounded(pg.ifname, sizeof(pg.ifname));
	bounded(pg.name, sizeof(pg.name));
	bounded(pg.via, sizeof(pg.via));
	imsg_addr_ntop_ifname(&pg.endpoint, ep, sizeof(ep));
	st->sent++;
	if (pg.answered) {
		if (st->answered++ == 0 || pg.rtt_us < st->min_us)
			st->min_us = pg.rtt_us;
		if (pg.rtt_us > st->max_us)
			st->max_us = pg.rtt_us;
		st->sum_us += pg.rtt_us;
	}
	if (json) {
		printf("{\"interface\": ");
		json_string(pg.ifname);
		printf(", \"peer\": ");
		json_string(pg.name);
		printf(", \"seq\": %u, \"answered\": %s, \"rtt_ms\": ", pg.seq,
		    pg.answered ? "true" : "false");
		if (pg.answered)
			printf("%.3f", pg.rtt_us / 1000.0);
		else
			printf("null");
		if (pg.path == PATH_NONE)
			printf(", \"path\": null");
		else
			printf(", \"path\": \"%s\"", peer_path_name(pg.path));
		printf(", \"endpoint\": ");
		if (pg.endpoint.af != 0)
			json_string(ep);
		else
			printf("null");
		if (pg.path == PATH_RELAY) {
			printf(", \"relay\": ");
			json_string(pg.via);
		}
		printf("}\n");
		fflush(stdout);
		return;
	}
	if (pg.path == PATH_RELAY)
		snprintf(path, sizeof(path), "relay via %s", shown(pg.via));
	else
		strlcpy(path, pg.path == PATH_NONE ? "none" :
		    peer_path_name(pg.path), sizeof(path));
	if (pg.answered)
		printf("reply from %s on %s: seq=%u time=%.3f ms path %s %s\n",
		    shown(pg.name), shown(pg.ifname), pg.seq,
		    pg.rtt_us / 1000.0, path,
		    pg.endpoint.af != 0 ? shown(ep) : "-");
	else
		printf("no reply from %s on %s: seq=%u path %s %s\n",
		    shown(pg.name), shown(pg.ifname), pg.seq, path,
		    pg.endpoint.af != 0 ? shown(ep) : "-");
	fflush(stdout);
}

/* After the probes, as ping(8) says it. */
static void
print_ping_summary(const char *name, const struct ping_stats *st, int json)
{
	unsigned int	lost = st->sent == 0 ? 0 :
			    100 * (st->sent - st->answered) / st->sent;

	if (json) {
		printf("{\"peer\": ");
		json_string(name);
		printf(", \"sent\": %u, \"answered\": %u", st->sent,
		    st->answered);
		if (st->answered > 0)
			printf(", \"rtt_min_ms\": %.3f, \"rtt_avg_ms\": %.3f, "
			    "\"rtt_max_ms\": %.3f}\n", st->min_us / 1000.0,
			    st->sum_us / 1000.0 / st->answered,
			    st->max_us / 1000.0);
		else
			printf("}\n");
		return;
	}
	printf("--- %s ping statistics ---\n", shown(name));
	printf("%u probes sent, %u answered, %u%% lost", st->sent,
	    st->answered, lost);
	if (st->answered > 0)
		printf("; rtt min/avg/max = %.3f/%.3f/%.3f ms",
		    st->min_us / 1000.0, st->sum_us / 1000.0 / st->answered,
		    st->max_us / 1000.0);
	printf("\n");
}

/* An option's number, in [min, max], or why not. */
static uint32_t
number(const char *what, const char *s, uint32_t min, uint32_t max)
{
	char		*end;
	unsigned long	 n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    n < min || n > max)
		errx(1, "%s %s: not a number from %u to %u", what, s, min,
		    max);
	return ((uint32_t)n);
}

/*
 * The engine's counters, one per line.  They are engine-wide, for all
 * interfaces together, and the text's first line says so.
 */
static void
print_counters(const struct ctl_counters *cc, int json)
{
	const char	*group = NULL;
	uint64_t	 v;
	size_t		 i;

	if (json)
		printf("{\"counters\": {");
	else {
		printf("# engine-wide: all interfaces together, since wgmeshd "
		    "started\n");
		printf("%-7s %-27s %12s\n", "GROUP", "COUNTER", "VALUE");
	}
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		memcpy(&v, (const uint8_t *)cc + counters[i].offset,
		    sizeof(v));
		if (!json) {
			printf("%-7s %-27s %12llu\n", counters[i].group,
			    counters[i].name, (unsigned long long)v);
			continue;
		}
		if (group == NULL || strcmp(group, counters[i].group) != 0) {
			printf("%s\n    \"%s\": {", group == NULL ? "" : "},",
			    counters[i].group);
			group = counters[i].group;
		} else
			printf(", ");
		printf("\"%s\": %llu", counters[i].name, (unsigned long long)v);
	}
	if (json)
		printf("}\n}");
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	const struct command	*cmd;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	struct pollfd		 pfd;
	struct ctl_peer		 cp;
	struct ctl_iface	 ci;
	struct ctl_counters	 cc;
	struct ctl_result	 r;
	struct ctl_show_peers	 sp;
	struct ctl_log_verbose	 lv;
	struct ctl_event	 ev;
	struct ctl_ping		 ping;
	struct ctl_pong		 pong;
	struct ping_stats	 pst;
	struct ctl_peer		*mpeers = NULL;
	struct ctl_iface	*mifaces = NULL;
	size_t			 nmpeers = 0, nmifaces = 0;
	const char		*sockpath = WGMESHD_SOCKET, *why;
	ssize_t			 n;
	const char		*ping_ifname = NULL;
	uint32_t		 ping_count = 3, ping_wait = 2;
	int			 ch, fd, json = 0, done = 0, count = 0;
	int			 status = 1, ping_opts = 0;

	memset(&pst, 0, sizeof(pst));
	/* ping's options may follow its word: getopt moves the words */
	while ((ch = getopt(argc, argv, "c:I:jo:s:W:")) != -1) {
		switch (ch) {
		case 'c':
			ping_count = number("-c", optarg, 1,
			    CTL_PING_COUNT_MAX);
			ping_opts = 1;
			break;
		case 'I':
			ping_ifname = optarg;
			ping_opts = 1;
			break;
		case 'W':
			ping_wait = number("-W", optarg, 1, CTL_PING_WAIT_MAX);
			ping_opts = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		warnx("no command given");
		usage();
	}
	if ((cmd = command_match(argc, argv)) == NULL)
		usage_why("unknown command", argc, argv);
	if (json && cmd->output == OUT_METRICS)
		errx(1, "show metrics: Prometheus' text format only, no -j");
	if (out_path != NULL && cmd->output != OUT_METRICS)
		errx(1, "-o is for show metrics only");
	if (ping_opts && cmd->output != OUT_PING)
		errx(1, "-c, -I and -W are for ping only");
	if (cmd->output == OUT_PING && argc != 2) {
		warnx("ping: which peer? (wgmeshctl show peers lists them)");
		usage();
	}
	if (sodium_init() == -1)
		errx(1, "libsodium initialisation failed");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long: %s", sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		connect_failed(sockpath);
	imsgbuf_init(&ibuf, fd);
	/* no answer carries a descriptor: one is a bad answer */
	imsgbuf_refuse_fds(&ibuf);

	if (cmd->type == IMSG_CTL_SHOW_PEERS && argc == 3) {
		memset(&sp, 0, sizeof(sp));
		if (strlcpy(sp.name, argv[2], sizeof(sp.name)) >=
		    sizeof(sp.name))
			errx(1, "peer name too long: %s", argv[2]);
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, &sp, sizeof(sp));
	} else if (cmd->type == IMSG_CTL_PING) {
		memset(&ping, 0, sizeof(ping));
		if (strlcpy(ping.name, argv[1], sizeof(ping.name)) >=
		    sizeof(ping.name))
			errx(1, "peer name too long: %s", argv[1]);
		if (ping_ifname != NULL && strlcpy(ping.ifname, ping_ifname,
		    sizeof(ping.ifname)) >= sizeof(ping.ifname))
			errx(1, "interface name too long: %s", ping_ifname);
		ping.count = ping_count;
		ping.wait_seconds = ping_wait;
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, &ping,
		    sizeof(ping));
	} else if (cmd->type == IMSG_CTL_LOG_VERBOSE) {
		lv.level = cmd->value;
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, &lv, sizeof(lv));
	} else
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, NULL, 0);
	if (n == -1 || imsgbuf_flush(&ibuf) == -1)
		err(1, "cannot send to %s", sockpath);

	/* the counters are one object, printed once they are all here */
	if (json && cmd->output != OUT_COUNTERS &&
	    cmd->output != OUT_EVENTS && cmd->output != OUT_PING)
		printf("{\"%s\": [", cmd->output == OUT_PEERS ? "peers" :
		    cmd->output == OUT_RESULT ? "messages" : "interfaces");
	while (!done) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		/* a monitor waits for events as long as the daemon runs */
		if ((n = poll(&pfd, 1, cmd->output == OUT_EVENTS ? -1 :
		    REPLY_TIMEOUT)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (n == 0)
			errx(1, "no answer from wgmeshd within %d s",
			    REPLY_TIMEOUT / 1000);
		if ((n = imsgbuf_read(&ibuf)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "read from %s", sockpath);
		}
		if (n == 0)
			errx(1, "wgmeshd closed the connection");
		for (;;) {
			if ((n = imsg_get(&ibuf, &imsg)) == -1)
				errx(1, "bad answer from wgmeshd");
			if (n == 0)
				break;
			if ((why = imsg_check(&imsg, PROC_ENGINE)) != NULL)
				errx(1, "bad answer from wgmeshd: %s", why);
			if (!answer_expected(cmd->output, imsg.hdr.type))
				errx(1, "unexpected answer %s from wgmeshd",
				    imsg_type_name(imsg.hdr.type));
			if ((cmd->output == OUT_EVENTS) !=
			    (imsg.hdr.type == IMSG_CTL_EVENT))
				errx(1, "unexpected answer %s from wgmeshd",
				    imsg_type_name(imsg.hdr.type));
			switch (imsg.hdr.type) {
			case IMSG_CTL_EVENT:
				imsg_payload(&imsg, &ev, sizeof(ev));
				print_event(&ev, json);
				break;
			case IMSG_CTL_PONG:
				imsg_payload(&imsg, &pong, sizeof(pong));
				if (pst.sent >= ping.count)
					errx(1, "more answers than probes "
					    "from wgmeshd");
				print_pong(&pong, json, &pst);
				count++;
				break;
			case IMSG_CTL_PEER:
				imsg_payload(&imsg, &cp, sizeof(cp));
				if (cmd->output == OUT_METRICS) {
					mpeers = grow(mpeers, &nmpeers,
					    sizeof(*mpeers), METRICS_PEERS_MAX);
					mpeers[nmpeers++] = cp;
				} else if (json)
					print_peer(&cp, json, count++ == 0);
				else {
					peer_keep(&cp);
					count++;
				}
				break;
			case IMSG_CTL_IFACE:
				imsg_payload(&imsg, &ci, sizeof(ci));
				if (cmd->output == OUT_METRICS) {
					mifaces = grow(mifaces, &nmifaces,
					    sizeof(*mifaces), METRICS_IFACES_MAX);
					mifaces[nmifaces++] = ci;
				} else if (cmd->output == OUT_SELF)
					print_self(&ci, json, count++ == 0);
				else
					print_iface(&ci, json, count++ == 0);
				break;
			case IMSG_CTL_COUNTERS:
				imsg_payload(&imsg, &cc, sizeof(cc));
				if (count++ != 0)
					errx(1, "IMSG_CTL_COUNTERS twice from "
					    "wgmeshd");
				break;
			case IMSG_CTL_RESULT:
				imsg_payload(&imsg, &r, sizeof(r));
				bounded(r.text, sizeof(r.text));
				if (json) {
					printf("%s\n    ", count == 0 ?
					    "" : ",");
					json_string(r.text);
				} else
					fprintf(stderr, "%s\n",
					    shown(r.text));
				count++;
				break;
			case IMSG_CTL_END:
				imsg_payload(&imsg, &r, sizeof(r));
				status = r.status == 0 ? 0 : 1;
				bounded(r.text, sizeof(r.text));
				done = 1;
				break;
			default:
				errx(1, "unexpected answer %s from wgmeshd",
				    imsg_type_name(imsg.hdr.type));
			}
			imsg_free(&imsg);
		}
	}
	if (cmd->output == OUT_PING) {
		if (count > 0)
			print_ping_summary(ping.name, &pst, json);
		/* the reason after the lines it explains, on a pipe too */
		fflush(stdout);
		/* why it failed: the peer, its state, or no answer */
		if (status != 0)
			errx(1, "%s", r.text[0] != '\0' ? shown(r.text) :
			    "ping failed");
	} else if (cmd->output == OUT_METRICS) {
		/* all or nothing: a part would be taken for the whole */
		if (status != 0 || count == 0)
			errx(1, "no metrics from wgmeshd");
		if (out_path != NULL)
			output_open(out_path);
		if (metrics_print(mifaces, nmifaces, mpeers, nmpeers,
		    &cc) == -1)
			err(1, "%s", out_path != NULL ? out_tmp : "stdout");
		if (out_path != NULL)
			output_commit();
		free(mpeers);
		free(mifaces);
	} else if (cmd->output == OUT_COUNTERS) {
		if (count == 0)
			errx(1, "no counters from wgmeshd");
		print_counters(&cc, json);
		if (json)
			printf(", \"status\": %d}\n", status);
	} else if (json)
		printf("%s], \"status\": %d}\n", count > 0 ? "\n" : "", status);
	else if (cmd->output == OUT_PEERS && count > 0)
		peers_print();
	else if (cmd->type == IMSG_CTL_RELOAD && status == 0)
		printf("configuration reloaded\n");
	else if (cmd->type == IMSG_CTL_RELOAD && count == 0)
		/* the daemon's own lines say what failed, and the outcome */
		fprintf(stderr, "reload failed\n");
	else if (cmd->type == IMSG_CTL_SHOW_PEERS && count == 0 && argc == 3)
		warnx("no peer named %s", argv[2]);
	if (cmd->type == IMSG_CTL_SHOW_PEERS && count == 0 && argc == 3)
		status = 1;
	imsgbuf_clear(&ibuf);
	close(fd);
	return (status);
}
