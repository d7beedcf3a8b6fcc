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
 * wgmeshd's parent process: reads the configuration and the keys, holds
 * the WireGuard handles, starts the engine and the storage process, and
 * does what the engine asks after checking it: set a configured peer's
 * endpoint, and, for a control client, reload or change the log level
 * (the table in common/proto.h says who sends what).  main()
 * also dispatches to the children's entry functions (-E, -S), which are
 * started by fork+exec of this binary so that they never hold pages that
 * contained a private key.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "imsg.h"
#include "wgmeshd.h"
#include "parent.h"
#include "conf.h"
#include "relay.h"

/*
 * Reloads come at most this often (the first this long after the start),
 * and never while the last one's configuration is still queued for a
 * child: one asked meanwhile waits, and all that waited get the outcome
 * of the one reload that follows.
 */
#define RELOAD_INTERVAL_MS	1000
struct parent		 parent_state;

static __dead void	 usage(void);
static pid_t		 start_child(const char *, int, int, int, int,
			    const struct wgmeshd_conf *, int, int);
static void		 child_fds(int, int, int);
static int		 control_socket_open(const char *);
static void		 parent_dispatch_engine(int, short, void *);
static void		 parent_dispatch_storage(int, short, void *);
static void		 parent_dispatch_relay(int, short, void *);
static void		 parent_signal(int, short, void *);
static void		 parent_poll(int, short, void *);
static void		 parent_report(const struct imsg_device_peer *, void *);
static void		 parent_own_addresses(const struct iface_conf *,
			    struct imsg_iface *);
static void		 parent_send_conf(struct imsgev *);
static int		 parent_scope_valid(uint32_t);
static void		 parent_reload_ask(uint32_t);
static void		 parent_reload_arm(void);
static void		 parent_reload_run(int, short, void *);
static int		 parent_reload(void);
static void		 parent_reload_end(int);
static int64_t		 parent_clock_ms(void);
static void		 parent_reload_line(const char *, void *);
static void		 parent_set_endpoint(struct imsg *);
static int		 parent_set_limited(struct device *, uint32_t,
			    const struct peer_conf *);
static int		 parent_set_ignored(const struct device *,
			    const struct peer_conf *, const struct imsg_addr *,
			    const char *);
static int		 parent_devices_apply(struct wgmeshd_conf *,
			    struct wgmeshd_conf *);
static void		 parent_shutdown(int);
static int		 child_ended(pid_t *, const char *);
static void		 children_ended(int);
static void		 state_dir_prepare(const char *, const char *);
static void		 notify_ready(void);

