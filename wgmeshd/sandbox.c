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
 * Privilege drop and system call filters for the unprivileged
 * processes.  Each child, after opening what it needs, calls privdrop()
 * (engine) or privdrop_statedir() (storage) and then sandbox_engine() or
 * sandbox_storage(); the engine's UPnP worker (upnp.c) calls privdrop()
 * and sandbox_upnp().  The filters are allow-lists: anything not listed
 * kills the process, or, built with -DSANDBOX_DEBUG, traps into a handler
 * that names the call on stderr and exits 1.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "wgmeshd.h"

#ifndef nitems
#define nitems(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define ENGINE_NOFILE		1024	/* sockets, control clients, DNS */
#define STORAGE_NOFILE		128	/* pipes, one file and its directory */
#define RELAY_NOFILE		0	/* it opens nothing once dropped */

#ifdef SANDBOX_DEBUG
#define SANDBOX_ACTION		SCMP_ACT_TRAP
#else
#define SANDBOX_ACTION		SCMP_ACT_KILL_PROCESS
#endif

/* int arguments: the kernel looks at the low 32 bits only, so do we */
#define SB_LOW32		0xffffffffULL
#define SB_EQ32(n, v)		{ (n), SCMP_CMP_MASKED_EQ, SB_LOW32, \
				    (uint32_t)(v) }
/* (argument & bits) == 0: none of the bits set */
#define SB_NONE(n, bits)	{ (n), SCMP_CMP_MASKED_EQ, (bits), 0 }

#define SB_ALLOW(sys)		{ #sys, SCMP_SYS(sys), SCMP_ACT_ALLOW, 0, \
				    { { 0 } } }
#define SB_ALLOW_ARG(sys, n, v)	{ #sys, SCMP_SYS(sys), SCMP_ACT_ALLOW, 1, \
				    { SB_EQ32(n, v) } }
#define SB_ALLOW_NONE(sys, n, bits) { #sys, SCMP_SYS(sys), SCMP_ACT_ALLOW, 1, \
				    { SB_NONE(n, bits) } }
#define SB_DENY_ARG(sys, err, n, v) { #sys, SCMP_SYS(sys), \
				    SCMP_ACT_ERRNO(err), 1, { SB_EQ32(n, v) } }

struct sandbox_rule {
	const char		*name;
	int			 nr;
	uint32_t		 action;
	unsigned int		 argc;
	struct scmp_arg_cmp	 arg[1];
};

/* socket(2)'s type and protocol, and setsockopt(2)'s level and name */
struct sandbox_socket {
	int	 type;
	int	 proto;
};
struct sandbox_sockopt {
	int	 level;
	int	 name;
};

static scmp_filter_ctx	 sandbox_new(const char *);
static void		 sandbox_add(scmp_filter_ctx,
			    const struct sandbox_rule *, size_t);
static void		 sandbox_add_rule(scmp_filter_ctx, const char *,
			    uint32_t, int, unsigned int,
			    const struct scmp_arg_cmp *);
static void		 sandbox_add_abort(scmp_filter_ctx);
static void		 sandbox_add_sockets(scmp_filter_ctx, const int *,
			    size_t, const struct sandbox_socket *, size_t,
			    const struct sandbox_sockopt *, size_t);
static void		 sandbox_load(scmp_filter_ctx);
static void		 privdrop_common(const char *, const char *, int,
			    rlim_t);
static void		 privdrop_dir_fd(int, const char *, uid_t);
static void		 privdrop_rlimit(int, const char *, rlim_t);
#ifdef SANDBOX_DEBUG
static void		 sandbox_debug_init(const char *);
static void		 sandbox_sigsys(int, siginfo_t *, void *);
static size_t		 sandbox_cat(char *, size_t, size_t, const char *);
#endif

