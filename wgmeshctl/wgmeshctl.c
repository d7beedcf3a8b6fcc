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
#include <sys/un.h>

#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
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

#define WGMESHD_SOCKET	"/run/wgmeshd.sock"
#define REPLY_TIMEOUT	(60 * 1000)	/* a reload of many peers */

enum output { OUT_PEERS, OUT_IFACES, OUT_SELF, OUT_COUNTERS, OUT_RESULT };

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
	{ { "reload", NULL, NULL },	IMSG_CTL_RELOAD, OUT_RESULT, 0, 0 },
	{ { "log", "verbose", NULL },	IMSG_CTL_LOG_VERBOSE, OUT_RESULT, 0, 1 },
	{ { "log", "brief", NULL },	IMSG_CTL_LOG_VERBOSE, OUT_RESULT, 0, 0 },
};

/* A field of struct ctl_counters as shown: group, name, where it is. */
struct counter {
	const char	*group;
	const char	*name;
	size_t		 offset;
};

#define COUNTER(g, n)	{ #g, #n, offsetof(struct ctl_counters, g.n) }

/* In struct ctl_counters' order; each group's counters together. */
static const struct counter counters[] = {
	COUNTER(gossip, rx),
	COUNTER(gossip, rx_bad),
	COUNTER(gossip, rx_unknown),
	COUNTER(gossip, tx),
	COUNTER(gossip, tx_bytes),
	COUNTER(gossip, punches),
	COUNTER(gossip, alive_tx),
	COUNTER(gossip, drop_nopeer),
	COUNTER(gossip, drop_nokey),
	COUNTER(gossip, drop_reconf),
	COUNTER(gossip, drop_short),
	COUNTER(gossip, drop_too_long),
	COUNTER(gossip, drop_bad_version),
	COUNTER(gossip, drop_bad_type),
	COUNTER(gossip, drop_authentication_failed),
	COUNTER(gossip, drop_replay),
	COUNTER(gossip, drop_stale),
	COUNTER(gossip, drop_no_space),
	COUNTER(lan, tx),
	COUNTER(lan, rx_beacon),
	COUNTER(lan, rx_ping),
	COUNTER(lan, rx_pong),
	COUNTER(lan, drop_bad),
	COUNTER(lan, drop_unicast),
	COUNTER(lan, drop_nopeer),
	COUNTER(lan, drop_nokey),
	COUNTER(lan, drop_open),
	COUNTER(lan, drop_nonce),
	COUNTER(lan, drop_reconf),
	COUNTER(lan, drop_hoplimit),
	COUNTER(lan, drop_scope),
	COUNTER(lan, drop_path),
	COUNTER(lan, drop_offlink),
};

_Static_assert(sizeof(counters) / sizeof(counters[0]) ==
    sizeof(struct ctl_counters) / sizeof(uint64_t),
    "a counter of struct ctl_counters not shown");

static __dead void	 usage(void);
static const struct command *command_match(int, char *[]);
static int		 word_match(const char *, const char *);
static void		 json_string(const char *);
static const char	*shown(const char *);
static const char	*bounded(char *, size_t);
static const char	*origin_word(uint8_t);
static const char	*state_name(uint8_t);
static const char	*mapping_protocol(uint8_t);
static const char	*bytes(uint64_t, char *, size_t);
static const char	*age(int64_t, int64_t, char *, size_t);
static void		 print_peer(const struct ctl_peer *, int, int);
static void		 print_iface(const struct ctl_iface *, int, int);
static void		 print_self(const struct ctl_iface *, int, int);
static void		 print_counters(const struct ctl_counters *, int);

extern char	*__progname;

static __dead void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument]\n",
	    __progname);
	fprintf(stderr, "valid commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "\t%s%s%s%s\n", commands[i].words[0],
		    commands[i].words[1] != NULL ? " " : "",
		    commands[i].words[1] != NULL ? commands[i].words[1] : "",
		    commands[i].takes_arg ? " [name]" : "");
	exit(1);
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
	if (nmatch > 1) {
		warnx("ambiguous command");
		usage();
	}
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
	}
	return ("none");
}