extern char	*__progname;

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file]\n",
	    __progname);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct parent		*ps = &parent_state;
	struct wgmeshd_conf	*conf;
	struct relay_params	 relay_params;
	const char		*conffile = WGMESHD_CONF;
	const char		*user = NULL, *statedir = NULL;
	int			 ch, debug = 0, noaction = 0, verbose = 0;
	int			 child = 0, has_relay = 0;
	int			 sp_engine[2], sp_storage[2];
	int			 sp_es[2], sp_relay[2] = { -1, -1 };
	int			 sp_er[2] = { -1, -1 };
	int			 i, sigs[] = { SIGTERM, SIGINT, SIGHUP,
				    SIGCHLD, SIGPIPE };

	log_init(1, LOG_DAEMON);

	while ((ch = getopt(argc, argv, "dD:Ef:nrRSs:u:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (cmdline_symset(optarg) < 0)
				fatalx("could not parse macro definition %s",
				    optarg);
			break;
		case 'E':
			child = 'E';
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction++;
			break;
		case 'r':
			has_relay = 1;
			break;
		case 'R':
			child = 'R';
			break;
		case 'S':
			child = 'S';
			break;
		case 's':
			statedir = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (child == 'R') {
		/* the relay's parameters, from start_child() */
		if (user == NULL || relay_params_parse(&relay_params, argv,
		    argc) == -1)
			fatalx("relay: bad parameters");
		relay(debug, verbose, user, &relay_params);
	}
	if (argc > 0)
		usage();

	if (sodium_init() == -1)
		fatalx("libsodium initialisation failed");
	log_setverbose(verbose);

	if (child == 'E') {
		if (user == NULL)
			fatalx("engine: no user");
		engine(debug, verbose, user, has_relay);
	}
	if (child == 'S') {
		if (user == NULL || statedir == NULL)
			fatalx("storage: no user or state directory");
		storage(debug, verbose, user, statedir);
	}

	if ((conf = parse_config(conffile)) == NULL)
		exit(1);
	if (!noaction)
		log_procinit("parent");

	/*
	 * A check never writes: a missing private key is reported in the
	 * -v output and created when the daemon starts.
	 */
	if (conf_load_keys(conf, noaction ? 0 : KEYS_CREATE) == -1) {
		conf_free(conf);
		exit(1);
	}

	if (noaction) {
		/*
		 * Silent when all is well, as sshd -t is.  -nn checks the
		 * file alone, for a file meant for another host.
		 */
		if (verbose > 0)
			conf_print(stdout, conf);
		if (noaction == 1 && startcheck(conf, &startcheck_system) > 0) {
			conf_free(conf);
			exit(1);
		}
		conf_free(conf);
		exit(0);
	}

	if (geteuid() != 0)
		fatalx("need root privileges");
	/* what -n checks, before anything is touched */
	if (startcheck(conf, &startcheck_system) > 0)
		exit(1);

	/* reloads happen after daemon(3) has moved us to / */
	if ((ps->conffile = realpath(conffile, NULL)) == NULL)
		fatal("%s", conffile);
	ps->conf = conf;
	state_dir_prepare(conf->state_dir, conf->user);

	/* before anything is touched: is another wgmeshd running? */
	if ((ps->control_fd = control_socket_open(conf->control_socket)) == -1)
		exit(1);
	strlcpy(ps->control_path, conf->control_socket,
	    sizeof(ps->control_path));

	log_init(debug, LOG_DAEMON);
	log_procinit("parent");
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp_engine) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp_storage) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp_es) == -1)
		fatal("socketpair");
	/* the relay process only if some interface may relay */
	if (conf_relay_offered(conf) &&
	    (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp_relay) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp_er) == -1))
		fatal("socketpair");

	/* children first: they must not inherit the device handles */
	ps->engine_pid = start_child("engine", sp_engine[1], sp_es[0],
	    sp_er[0], sp_engine[0], conf, debug, verbose);
	ps->storage_pid = start_child("storage", sp_storage[1], sp_es[1], -1,
	    sp_storage[0], conf, debug, verbose);
	if (sp_relay[0] != -1)
		ps->relay_pid = start_child("relay", sp_relay[1], sp_er[1],
		    -1, sp_relay[0], conf, debug, verbose);
	close(sp_engine[1]);
	close(sp_storage[1]);
	close(sp_es[0]);
	close(sp_es[1]);
	if (sp_relay[0] != -1) {
		close(sp_relay[1]);
		close(sp_er[0]);
		close(sp_er[1]);
	}

	if ((ps->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	imsgev_init(&ps->iev_engine, ps->base, sp_engine[0],
	    parent_dispatch_engine, ps);
	imsgev_init(&ps->iev_storage, ps->base, sp_storage[0],
	    parent_dispatch_storage, ps);
	/* neither child has a descriptor to give the parent */
	imsgev_pipe(&ps->iev_engine, "the engine", 0);
	imsgev_pipe(&ps->iev_storage, "the storage process", 0);
	if (sp_relay[0] != -1) {
		imsgev_init(&ps->iev_relay, ps->base, sp_relay[0],
		    parent_dispatch_relay, ps);
		imsgev_pipe(&ps->iev_relay, "the relay process", 0);
		ps->has_relay = 1;
	}

	for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++) {
		ps->ev_sig[i] = evsignal_new(ps->base, sigs[i], parent_signal,
		    ps);
		if (ps->ev_sig[i] == NULL || evsignal_add(ps->ev_sig[i],
		    NULL) == -1)
			fatalx("signal events");
	}

	if (parent_devices_apply(conf, NULL) == -1)
		fatalx("could not configure the WireGuard interfaces");

	if (imsg_compose(&ps->iev_engine.ibuf, IMSG_SOCKET_CONTROL, 0, 0,
	    ps->control_fd, NULL, 0) == -1)
		fatal("compose IMSG_SOCKET_CONTROL");
	ps->control_fd = -1;	/* the queue owns it now */
	parent_send_conf(&ps->iev_engine);
	parent_send_gossip();
	parent_send_conf(&ps->iev_storage);

	if ((ps->ev_poll = evtimer_new(ps->base, parent_poll, ps)) == NULL ||
	    (ps->ev_reload = evtimer_new(ps->base, parent_reload_run,
	    ps)) == NULL)
		fatalx("event_new");
	ps->reload_at = parent_clock_ms();
	parent_poll(-1, 0, ps);

	log_info("started: %zu interface%s", ps->ndevs,
	    ps->ndevs == 1 ? "" : "s");
	notify_ready();
	event_base_dispatch(ps->base);
	parent_shutdown(0);
	return (0);
}

/*
 * fork+exec of this binary as a child, its pipe to us at fd 3 and its
 * pipe to the other child at fd 4; the engine's pipe to the relay
 * process, when there is one, at fd 5.
 */