/* What glibc, libevent and libsodium need in any unprivileged child. */
static const struct sandbox_rule common_rules[] = {
	SB_ALLOW(read),
	SB_ALLOW(readv),
	SB_ALLOW(write),
	SB_ALLOW(writev),
	SB_ALLOW(close),
	SB_ALLOW(recvmsg),		/* imsg, with SCM_RIGHTS */
	SB_ALLOW(sendmsg),
	SB_ALLOW(recvfrom),
	SB_ALLOW(sendto),		/* also syslog(3) */
	SB_ALLOW(exit),
	SB_ALLOW(exit_group),
	SB_ALLOW(restart_syscall),

	/* memory; nothing may become executable */
	SB_ALLOW(brk),
	SB_ALLOW_NONE(mmap, 2, PROT_EXEC),
	SB_ALLOW_NONE(mprotect, 2, PROT_EXEC),
	SB_ALLOW(munmap),
	SB_ALLOW(mremap),
	SB_ALLOW(madvise),
	SB_ALLOW(mlock),		/* sodium_malloc() */
	SB_ALLOW(munlock),

	/* event loop: libevent's epoll backend and its helpers */
	SB_ALLOW(epoll_create1),
	SB_ALLOW(epoll_ctl),
	SB_ALLOW(epoll_wait),
	SB_ALLOW(epoll_pwait),
	SB_ALLOW(poll),
	SB_ALLOW(ppoll),
	SB_ALLOW(select),		/* miniupnpc's connect() on EINTR */
	SB_ALLOW(pselect6),
	SB_ALLOW(pipe2),		/* signal events */
	SB_ALLOW(eventfd2),
	SB_ALLOW(timerfd_create),	/* EVENT_BASE_FLAG_PRECISE_TIMER */
	SB_ALLOW(timerfd_settime),

	/* signals and time */
	SB_ALLOW(rt_sigaction),
	SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(rt_sigreturn),
	SB_ALLOW(clock_gettime),	/* the vDSO's fallbacks */
	SB_ALLOW(clock_getres),
	SB_ALLOW(gettimeofday),
	SB_ALLOW(time),
	SB_ALLOW(clock_nanosleep),
	SB_ALLOW(nanosleep),
	SB_ALLOW(sched_yield),
	SB_ALLOW(futex),

	/* identity; libevent checks getuid() == geteuid() for getenv() */
	SB_ALLOW(getpid),
	SB_ALLOW(gettid),
	SB_ALLOW(getuid),
	SB_ALLOW(geteuid),
	SB_ALLOW(getgid),
	SB_ALLOW(getegid),
	SB_ALLOW(getrandom),		/* libsodium, arc4random(3) */
	SB_ALLOW(sysinfo),		/* qsort(3) sizes its buffer */

	/* fstat(3) is newfstatat(fd, "", st, AT_EMPTY_PATH); stdio calls it */
	SB_ALLOW(fstat),
	SB_ALLOW_ARG(newfstatat, 3, AT_EMPTY_PATH),

	SB_ALLOW_ARG(fcntl, 1, F_GETFL),
	SB_ALLOW_ARG(fcntl, 1, F_SETFL),
	SB_ALLOW_ARG(fcntl, 1, F_GETFD),
	SB_ALLOW_ARG(fcntl, 1, F_SETFD),
	SB_ALLOW_ARG(fcntl, 1, F_DUPFD_CLOEXEC),
	SB_ALLOW_ARG(ioctl, 1, FIONREAD),	/* libevent, miniupnpc */
	SB_ALLOW_ARG(ioctl, 1, FIONBIO),

	/*
	 * Refused with an error, because libc asks on its own and copes:
	 * stdio's isatty() when it first buffers a stream; syslog(3)
	 * reconnecting to /dev/log and miniupnpc looking for minissdpd,
	 * both of which would find nothing in the chroot (and abstract
	 * AF_UNIX names are not confined by it).
	 */
	SB_DENY_ARG(ioctl, ENOTTY, 1, TCGETS),
	SB_DENY_ARG(socket, EACCES, 0, AF_UNIX),
};

/*
 * The engine: UDP over IPv4 and IPv6, mostly on sockets the parent made,
 * and the control socket's clients.  No TCP and no connect(2): what it
 * cannot reach is a service on this host or a cloud's metadata address
 * over TCP.  sendto(2)'s address is behind a pointer the filter cannot
 * read, so UDP goes anywhere.
 */