static const char *
state_name(uint8_t s)
{
	switch (s) {
	case PEER_STATE_NO_ENDPOINT:
		return ("waiting");
	case PEER_STATE_CONNECTING:
		return ("connecting");
	case PEER_STATE_UP:
		return ("up");
	case PEER_STATE_UNREACHABLE:
		return ("unreachable");
	}
	return ("unknown");
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

static void
print_peer(const struct ctl_peer *cp0, int json, int first)
{
	struct ctl_peer	 cp = *cp0;
	char		 key[WG_KEY_B64_LEN], ep[ENDPOINT_STR_MAX];
	char		 addr[INET6_ADDRSTRLEN], h[32], rx[32], tx[32];

	key_to_base64(key, cp.public_key);
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
		printf(", \"persistent_keepalive\": %u", cp.keepalive);
		printf(", \"state\": \"%s\", \"reason\": ",
		    state_name(cp.state));
		json_string(bounded(cp.reason, sizeof(cp.reason)));
		printf("}");
		return;
	}
	if (first)
		printf("%-8s %-16s %-11s %-24s %-7s %-10s %-10s %-10s %s\n",
		    "IFACE", "PEER", "STATE", "ENDPOINT", "SOURCE", "HANDSHAKE",
		    "RX", "TX", "NOTE");
	printf("%-8s %-16s %-11s %-24s %-7s %-10s %-10s %-10s %s\n",
	    shown(bounded(cp.ifname, sizeof(cp.ifname))),
	    shown(bounded(cp.name, sizeof(cp.name))), state_name(cp.state),
	    shown(ep), origin_word(cp.origin), age(cp.last_handshake, cp.now,
	    h, sizeof(h)), bytes(cp.rx_bytes, rx, sizeof(rx)),
	    bytes(cp.tx_bytes, tx, sizeof(tx)),
	    cp.state == PEER_STATE_UP ? "" :
	    shown(bounded(cp.reason, sizeof(cp.reason))));
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
		printf("}");
		return;
	}
	if (first)
		printf("%-8s %-16s %-9s %-6s %-28s %-7s %-31s %s\n", "IFACE",
		    "NAME", "BACKEND", "PORT", "ADDRESS", "UP/ALL", "MAPPING",
		    "PUBLIC KEY");
	printf("%-8s %-16s %-9s %-6u %-28s %3u/%-3u %-31s %s\n",
	    shown(bounded(ci.ifname, sizeof(ci.ifname))),
	    shown(bounded(ci.node_name, sizeof(ci.node_name))),
	    shown(bounded(ci.backend, sizeof(ci.backend))), ci.listen_port,
	    addr, ci.npeers_up, ci.npeers, mapping, key);
}