static pid_t
start_child(const char *what, int fd3, int fd4, int fd5, int keep_closed,
    const struct wgmeshd_conf *conf, int debug, int verbose)
{
	char	*argv[16], ports[16], pairs[16], mbit[16], packets[16];
	int	 argc = 0, v;
	pid_t	 pid;

	switch ((pid = fork())) {
	case -1:
		fatal("cannot fork the %s", what);
	case 0:
		break;
	default:
		return (pid);
	}

	close(keep_closed);
	child_fds(fd3, fd4, fd5);

	/*
	 * argv[0] is what ps, top and systemd show as the command line;
	 * the child names its comm (exec made it "exe") itself.
	 */
	if (strcmp(what, "engine") == 0) {
		argv[argc++] = "wgmeshd: engine";
		argv[argc++] = "-E";
	} else if (strcmp(what, "relay") == 0) {
		argv[argc++] = "wgmeshd: relay";
		argv[argc++] = "-R";
	} else {
		argv[argc++] = "wgmeshd: storage";
		argv[argc++] = "-S";
	}
	if (debug)
		argv[argc++] = "-d";
	for (v = 0; v < verbose && v < 2; v++)
		argv[argc++] = "-v";
	argv[argc++] = "-u";
	argv[argc++] = conf->user;
	if (strcmp(what, "storage") == 0) {
		argv[argc++] = "-s";
		argv[argc++] = conf->state_dir;
	}
	if (strcmp(what, "engine") == 0 && fd5 != -1)
		argv[argc++] = "-r";	/* the relay process at fd 5 */
	if (strcmp(what, "relay") == 0) {
		/* its ports and limits: relay_params_parse() */
		snprintf(ports, sizeof(ports), "%u-%u", conf->relay_port_low,
		    conf->relay_port_high);
		snprintf(pairs, sizeof(pairs), "%u", conf->relay_max_pairs);
		snprintf(mbit, sizeof(mbit), "%u", conf->relay_rate_mbit);
		snprintf(packets, sizeof(packets), "%u",
		    conf->relay_packet_rate);
		argv[argc++] = ports;
		argv[argc++] = pairs;
		argv[argc++] = mbit;
		argv[argc++] = packets;
	}
	argv[argc] = NULL;
#ifdef WGMESHD_REGRESS
	/*
	 * Only in the build that regress/ makes: an engine of the test's
	 * choosing, to prove that the parent refuses what a hostile engine
	 * asks for.  The installed binary has no such switch.
	 */
	{
		const char	*hostile = getenv("WGMESHD_REGRESS_ENGINE");

		if (hostile != NULL && strcmp(what, "engine") == 0) {
			execv(hostile, argv);
			fatal("cannot exec %s", hostile);
		}
	}
#endif
	execv("/proc/self/exe", argv);
	fatal("cannot exec the %s", what);
}

/*
 * A child's pipes at 3, 4 and 5 (-1: none), whatever numbers they had:
 * first moved above them all, so that no dup2() closes one not yet
 * moved.  dup2() clears close-on-exec; the originals go at exec.
 */
static void
child_fds(int fd3, int fd4, int fd5)
{
	int	 from[3] = { fd3, fd4, fd5 }, i;

	for (i = 0; i < 3; i++)
		if (from[i] != -1 &&
		    (from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 10)) == -1)
			fatal("fcntl F_DUPFD_CLOEXEC");
	for (i = 0; i < 3; i++)
		if (from[i] != -1 && dup2(from[i], 3 + i) == -1)
			fatal("dup2");
}

/*
 * The control socket: a stale one is replaced, a live one means another
 * wgmeshd is running.
 */
static int
control_socket_open(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old_umask;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return (-1);
	}
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(probe);
		log_warnx("%s: another wgmeshd is running", path);
		return (-1);
	}
	close(probe);
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	old_umask = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		umask(old_umask);
		close(fd);
		return (-1);
	}
	umask(old_umask);
	if (chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		log_warn("%s", path);
		close(fd);
		unlink(path);
		return (-1);
	}
	return (fd);
}

/* The storage process chroots here, as the daemon's user. */
static void
state_dir_prepare(const char *dir, const char *user)
{
	struct passwd	*pw;
	struct stat	 st;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("user %s does not exist", user);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("cannot create state directory %s", dir);
	if (lstat(dir, &st) == -1)
		fatal("%s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s: not a directory", dir);
	if (st.st_uid != pw->pw_uid && chown(dir, pw->pw_uid,
	    pw->pw_gid) == -1)
		fatal("chown %s", dir);
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) == -1)
		fatal("chmod %s", dir);
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void
notify_ready(void)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 len;
	int			 fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || path[0] == '\0')
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    (path[0] != '/' && path[0] != '@')) {
		log_warnx("NOTIFY_SOCKET: unusable path");
		return;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("NOTIFY_SOCKET: socket");
		return;
	}
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun, len) == -1)
		log_warn("NOTIFY_SOCKET: sendto");
	close(fd);
}

/*
 * Opens and configures every interface of "conf"; "old" is the running
 * configuration on reload.  Devices of interfaces that are no longer
 * configured are closed and left as they are.
 */