static const struct sandbox_rule engine_rules[] = {
	SB_ALLOW(bind),
	SB_ALLOW(accept4),		/* the parent calls listen() */
	SB_ALLOW(shutdown),
	SB_ALLOW(getsockname),
	SB_ALLOW(getpeername),
	SB_ALLOW(getsockopt),		/* SO_PEERCRED */
};

static const int engine_domains[] = { AF_INET, AF_INET6 };
static const struct sandbox_socket engine_kinds[] = {
	{ SOCK_DGRAM,	0 },
	{ SOCK_DGRAM,	IPPROTO_UDP },
};

/*
 * The UPnP worker process, traced: a UDP socket for SSDP (SO_REUSEADDR,
 * IP_MULTICAST_TTL, bind, sendto to 239.255.255.250, recvfrom) and a
 * non-blocking TCP connection per HTTP request (SO_RCVTIMEO,
 * SO_SNDTIMEO, connect, poll, SO_ERROR, getsockname for our LAN
 * address), over IPv4 alone: gateways are IPv4 literals (upnp.c).  PCP
 * and NAT-PMP: a connected UDP socket to the gateway's port 5351 (send,
 * recv with MSG_PEEK, getsockname), and the default gateway read with
 * pread(2) from /proc/net/route, opened before the chroot as
 * UPNP_ROUTE_FD: no other descriptor may be read at an offset.
 */
static const struct sandbox_rule upnp_rules[] = {
	SB_ALLOW(bind),
	SB_ALLOW(connect),
	SB_ALLOW(shutdown),
	SB_ALLOW(getsockname),
	SB_ALLOW(getpeername),
	SB_ALLOW(getsockopt),		/* SO_ERROR */
	/*
	 * miniupnpc calls perror(3) when a sendto fails (no route to the
	 * SSDP group); glibc's perror dups stderr when nothing has written
	 * to it yet, and writes to it as it is when that fails.
	 */
	SB_DENY_ARG(dup, EBADF, 0, STDERR_FILENO),
	SB_ALLOW_ARG(pread64, 0, UPNP_ROUTE_FD),
};

static const int upnp_domains[] = { AF_INET };
static const struct sandbox_socket upnp_kinds[] = {
	{ SOCK_DGRAM,	0 },
	{ SOCK_DGRAM,	IPPROTO_UDP },
	{ SOCK_STREAM,	0 },
	{ SOCK_STREAM,	IPPROTO_TCP },
};
static const struct sandbox_sockopt upnp_sockopts[] = {
	{ SOL_SOCKET,	SO_REUSEADDR },
	{ SOL_SOCKET,	SO_RCVTIMEO },		/* miniupnpc's HTTP, 3 s */
	{ SOL_SOCKET,	SO_SNDTIMEO },
	{ IPPROTO_IP,	IP_MULTICAST_TTL },
	{ IPPROTO_IP,	IP_MULTICAST_IF },
};

/*
 * Flags a file in the state directory may be opened with: plain reads,
 * writes and creation; no O_PATH, no O_TMPFILE.
 */
#define STORAGE_OPEN_FLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | \
				    O_APPEND | O_NOCTTY | O_NONBLOCK | \
				    O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)

/* The storage process: files in its chroot, nothing on the network. */
static const struct sandbox_rule storage_rules[] = {
	SB_ALLOW_NONE(openat, 2, SB_LOW32 & ~(uint64_t)STORAGE_OPEN_FLAGS),
	SB_ALLOW(lseek),
	SB_ALLOW(fsync),
	SB_ALLOW(fdatasync),
	SB_ALLOW(rename),
	SB_ALLOW(renameat),
	SB_ALLOW(renameat2),
	SB_ALLOW(unlink),
	SB_ALLOW(unlinkat),
	SB_ALLOW(newfstatat),		/* stat(2) by name, in the chroot */
	SB_ALLOW(statx),
};