/* This node as a peer block for the other nodes' configurations. */
static void
print_self(const struct ctl_iface *ci0, int json, int first)
{
	struct ctl_iface	ci = *ci0;
	char			key[WG_KEY_B64_LEN];

	key_to_base64(key, ci.public_key);
	bounded(ci.ifname, sizeof(ci.ifname));
	bounded(ci.node_name, sizeof(ci.node_name));
	if (json) {
		printf("%s\n    {\"interface\": ", first ? "" : ",");
		json_string(ci.ifname);
		printf(", \"name\": ");
		json_string(ci.node_name);
		printf(", \"public_key\": \"%s\", \"listen_port\": %u}", key,
		    ci.listen_port);
		return;
	}
	printf("%s# for the other nodes' wgmeshd.conf, inside "
	    "\"interface %s { ... }\"\n", first ? "" : "\n",
	    shown(ci.ifname));
	printf("peer \"%s\" {\n", shown(ci.node_name));
	printf("\tpublic-key \"%s\"\n", key);
	printf("\t# endpoint \"HOST:%u\"\t# if this node has a public "
	    "address\n", ci.listen_port);
	printf("}\n");
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
	const char		*sockpath = WGMESHD_SOCKET, *why;
	ssize_t			 n;
	int			 ch, fd, json = 0, done = 0, count = 0;
	int			 status = 1;

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
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
	if (argc == 0 || (cmd = command_match(argc, argv)) == NULL)
		usage();
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
		errx(1, "cannot connect to %s: %s (is wgmeshd running?)",
		    sockpath, strerror(errno));
	imsgbuf_init(&ibuf, fd);
	/* no answer carries a descriptor: one is a bad answer */
	imsgbuf_refuse_fds(&ibuf);

	if (cmd->type == IMSG_CTL_SHOW_PEERS && argc == 3) {
		memset(&sp, 0, sizeof(sp));
		if (strlcpy(sp.name, argv[2], sizeof(sp.name)) >=
		    sizeof(sp.name))
			errx(1, "peer name too long: %s", argv[2]);
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, &sp, sizeof(sp));
	} else if (cmd->type == IMSG_CTL_LOG_VERBOSE) {
		lv.level = cmd->value;
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, &lv, sizeof(lv));
	} else
		n = imsg_compose(&ibuf, cmd->type, 0, 0, -1, NULL, 0);
	if (n == -1 || imsgbuf_flush(&ibuf) == -1)
		err(1, "cannot send to %s", sockpath);

	/* the counters are one object, printed once they are all here */
	if (json && cmd->output != OUT_COUNTERS)
		printf("{\"%s\": [", cmd->output == OUT_PEERS ? "peers" :
		    cmd->output == OUT_RESULT ? "messages" : "interfaces");
	while (!done) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, REPLY_TIMEOUT)) == -1) {
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
			/* counters answer show counters, and nothing else */
			if (imsg.hdr.type != IMSG_CTL_END &&
			    (cmd->output == OUT_COUNTERS) !=
			    (imsg.hdr.type == IMSG_CTL_COUNTERS))
				errx(1, "unexpected answer %s from wgmeshd",
				    imsg_type_name(imsg.hdr.type));
			switch (imsg.hdr.type) {
			case IMSG_CTL_PEER:
				imsg_payload(&imsg, &cp, sizeof(cp));
				print_peer(&cp, json, count++ == 0);
				break;
			case IMSG_CTL_IFACE:
				imsg_payload(&imsg, &ci, sizeof(ci));
				if (cmd->output == OUT_SELF)
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
					printf("%s\n    ", count++ == 0 ?
					    "" : ",");
					json_string(r.text);
				} else
					fprintf(stderr, "%s\n",
					    shown(r.text));
				break;
			case IMSG_CTL_END:
				imsg_payload(&imsg, &r, sizeof(r));
				status = r.status == 0 ? 0 : 1;
				done = 1;
				break;
			default:
				errx(1, "unexpected answer %s from wgmeshd",
				    imsg_type_name(imsg.hdr.type));
			}
			imsg_free(&imsg);
		}
	}
	if (cmd->output == OUT_COUNTERS) {
		if (count == 0)
			errx(1, "no counters from wgmeshd");
		print_counters(&cc, json);
		if (json)
			printf(", \"status\": %d}\n", status);
	} else if (json)
		printf("%s], \"status\": %d}\n", count > 0 ? "\n" : "", status);
	else if (cmd->type == IMSG_CTL_RELOAD)
		fprintf(status == 0 ? stdout : stderr, "%s\n", status == 0 ?
		    "configuration reloaded" : "reload failed; the running "
		    "configuration is kept");
	else if (cmd->type == IMSG_CTL_SHOW_PEERS && count == 0 && argc == 3)
		warnx("no peer named %s", argv[2]);
	if (cmd->type == IMSG_CTL_SHOW_PEERS && count == 0 && argc == 3)
		status = 1;
	imsgbuf_clear(&ibuf);
	close(fd);
	return (status);
}