static int
parent_devices_apply(struct wgmeshd_conf *conf, struct wgmeshd_conf *old)
{
	struct parent		*ps = &parent_state;
	struct device		*ndevs;
	struct iface_conf	*iface, *oiface;
	size_t			 i, n = 0;
	int			 errors = 0;

	if ((ndevs = calloc(conf->nifaces, sizeof(*ndevs))) == NULL)
		fatal("devices");
	TAILQ_FOREACH(iface, &conf->ifaces, entry) {
		oiface = NULL;
		/* one that could not be opened before is opened anew */
		for (i = 0; i < ps->ndevs; i++)
			if (ps->devs[i].wg != NULL && strcmp(
			    ps->devs[i].conf->ifname, iface->ifname) == 0)
				break;
		if (i < ps->ndevs) {
			/* the handle moves to the new list */
			ndevs[n] = ps->devs[i];
			memset(&ps->devs[i], 0, sizeof(ps->devs[i]));
			oiface = ndevs[n].conf;
		} else if (device_open(&ndevs[n], iface) == -1) {
			errors++;
			n++;
			continue;
		}
		if (device_apply(&ndevs[n], iface, old != NULL ? oiface :
		    NULL) == -1)
			errors++;
		n++;
	}
	for (i = 0; i < ps->ndevs; i++) {
		if (ps->devs[i].wg != NULL)
			log_info("%s: no longer configured; left as it is",
			    ps->devs[i].conf->ifname);
		device_close(&ps->devs[i]);
	}
	free(ps->devs);
	ps->devs = ndevs;
	ps->ndevs = n;
	ps->gen++;
	ps->fast_polls = WGMESHD_POLL_FAST_COUNT;
	return (errors == 0 ? 0 : -1);
}

/*
 * The addresses an interface is given, its control address aside, as
 * the engine tells its peers (identity.c): the derived one first.
 */
static void
parent_own_addresses(const struct iface_conf *iface, struct imsg_iface *mi)
{
	size_t	i, n = 0;

	if (iface->address_auto)
		prefix_to_imsg(&mi->addresses[n++], &iface->derived);
	for (i = 0; i < iface->naddresses && n < IMSG_PREFIXES_MAX; i++)
		prefix_to_imsg(&mi->addresses[n++], &iface->addresses[i]);
	mi->naddresses = n;
	mi->addresses_more = i < iface->naddresses;
}

/* The configuration as the children see it: no secrets, no file names. */
static void
parent_send_conf(struct imsgev *iev)
{
	struct parent		*ps = &parent_state;
	struct iface_conf	*iface;
	struct peer_conf	*peer;
	struct imsg_reconf_begin rb;
	struct imsg_iface	 mi;
	struct imsg_peer	 mp;
	struct prefix		 pfx;
	uint32_t		 ii = 0, pi;
	size_t			 i, n;

	rb.gen = ps->gen;
	imsgev_compose(iev, IMSG_RECONF_BEGIN, 0, -1, &rb, sizeof(rb));
	TAILQ_FOREACH(iface, &ps->conf->ifaces, entry) {
		memset(&mi, 0, sizeof(mi));
		mi.index = ii;
		mi.npeers = iface->npeers;
		strlcpy(mi.ifname, iface->ifname, sizeof(mi.ifname));
		strlcpy(mi.node_name, iface->node_name, sizeof(mi.node_name));
		strlcpy(mi.backend, ii < ps->ndevs && ps->devs[ii].wg != NULL ?
		    wg_backend_name(ps->devs[ii].wg) : "none",
		    sizeof(mi.backend));
		memcpy(mi.public_key, iface->public_key, WG_KEY_LEN);
		memcpy(mi.address, &iface->derived.addr, 16);
		mi.listen_port = iface->listen_port;
		mi.gossip_port = iface->gossip_port;
		mi.keepalive = iface->keepalive;
		mi.upnp_external_port = iface->upnp_external_port;
		mi.lan_discovery = iface->lan_discovery;
		mi.upnp = iface->upnp;
		mi.relay_offer = iface->relay_offer;
		mi.relay_use = iface->relay_use;
		if (iface->self != NULL && iface->self->has_endpoint) {
			strlcpy(mi.self_endpoint_host,
			    iface->self->endpoint.host,
			    sizeof(mi.self_endpoint_host));
			mi.self_endpoint_port = iface->self->endpoint.port;
		}
		parent_own_addresses(iface, &mi);
		imsgev_compose(iev, IMSG_RECONF_IFACE, 0, -1, &mi, sizeof(mi));
		pi = 0;
		TAILQ_FOREACH(peer, &iface->peers, entry) {
			memset(&mp, 0, sizeof(mp));
			mp.iface = ii;
			mp.index = pi++;
			strlcpy(mp.name, peer->name, sizeof(mp.name));
			if (peer->has_endpoint) {
				strlcpy(mp.endpoint_host, peer->endpoint.host,
				    sizeof(mp.endpoint_host));
				mp.endpoint_port = peer->endpoint.port;
			}
			memcpy(mp.public_key, peer->public_key, WG_KEY_LEN);
			memcpy(mp.address, &peer->derived.addr, 16);
			mp.keepalive = peer_keepalive(iface, peer);
			mp.relay_use = peer_relay_use(iface, peer);
			n = peer_allowed_count(peer);
			for (i = 0; i < n && i < IMSG_PREFIXES_MAX; i++) {
				peer_allowed_get(peer, i, &pfx);
				prefix_to_imsg(&mp.allowed[i], &pfx);
			}
			mp.nallowed = i;
			mp.allowed_more = n > IMSG_PREFIXES_MAX;
			imsgev_compose(iev, IMSG_RECONF_PEER, 0, -1, &mp,
			    sizeof(mp));
		}
		ii++;
	}
	imsgev_compose(iev, IMSG_RECONF_END, 0, -1, NULL, 0);
}