/*
 * The relay process: the narrowest.  Its sockets are bound and its event
 * loop made before it drops; it receives and sends on them, reads and
 * writes its two pipes, and looks at the clock.  No socket(2) (one
 * exception: syslog(3)'s AF_UNIX reconnection is refused with an error,
 * as for the others, so that a restarted syslog daemon does not kill
 * it), no bind(2), no connect(2), no open(2), no fcntl(2), no ioctl(2)
 * but the terminal question stdio asks.  What its sockets may send to
 * the filter cannot see (an address behind a pointer): relay_wire.c
 * decides that.
 */
static const struct sandbox_rule relay_rules[] = {
	SB_ALLOW(read),
	SB_ALLOW(write),
	SB_ALLOW(writev),		/* stderr, with -d */
	SB_ALLOW(close),		/* imsg_free() of no descriptor */
	SB_ALLOW(recvmsg),		/* the pipes */
	SB_ALLOW(sendmsg),
	SB_ALLOW(recvmmsg),		/* the relay ports */
	SB_ALLOW(sendmmsg),
	SB_ALLOW(recvfrom),
	SB_ALLOW(sendto),		/* syslog(3) */
	SB_ALLOW(exit),
	SB_ALLOW(exit_group),
	SB_ALLOW(restart_syscall),

	SB_ALLOW(brk),
	SB_ALLOW_NONE(mmap, 2, PROT_EXEC),
	SB_ALLOW_NONE(mprotect, 2, PROT_EXEC),
	SB_ALLOW(munmap),
	SB_ALLOW(mremap),
	SB_ALLOW(madvise),

	SB_ALLOW(epoll_ctl),
	SB_ALLOW(epoll_wait),
	SB_ALLOW(epoll_pwait),

	SB_ALLOW(rt_sigprocmask),	/* syslog(3) blocks signals */
	SB_ALLOW(rt_sigreturn),
	SB_ALLOW(clock_gettime),
	SB_ALLOW(gettimeofday),
	SB_ALLOW(futex),
	SB_ALLOW(getpid),

	SB_ALLOW(fstat),
	SB_ALLOW_ARG(newfstatat, 3, AT_EMPTY_PATH),
	SB_DENY_ARG(ioctl, ENOTTY, 1, TCGETS),
	SB_DENY_ARG(socket, EACCES, 0, AF_UNIX),
};

/* The socket options the engine sets: gossip, LAN beacons. */
static const struct sandbox_sockopt engine_sockopts[] = {
	{ SOL_SOCKET,	SO_REUSEADDR },
	{ SOL_SOCKET,	SO_BROADCAST },
	{ SOL_SOCKET,	SO_RCVBUF },
	{ SOL_SOCKET,	SO_SNDBUF },
	{ IPPROTO_IP,	IP_MULTICAST_IF },
	{ IPPROTO_IP,	IP_ADD_MEMBERSHIP },
	{ IPPROTO_IPV6,	IPV6_V6ONLY },
	{ IPPROTO_IPV6,	IPV6_JOIN_GROUP },
	{ IPPROTO_IPV6,	IPV6_MULTICAST_IF },
	{ IPPROTO_IPV6,	IPV6_MULTICAST_HOPS },
};

/*
 * The engine: runs as the unprivileged user in an empty root-owned
 * directory (/var/empty), with RLIMIT_NOFILE ENGINE_NOFILE.
 */
void
privdrop(const char *user, const char *rootdir)
{
	privdrop_common(user, rootdir, 0, ENGINE_NOFILE);
}

/*
 * The storage process: chrooted in the state directory, which belongs to
 * the user (it writes there) or to root.
 */
void
privdrop_statedir(const char *user, const char *statedir)
{
	privdrop_common(user, statedir, 1, STORAGE_NOFILE);
}

/*
 * The relay process: an empty root-owned directory (/var/empty), and no
 * new descriptor at all.
 */
void
privdrop_relay(const char *user, const char *rootdir)
{
	privdrop_common(user, rootdir, 0, RELAY_NOFILE);
}

/*
 * Fatal unless path is a directory owned by root or uid_allowed (pass 0
 * for root only) that group and others cannot write to.  The parent can
 * call this at startup to report a bad directory before it forks.
 */
void
privdrop_check_dir(const char *path, uid_t uid_allowed)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("%s", path);
	privdrop_dir_fd(fd, path, uid_allowed);
	close(fd);
}

static void
privdrop_dir_fd(int fd, const char *path, uid_t uid_allowed)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		fatal("%s", path);
	if (S_ISDIR(st.st_mode) == 0)
		fatalx("%s: not a directory", path);
	if (st.st_uid != 0 && uid_allowed == 0)
		fatalx("%s: owned by uid %u, not root; fix with: chown root %s",
		    path, (unsigned int)st.st_uid, path);
	if (st.st_uid != 0 && st.st_uid != uid_allowed)
		fatalx("%s: owned by uid %u, not root or uid %u; fix with: "
		    "chown %u %s", path, (unsigned int)st.st_uid,
		    (unsigned int)uid_allowed, (unsigned int)uid_allowed, path);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatalx("%s: writable by group or others (mode %04o); fix "
		    "with: chmod go-w %s", path,
		    (unsigned int)(st.st_mode & 07777), path);
}

static void
privdrop_common(const char *user, const char *rootdir, int user_owned,
    rlim_t nofile)
{
	struct passwd	*pw;
	uid_t		 uid, ruid, euid, suid;
	gid_t		 gid, rgid, egid, sgid, groups[2];
	int		 fd;

	if (geteuid() != 0)
		fatalx("privilege drop: need root privileges");

	/* the password database is not in the chroot */
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0 && errno != ENOENT && errno != ESRCH)
			fatal("getpwnam %s", user);
		fatalx("user %s does not exist; create it with: useradd -r "
		    "-d /var/empty -s /usr/sbin/nologin %s", user, user);
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	endpwent();
	if (uid == 0)
		fatalx("user %s has uid 0; the children must not run as root",
		    user);

	/* check the directory we chroot into, not one a path may lead to */
	if ((fd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("%s", rootdir);
	privdrop_dir_fd(fd, rootdir, user_owned ? uid : 0);
	if (fchdir(fd) == -1)
		fatal("fchdir %s", rootdir);
	close(fd);
	if (chroot(".") == -1)
		fatal("chroot %s", rootdir);
	if (chdir("/") == -1)
		fatal("chdir /");

	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned int)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid %u", (unsigned int)uid);

	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1)
		fatal("getresuid");
	if (ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid)
		fatalx("privilege drop to %s did not take", user);
	if (getgroups(2, groups) != 1 || groups[0] != gid)
		fatalx("privilege drop to %s left supplementary groups", user);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("privilege drop to %s: root can be regained", user);

	privdrop_rlimit(RLIMIT_CORE, "RLIMIT_CORE", 0);
	/*
	 * fork() fails once the user has RLIMIT_NPROC processes; engine and
	 * storage share the user, so 0 (or 1) forbids it to both while the
	 * running ones live on.  The filters forbid it too.
	 */
	privdrop_rlimit(RLIMIT_NPROC, "RLIMIT_NPROC", 0);
	privdrop_rlimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", nofile);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
}

/* Sets both limits to value, or to the hard limit if that is lower. */
static void
privdrop_rlimit(int resource, const char *name, rlim_t value)
{
	struct rlimit	 rl;

	if (getrlimit(resource, &rl) == -1)
		fatal("getrlimit %s", name);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < value)
		value = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) == -1)
		fatal("setrlimit %s", name);
}

/*
 * A child's name in its log lines and, as "wgmeshd-NAME", for ps, top and
 * systemctl status, which would show "exe" (the children are exec'd
 * through /proc/self/exe).
 */