/* An interface index that exists and is not a WireGuard device of ours. */
static int
parent_scope_valid(uint32_t scope)
{
	struct parent	*ps = &parent_state;
	char		 ifname[IF_NAMESIZE];
	size_t		 i;

	if (if_indextoname(scope, ifname) == NULL)
		return (0);
	for (i = 0; i < ps->ndevs; i++)
		if (ps->devs[i].conf != NULL &&
		    strcmp(ps->devs[i].conf->ifname, ifname) == 0)
			return (0);
	return (1);
}

static void
parent_poll(int fd, short event, void *arg)
{
	struct parent	*ps = arg;
	struct timeval	 tv;
	size_t		 i;
	int		 waiting = 0;

	for (i = 0; i < ps->ndevs; i++) {
		if (ps->devs[i].wg == NULL || ps->devs[i].peers == NULL)
			continue;
		device_poll(&ps->devs[i], i, parent_report, ps, &waiting);
		/* sockets that could not be bound: tried again */
		if (ps->devs[i].gossip_failed)
			parent_gossip_socket(&ps->devs[i]);
		if (ps->devs[i].lan_failed)
			parent_lan_socket(&ps->devs[i]);
	}
	parent_lan_links(0);
	/*
	 * A handshake is news to pass on at once: look often while a peer
	 * is not up, but only for a while after a start, a reload or an
	 * endpoint set, so that a peer that stays away costs nothing.
	 */
	if (waiting && ps->fast_polls > 0)
		ps->fast_polls--;
	else
		waiting = 0;
	tv.tv_sec = 0;
	tv.tv_usec = (waiting ? WGMESHD_POLL_FAST_MS : WGMESHD_POLL_MS) * 1000;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = tv.tv_usec / 1000000;
		tv.tv_usec %= 1000000;
	}
	evtimer_add(ps->ev_poll, &tv);
}

static void
parent_report(const struct imsg_device_peer *dp, void *arg)
{
	struct parent	*ps = arg;

	imsgev_compose(&ps->iev_engine, IMSG_DEVICE_PEER, ps->gen, -1, dp,
	    sizeof(*dp));
}

/*
 * The engine's one request of its own.  Anything malformed means the
 * engine is not the program we started: fatal.  A request made for an older
 * configuration generation is dropped, as a reload may have renumbered
 * the peers in the meantime.
 */
/*
 * More endpoint requests for a peer than the engine ever asks for:
 * dropped, not fatal, as a stall of ours (a slow device) may bunch
 * requests up; a dropped one only waits for the engine's next try.
 * Counted, and logged at most once a second.
 */
static int
parent_set_limited(struct device *d, uint32_t index,
    const struct peer_conf *peer)
{
	struct parent	*ps = &parent_state;
	int64_t		 now;

	if (device_set_allowed(d, index))
		return (0);
	ps->set_dropped++;
	now = parent_clock_ms();
	if (now - ps->set_dropped_logged >= 1000) {
		ps->set_dropped_logged = now;
		log_warnx("%s: peer %s: endpoint requests over the limit (%d "
		    "at once, one per %d ms); %llu dropped so far",
		    d->conf->ifname, peer->name, DEVICE_SET_BURST,
		    DEVICE_SET_INTERVAL_MS,
		    (unsigned long long)ps->set_dropped);
	}
	return (1);
}

/*
 * Endpoints that are well formed but not to be set, and not the
 * engine's fault: logged and ignored.
 */
static int
parent_set_ignored(const struct device *d, const struct peer_conf *peer,
    const struct imsg_addr *endpoint, const char *shown)
{
	/*
	 * Our own overlay would loop the peer's datagrams into a tunnel.
	 * The engine knows only the derived prefixes, not every allowed
	 * IP.
	 */
	if (conf_endpoint_in_overlay(parent_state.conf, endpoint)) {
		log_warnx("%s: peer %s: endpoint %s: inside the mesh's "
		    "overlay; ignored", d->conf->ifname, peer->name, shown);
		return (1);
	}
	/*
	 * A link-local endpoint's interface may have gone since the engine
	 * heard the peer there.  It is never a WireGuard device of ours,
	 * which would send the peer's datagrams into its own tunnel.
	 */
	if (endpoint->scope != 0 && !parent_scope_valid(endpoint->scope)) {
		log_warnx("%s: peer %s: endpoint %s: not on an underlay "
		    "interface; ignored", d->conf->ifname, peer->name, shown);
		return (1);
	}
	return (0);
}

static void
parent_set_endpoint(struct imsg *imsg)
{
	struct parent		*ps = &parent_state;
	struct imsg_set_endpoint req;
	struct peer_conf	*peer;
	struct device		*d;
	char			 buf[ENDPOINT_STR_MAX];
	uint32_t		 i;
	int			 waiting = 0;

	imsg_payload(imsg, &req, sizeof(req));
	if (imsg->hdr.peerid != ps->gen) {
		log_debug("IMSG_SET_ENDPOINT for generation %u, now %u: "
		    "dropped", imsg->hdr.peerid, ps->gen);
		return;
	}
	if (req.iface >= ps->ndevs || ps->devs[req.iface].wg == NULL)
		fatalx("IMSG_SET_ENDPOINT: no interface #%u", req.iface);
	d = &ps->devs[req.iface];
	if (req.peer >= d->conf->npeers)
		fatalx("IMSG_SET_ENDPOINT: %s has no peer #%u",
		    d->conf->ifname, req.peer);
	/* its configuration could not be applied: nothing to point */
	if (d->peers == NULL) {
		log_debug("%s: not configured; endpoint for peer #%u dropped",
		    d->conf->ifname, req.peer);
		return;
	}
	if (!imsg_addr_is_endpoint(&req.endpoint))
		fatalx("IMSG_SET_ENDPOINT: %s peer #%u: not a unicast "
		    "endpoint (family %u)", d->conf->ifname, req.peer,
		    req.endpoint.af);
	i = 0;
	TAILQ_FOREACH(peer, &d->conf->peers, entry)
		if (i++ == req.peer)
			break;
	/*
	 * The engine has the peer's keepalive from us and asks for it or
	 * for none (while it holds the first handshake back).
	 */
	if (req.keepalive != 0 &&
	    req.keepalive != peer_keepalive(d->conf, peer))
		fatalx("IMSG_SET_ENDPOINT: %s peer #%u: keepalive %u, not 0 "
		    "or the configured %u", d->conf->ifname, req.peer,
		    req.keepalive, peer_keepalive(d->conf, peer));
	if ((req.flags & ~SET_ENDPOINT_ANEW) != 0 || req.pad != 0)
		fatalx("IMSG_SET_ENDPOINT: %s peer #%u: unknown flags 0x%x",
		    d->conf->ifname, req.peer, req.flags);
	if (parent_set_limited(d, req.peer, peer))
		return;
	imsg_addr_ntop_ifname(&req.endpoint, buf, sizeof(buf));
	if (parent_set_ignored(d, peer, &req.endpoint, buf))
		return;
	log_debug("%s: peer %s: endpoint %s", d->conf->ifname, peer->name,
	    buf);
	if (device_set_endpoint(d, req.peer, peer, &req.endpoint,
	    req.keepalive, req.flags & SET_ENDPOINT_ANEW) == -1) {
		log_warnx("%s: peer %s: could not set endpoint %s",
		    d->conf->ifname, peer->name, buf);
		return;
	}
	/*
	 * The device's view of the peer at once, changed or not: the
	 * engine starts a handshake when it sees the endpoint in place
	 * (before, its datagram would go the old way, or be lost with the
	 * peer that setting the endpoint may have made anew).
	 */
	device_poll(d, req.iface, parent_report, ps, &waiting);
	ps->fast_polls = WGMESHD_POLL_FAST_COUNT;
}

static void
parent_reload_line(const char *line, void *arg)
{
	struct parent		*ps = arg;
	struct ctl_result	 r;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	r.status = 1;
	strlcpy(r.text, line, sizeof(r.text));
	for (i = 0; i < ps->nreload_clients; i++)
		imsgev_compose(&ps->iev_engine, IMSG_CTL_RESULT,
		    ps->reload_clients[i], -1, &r, sizeof(r));
}

/*
 * A reload asked for by a control client (through the engine) or by
 * SIGHUP (client 0).  It waits for parent_reload_run(); a client asking
 * again while it waits is one request.  The engine has no more clients
 * than RELOAD_CLIENTS_MAX; should more ask, the rest are told to try
 * again, so that requests never queue up in the parent.
 */
static void
parent_reload_ask(uint32_t client)
{
	struct parent		*ps = &parent_state;
	struct ctl_result	 r;
	size_t			 i;
	int64_t			 now;

	if (client != 0) {
		for (i = 0; i < ps->nreload_clients; i++)
			if (ps->reload_clients[i] == client)
				break;
		if (i == RELOAD_CLIENTS_MAX) {
			now = parent_clock_ms();
			if (now - ps->reload_refused_logged >= 1000) {
				ps->reload_refused_logged = now;
				log_warnx("reload asked for by more clients "
				    "than the engine has (%d): too many "
				    "reloads waiting; refused",
				    RELOAD_CLIENTS_MAX);
			}
			memset(&r, 0, sizeof(r));
			r.status = 1;
			strlcpy(r.text, "too many reloads waiting; try again",
			    sizeof(r.text));
			imsgev_compose(&ps->iev_engine, IMSG_CTL_END, client,
			    -1, &r, sizeof(r));
			return;
		}
		if (i == ps->nreload_clients)
			ps->reload_clients[ps->nreload_clients++] = client;
	}
	ps->reload_wanted = 1;
	parent_reload_arm();
}

/* The time the waiting reload may run: see RELOAD_INTERVAL_MS. */
static void
parent_reload_arm(void)
{
	struct parent	*ps = &parent_state;
	struct timeval	 tv;
	int64_t		 wait;

	if (!ps->reload_wanted || evtimer_pending(ps->ev_reload, NULL))
		return;
	wait = ps->reload_at + RELOAD_INTERVAL_MS - parent_clock_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(ps->ev_reload, &tv);
}