void
sandbox_proc_name(const char *name)
{
	char	comm[16];		/* TASK_COMM_LEN */

	log_procinit(name);
	(void)snprintf(comm, sizeof(comm), "wgmeshd-%s", name);
	if (prctl(PR_SET_NAME, comm, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NAME");
}

void
sandbox_engine(void)
{
	scmp_filter_ctx	 ctx;

	ctx = sandbox_new("engine");
	sandbox_add(ctx, common_rules, nitems(common_rules));
	sandbox_add(ctx, engine_rules, nitems(engine_rules));
	sandbox_add_sockets(ctx, engine_domains, nitems(engine_domains),
	    engine_kinds, nitems(engine_kinds), engine_sockopts,
	    nitems(engine_sockopts));
	sandbox_add_abort(ctx);
	sandbox_load(ctx);
}

/*
 * The UPnP worker process (upnp.c), forked by the engine and dropped as
 * it is: miniupnpc's SSDP and HTTP over IPv4, nothing else.  It dies
 * with the engine: the parent-death signal is set here, after the
 * privilege drop that clears it, and if the engine has gone already
 * nobody would send it.
 */
void
sandbox_upnp(pid_t engine)
{
	scmp_filter_ctx	 ctx;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fatal("prctl PR_SET_PDEATHSIG");
	if (getppid() != engine)
		_exit(0);
	ctx = sandbox_new("upnp");
	sandbox_add(ctx, common_rules, nitems(common_rules));
	sandbox_add(ctx, upnp_rules, nitems(upnp_rules));
	sandbox_add_sockets(ctx, upnp_domains, nitems(upnp_domains),
	    upnp_kinds, nitems(upnp_kinds), upnp_sockopts,
	    nitems(upnp_sockopts));
	sandbox_add_abort(ctx);
	sandbox_load(ctx);
}

void
sandbox_storage(void)
{
	scmp_filter_ctx	 ctx;

	ctx = sandbox_new("storage");
	sandbox_add(ctx, common_rules, nitems(common_rules));
	sandbox_add(ctx, storage_rules, nitems(storage_rules));
	sandbox_add_abort(ctx);
	sandbox_load(ctx);
}

void
sandbox_relay(void)
{
	scmp_filter_ctx	 ctx;

	ctx = sandbox_new("relay");
	sandbox_add(ctx, relay_rules, nitems(relay_rules));
	sandbox_add_abort(ctx);
	sandbox_load(ctx);
}

static scmp_filter_ctx
sandbox_new(const char *procname)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	/* only the native architecture is added; others get BADARCH */
	if ((ctx = seccomp_init(SANDBOX_ACTION)) == NULL)
		fatalx("seccomp_init failed");
	/*
	 * libseccomp sends x32 system calls (nr >= 0x40000000) on x86_64
	 * down the bad-architecture path too; that kills the whole process,
	 * not only the thread.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SANDBOX_ACTION)) < 0)
		fatalx("seccomp_attr_set: %s", strerror(-rc));
	/*
	 * Every thread of the process gets the filter, no_new_privs with
	 * it, or the load fails: none may be left unfiltered (the engine
	 * has one thread today; libraries may start others).
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		fatalx("seccomp_attr_set TSYNC: %s", strerror(-rc));
#ifdef SANDBOX_DEBUG
	sandbox_debug_init(procname);
#endif
	return (ctx);
}

static void
sandbox_add(scmp_filter_ctx ctx, const struct sandbox_rule *rules, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		sandbox_add_rule(ctx, rules[i].name, rules[i].action,
		    rules[i].nr, rules[i].argc, rules[i].arg);
}

static void
sandbox_add_rule(scmp_filter_ctx ctx, const char *name, uint32_t action,
    int nr, unsigned int argc, const struct scmp_arg_cmp *arg)
{
	int	rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, argc, arg)) < 0)
		fatalx("seccomp rule for %s: %s", name, strerror(-rc));
}

/* abort(3) raises SIGABRT at itself; nothing else may be signalled. */
static void
sandbox_add_abort(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 arg[2] = {
		SB_EQ32(0, getpid()),
		SB_EQ32(2, SIGABRT),
	};

	sandbox_add_rule(ctx, "tgkill", SCMP_ACT_ALLOW, SCMP_SYS(tgkill),
	    2, arg);
}

/*
 * socket(2): the domains given, each with the kinds given (type and
 * protocol; never raw or ping sockets); SOCK_NONBLOCK and SOCK_CLOEXEC
 * may be or'ed in.  setsockopt(2): the level and name pairs given.
 */
static void
sandbox_add_sockets(scmp_filter_ctx ctx, const int *domains, size_t ndomains,
    const struct sandbox_socket *kinds, size_t nkinds,
    const struct sandbox_sockopt *opts, size_t nopts)
{
	struct scmp_arg_cmp	 arg[3];
	size_t			 d, k, i;

	for (d = 0; d < ndomains; d++) {
		for (k = 0; k < nkinds; k++) {
			arg[0] = (struct scmp_arg_cmp)SB_EQ32(0, domains[d]);
			arg[1] = (struct scmp_arg_cmp){ 1, SCMP_CMP_MASKED_EQ,
			    SB_LOW32 & ~(uint64_t)(SOCK_NONBLOCK |
			    SOCK_CLOEXEC), kinds[k].type };
			arg[2] = (struct scmp_arg_cmp)SB_EQ32(2,
			    kinds[k].proto);
			sandbox_add_rule(ctx, "socket", SCMP_ACT_ALLOW,
			    SCMP_SYS(socket), 3, arg);
		}
	}
	for (i = 0; i < nopts; i++) {
		arg[0] = (struct scmp_arg_cmp)SB_EQ32(1, opts[i].level);
		arg[1] = (struct scmp_arg_cmp)SB_EQ32(2, opts[i].name);
		sandbox_add_rule(ctx, "setsockopt", SCMP_ACT_ALLOW,
		    SCMP_SYS(setsockopt), 2, arg);
	}
}

static void
sandbox_load(scmp_filter_ctx ctx)
{
	int	rc;

	/* libseccomp sets PR_SET_NO_NEW_PRIVS too (SCMP_FLTATR_CTL_NNP) */
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
}

#ifdef SANDBOX_DEBUG
/*
 * The SIGSYS handler runs where the forbidden call was made, perhaps
 * inside malloc(), so it only copies strings made here beforehand and
 * calls write(2) and _exit(2), both allowed.
 */
#define SANDBOX_NAMES		512
static const char	*sandbox_names[SANDBOX_NAMES];
static char		 sandbox_prefix[80];

static void
sandbox_debug_init(const char *procname)
{
	struct sigaction	 sa;
	int			 nr;

	for (nr = 0; nr < SANDBOX_NAMES; nr++)
		if (sandbox_names[nr] == NULL)
			sandbox_names[nr] = seccomp_syscall_resolve_num_arch(
			    seccomp_arch_native(), nr);
	snprintf(sandbox_prefix, sizeof(sandbox_prefix),
	    "wgmeshd: %s: sandbox: forbidden system call ", procname);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sigaction SIGSYS");
	log_warnx("sandbox: debug build, forbidden system calls are trapped");
}

static size_t
sandbox_cat(char *buf, size_t size, size_t len, const char *s)
{
	while (*s != '\0' && len + 1 < size)
		buf[len++] = *s++;
	buf[len] = '\0';
	return (len);
}

static void
sandbox_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char		 line[160], num[16], *p;
	const char	*name = "unknown";
	unsigned int	 nr = (unsigned int)si->si_syscall;
	size_t		 len = 0;

	if (nr < SANDBOX_NAMES && sandbox_names[nr] != NULL)
		name = sandbox_names[nr];
	p = num + sizeof(num);
	*--p = '\0';
	do {
		*--p = '0' + nr % 10;
		nr /= 10;
	} while (nr != 0);

	len = sandbox_cat(line, sizeof(line), len, sandbox_prefix);
	len = sandbox_cat(line, sizeof(line), len, name);
	len = sandbox_cat(line, sizeof(line), len, " (");
	len = sandbox_cat(line, sizeof(line), len, p);
	len = sandbox_cat(line, sizeof(line), len, ")\n");
	/* nothing more to do if stderr is gone */
	if (write(STDERR_FILENO, line, len) == -1)
		_exit(1);
	_exit(1);
}
#endif /* SANDBOX_DEBUG */