/*
 * The waiting reload, unless the children have yet to take the last
 * configuration in full: then it is looked at again a while later.
 */
static void
parent_reload_run(int fd, short event, void *arg)
{
	struct parent	*ps = arg;
	int		 status;

	if (!ps->reload_wanted)
		return;
	ps->reload_at = parent_clock_ms();
	if (imsgbuf_queuelen(&ps->iev_engine.ibuf) > 0 ||
	    imsgbuf_queuelen(&ps->iev_storage.ibuf) > 0) {
		log_debug("reload: the last configuration is still on its "
		    "way to the children; waiting");
		parent_reload_arm();
		return;
	}
	ps->reload_wanted = 0;
	status = parent_reload();
	parent_reload_end(status);
}

/* The outcome, for every client that waited. */
static void
parent_reload_end(int status)
{
	struct parent		*ps = &parent_state;
	struct ctl_result	 r;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	r.status = status == 0 ? 0 : 1;
	for (i = 0; i < ps->nreload_clients; i++)
		imsgev_compose(&ps->iev_engine, IMSG_CTL_END,
		    ps->reload_clients[i], -1, &r, sizeof(r));
	ps->nreload_clients = 0;
}

/*
 * Reload: parse beside the running configuration; on any error keep the
 * running one and send the errors to the clients that asked (if any).
 */
static int
parent_reload(void)
{
	struct parent		*ps = &parent_state;
	struct wgmeshd_conf	*conf, *old;
	int			 status = 1;

	log_info("reloading %s", ps->conffile);
	log_capture(parent_reload_line, ps);
	conf = parse_config(ps->conffile);
	if (conf != NULL && conf_load_keys(conf, KEYS_CREATE) == -1) {
		conf_free(conf);
		conf = NULL;
	}
	if (conf == NULL) {
		log_warnx("reload failed; the running configuration is kept");
		goto done;
	}
	if (strcmp(conf->user, ps->conf->user) != 0 ||
	    strcmp(conf->state_dir, ps->conf->state_dir) != 0 ||
	    strcmp(conf->control_socket, ps->conf->control_socket) != 0)
		log_warnx("user, state-directory and control-socket take "
		    "effect at restart");
	if (!conf_relay_same(conf, ps->conf))
		log_warnx("relay-ports, relay-max-pairs, relay-rate, "
		    "relay-packet-rate and whether any interface offers "
		    "relaying take effect at restart");
	old = ps->conf;
	if (parent_devices_apply(conf, old) == -1)
		log_warnx("reload: some interfaces could not be configured");
	else
		status = 0;
	ps->conf = conf;
	conf_free(old);
	parent_send_conf(&ps->iev_engine);
	parent_send_gossip();
	parent_send_conf(&ps->iev_storage);
	if (status == 0)
		log_info("reloaded");
 done:
	log_capture(NULL, NULL);
	return (status == 0 ? 0 : -1);
}

static int64_t
parent_clock_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
parent_dispatch_engine(int fd, short event, void *arg)
{
	struct parent		*ps = arg;
	struct imsgev		*iev = &ps->iev_engine;
	struct imsg		 imsg;
	struct ctl_log_verbose	 lv;
	const char		*why;
	ssize_t			 n;
	int			 verbose;

	if (imsgev_io(iev, event) == -1) {
		log_warnx("the engine closed its pipe");
		children_ended(1);
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			if (errno == EBADF)
				fatalx("the engine passed a descriptor; it "
				    "has none to pass");
			fatal("imsg_get from the engine");
		}
		if (n == 0)
			break;
		/* imsg_get() refused a descriptor from the engine: none */
		if ((why = imsg_check(&imsg, PROC_ENGINE)) != NULL)
			fatalx("%s", why);
		switch (imsg.hdr.type) {
		case IMSG_SET_ENDPOINT:
			parent_set_endpoint(&imsg);
			break;
		case IMSG_CTL_RELOAD:
			/* the client's id, for the answer */
			if (imsg.hdr.peerid == 0)
				fatalx("IMSG_CTL_RELOAD for no client");
			parent_reload_ask(imsg.hdr.peerid);
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (imsg_get_verbose(&imsg, &verbose) == -1)
				fatalx("invalid IMSG_CTL_LOG_VERBOSE");
			log_setverbose(verbose);
			lv.level = verbose;
			imsgev_compose(&ps->iev_storage, IMSG_CTL_LOG_VERBOSE,
			    0, -1, &lv, sizeof(lv));
			if (ps->has_relay)
				imsgev_compose(&ps->iev_relay,
				    IMSG_CTL_LOG_VERBOSE, 0, -1, &lv,
				    sizeof(lv));
			break;
		default:
			fatalx("unexpected %s from the engine",
			    imsg_type_name(imsg.hdr.type));
		}
		imsg_free(&imsg);
	}
}

static void
parent_dispatch_storage(int fd, short event, void *arg)
{
	struct parent	*ps = arg;
	struct imsgev	*iev = &ps->iev_storage;
	struct imsg	 imsg;
	const char	*why;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1) {
		log_warnx("the storage process closed its pipe");
		children_ended(1);
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			if (errno == EBADF)
				fatalx("the storage process passed a "
				    "descriptor; it has none to pass");
			fatal("imsg_get from storage");
		}
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_STORAGE)) != NULL)
			fatalx("%s", why);
		/* storage has nothing to ask of the parent */
		fatalx("unexpected %s from storage",
		    imsg_type_name(imsg.hdr.type));
	}
}

/*
 * The relay process asks nothing of the parent: its pipe says it lives,
 * and carries the log level to it.
 */
static void
parent_dispatch_relay(int fd, short event, void *arg)
{
	struct parent	*ps = arg;
	struct imsgev	*iev = &ps->iev_relay;
	struct imsg	 imsg;
	const char	*why;
	ssize_t		 n;

	if (imsgev_io(iev, event) == -1) {
		log_warnx("the relay process closed its pipe");
		children_ended(1);
	}
	for (;;) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
			if (errno == EBADF)
				fatalx("the relay process passed a "
				    "descriptor; it has none to pass");
			fatal("imsg_get from the relay process");
		}
		if (n == 0)
			break;
		if ((why = imsg_check(&imsg, PROC_RELAY)) != NULL)
			fatalx("%s", why);
		fatalx("unexpected %s from the relay process",
		    imsg_type_name(imsg.hdr.type));
	}
}

static void
parent_signal(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s: stopping; the interfaces stay as they are",
		    strsignal(sig));
		parent_shutdown(0);
		break;
	case SIGHUP:
		parent_reload_ask(0);
		break;
	case SIGCHLD:
		children_ended(0);
		break;
	case SIGPIPE:
		break;
	}
}

/*
 * A child ended or closed its pipe.  The death of one soon ends the other
 * (their pipe breaks), so say how each one that has ended did, then stop.
 * "wait" gives a child whose pipe just closed a second to be reaped.
 */
static void
children_ended(int wait)
{
	struct parent	*ps = &parent_state;
	int		 tries, reported = 0;

	for (tries = 0; tries < (wait ? 50 : 1); tries++) {
		reported += child_ended(&ps->storage_pid, "storage process");
		reported += child_ended(&ps->engine_pid, "engine");
		reported += child_ended(&ps->relay_pid, "relay process");
		if (reported > 0)
			break;
		if (wait)
			usleep(20 * 1000);
	}
	if (reported == 0 && !wait)
		return;		/* not one of ours */
	/*
	 * The first to be reaped need not be the first that died: a child
	 * closes its files a moment before it can be reaped, so the other
	 * may notice, exit and be reaped first.  Give the rest a moment.
	 */
	for (tries = 0; tries < 25 && (ps->engine_pid > 0 ||
	    ps->storage_pid > 0 || ps->relay_pid > 0); tries++) {
		usleep(20 * 1000);
		child_ended(&ps->storage_pid, "storage process");
		child_ended(&ps->engine_pid, "engine");
		child_ended(&ps->relay_pid, "relay process");
	}
	parent_shutdown(1);
}

/* Whether a child has ended; if so, how. */
static int
child_ended(pid_t *pid, const char *name)
{
	int	status;

	if (*pid <= 0 || waitpid(*pid, &status, WNOHANG) <= 0)
		return (0);
	*pid = 0;
	if (WIFSIGNALED(status))
		log_warnx("the %s was killed by signal %d (%s)", name,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		log_warnx("the %s exited with status %d", name,
		    WEXITSTATUS(status));
	return (1);
}

/*
 * Stops the children and exits.  The WireGuard interfaces and their
 * peers stay as they are, so traffic goes on while the daemon restarts.
 */
static void
parent_shutdown(int status)
{
	struct parent	*ps = &parent_state;
	pid_t		 pids[3] = { ps->engine_pid, ps->storage_pid,
			    ps->relay_pid };
	/* the engine may be deleting UPnP mappings: UPNP_SHUTDOWN_MS */
	int		 patience[3] = { (UPNP_SHUTDOWN_MS + 1000) / 20, 50,
			    50 };
	int		 i, tries, wstatus;

	imsgbuf_clear(&ps->iev_engine.ibuf);
	imsgbuf_clear(&ps->iev_storage.ibuf);
	close(ps->iev_engine.ibuf.fd);
	close(ps->iev_storage.ibuf.fd);
	if (ps->has_relay) {
		imsgbuf_clear(&ps->iev_relay.ibuf);
		close(ps->iev_relay.ibuf.fd);
	}
	for (i = 0; i < 3; i++) {
		if (pids[i] <= 0)
			continue;
		/* a closed pipe ends a child; give it a moment, then kill */
		for (tries = 0; tries < patience[i]; tries++) {
			if (waitpid(pids[i], &wstatus, WNOHANG) != 0)
				break;
			usleep(20 * 1000);
		}
		if (tries == patience[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &wstatus, 0);
		}
	}
	if (ps->control_path[0] != '\0')
		unlink(ps->control_path);
	log_info("exiting");
	exit(status);
}
