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
 * The privilege drop and the two system call filters, both ways: a child
 * under each filter does what its process does and exits 0, and a child
 * that then makes a forbidden call dies of SIGSYS (or, built with
 * -DSANDBOX_DEBUG, exits 1 naming the call).  Every case runs in a child
 * of its own; this process is never sandboxed.  The privilege drop tests
 * need root and are skipped without it.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <sodium.h>

#include "wgmeshd.h"
#include "fdpass.h"
#include "regress.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define CHILD_TIMEOUT	30000	/* ms before a hung child is killed */
#define NOUSER		"_wgmeshd_test_nouser"
#define CONTENT		"198.18.0.1:51820 1700000000\n"

struct child {
	int	 status;
	char	 out[4096];
};

struct forbidden {
	const char	*what;
	void		(*prepare)(void);
	void		(*call)(void);
	const char	*trap;		/* what the debug build prints; NULL:
					   it dies of SIGSYS too (glibc blocks
					   signals around the call) */
};

static char	 topdir[] = "/tmp/wgmeshd-test-sandbox.XXXXXX";
static char	 dir_empty[256], dir_state[256], dir_gw[256], dir_other[256];
static char	 file_plain[256];
static uid_t	 nobody_uid;
static gid_t	 nobody_gid;
static int	 is_root;
static pid_t	 test_pid;	/* this process, the children's parent */
static int	 prepared_fd = -1;
static int	 ev_timer_fired, ev_read_fired, ev_dns_query, ev_timed_out;
static void	(*forbidden_sandbox)(void);
static const struct forbidden *forbidden_case;
/* a thread made before the filter, as the engine's UPnP worker is */
static pthread_t thread_id;
static int	 thread_pipe[2] = { -1, -1 };
static int	 thread_ready[2] = { -1, -1 };

static void	 run_child(void (*)(void), struct child *);
static __dead void child_fail(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static int	 killed_by_sigsys(const struct child *);
static int	 exited(const struct child *, int);
static void	 setup_dirs(void);
static void	 cleanup(void);
static void	 mkdir_owned(const char *, mode_t, uid_t);
static void	 test_engine_allowed(void);
static void	 test_storage_allowed(void);
static void	 test_forbidden(const char *, void (*)(void),
		    const struct forbidden *, size_t);
static void	 test_privdrop(void);
static void	 child_engine(void);
static void	 child_storage(void);
static void	 child_privdrop(void);
static void	 child_privdrop_statedir(void);
static void	 child_nouser(void);
static void	 child_wgmeshd_user(void);
static void	 child_group_writable(void);
static void	 child_not_root_owned(void);
static void	 child_statedir_other(void);
static void	 child_not_a_dir(void);
static void	 child_check_dir_ok(void);
static void	 child_forbidden(void);
static void	 child_abort_engine(void);
static void	 child_abort_storage(void);
static void	 engine_udp(int, const char *);
static void	 engine_unix(int, int);
static void	 engine_libevent(void);
static void	 common_memory(void);
static void	 wait_readable(int);
static void	 cb_timer(evutil_socket_t, short, void *);
static void	 cb_read(evutil_socket_t, short, void *);
static void	 cb_dns_server(evutil_socket_t, short, void *);
static void	 cb_guard(evutil_socket_t, short, void *);
static void	 cb_resolved(int, char, int, int, void *, void *);
static void	 prepare_udp(void);
static void	 prepare_socketpair(void);
static void	 call_open_passwd(void);
static void	 call_open_path(void);
static void	 call_open_tmpfile(void);
static void	 call_execve(void);
static void	 call_socket_packet(void);
static void	 call_socket_netlink(void);
static void	 call_socket_raw(void);
static void	 call_socket_ping(void);
static void	 call_socket_udp(void);
static void	 call_mprotect_exec(void);
static void	 call_mmap_exec(void);
static void	 call_ptrace(void);
static void	 call_bindtodevice(void);
static void	 call_setsockopt_rcvbuf(void);
static void	 call_tcp_nodelay(void);
static void	 call_ioctl_ifconf(void);
static void	 call_fork(void);
static void	 call_sys_fork(void);
static void	 call_clone3(void);
static void	 call_x32(void);
static void	 call_kill(void);
static void	 call_tgkill(void);
static void	 call_listen(void);
static void	 thread_start(void *(*)(void *));
static void	 thread_go(void);
static void	 thread_wait(void);
static void	*thread_engine(void *);
static void	*thread_open(void *);
static void	*thread_nothing(void *);
static void	 prepare_thread_open(void);
static void	 call_thread_open(void);
static void	 call_pthread_create(void);
static void	 prepare_tcp(void);
static void	 prepare_listen(void);
static void	 call_accept(void);
static void	 call_so_broadcast(void);
static void	 sandbox_upnp_test(void);
static void	 child_upnp(void);
static void	 upnp_udp(void);
static void	 upnp_tcp(int);
static void	 upnp_pmp(void);
static void	 upnp_route(void);
static void	 prepare_file5(void);
static void	 call_pread_other(void);
static void	 call_open_route(void);
static void	 test_upnp_allowed(void);
static void	 test_relay_allowed(void);
static void	 child_relay(void);
static void	 relay_cb(evutil_socket_t, short, void *);
static void	 call_bind_udp(void);
static void	 call_socket_udp6(void);
static void	 call_open_empty(void);
static void	 call_socket_tcp(void);
static void	 call_socket_tcp6(void);
static void	 call_connect_loopback(void);
static void	 call_connect_metadata(void);

static const struct forbidden engine_forbidden[] = {
	{ "open /etc/passwd", NULL, call_open_passwd, "call openat (" },
	{ "execve /bin/true", NULL, call_execve, "call execve (" },
	{ "socket AF_PACKET", NULL, call_socket_packet, "call socket (" },
	{ "socket AF_NETLINK", NULL, call_socket_netlink, "call socket (" },
	{ "socket AF_INET SOCK_RAW", NULL, call_socket_raw, "call socket (" },
	{ "socket ICMP (ping)", NULL, call_socket_ping, "call socket (" },
	{ "mprotect PROT_EXEC", NULL, call_mprotect_exec, "call mprotect (" },
	{ "mmap PROT_EXEC", NULL, call_mmap_exec, "call mmap (" },
	{ "ptrace", NULL, call_ptrace, "call ptrace (" },
	{ "setsockopt SO_BINDTODEVICE", prepare_udp, call_bindtodevice,
	    "call setsockopt (" },
	{ "setsockopt TCP_NODELAY (miniupnpc does not use it)", prepare_udp,
	    call_tcp_nodelay, "call setsockopt (" },
	{ "ioctl SIOCGIFCONF", prepare_udp, call_ioctl_ifconf, "call ioctl (" },
	{ "listen", prepare_udp, call_listen, "call listen (" },
	{ "fork()", NULL, call_fork, "call clone (" },
	{ "fork(2)", NULL, call_sys_fork, "call fork (" },
	{ "clone3", NULL, call_clone3, "call clone3 (" },
	{ "x32 getpid", NULL, call_x32, "(1073741863)" },
	{ "kill parent", NULL, call_kill, "call kill (" },
	{ "tgkill SIGUSR1", NULL, call_tgkill, "call tgkill (" },
	{ "open /etc/passwd, in a thread made before the filter",
	    prepare_thread_open, call_thread_open, "call openat (" },
	{ "pthread_create", NULL, call_pthread_create, NULL },
	/* TCP is the UPnP worker process's alone */
	{ "socket AF_INET SOCK_STREAM", NULL, call_socket_tcp,
	    "call socket (" },
	{ "socket AF_INET6 SOCK_STREAM", NULL, call_socket_tcp6,
	    "call socket (" },
	{ "connect UDP to 127.0.0.1", prepare_udp, call_connect_loopback,
	    "call connect (" },
	{ "connect TCP to 169.254.169.254", prepare_tcp,
	    call_connect_metadata, "call connect (" },
};

static const struct forbidden upnp_forbidden[] = {
	{ "socket AF_INET6 (gateways are IPv4 literals)", NULL,
	    call_socket_tcp6, "call socket (" },
	{ "socket AF_NETLINK", NULL, call_socket_netlink, "call socket (" },
	{ "socket AF_INET SOCK_RAW", NULL, call_socket_raw, "call socket (" },
	{ "open /etc/passwd", NULL, call_open_passwd, "call openat (" },
	{ "execve /bin/true", NULL, call_execve, "call execve (" },
	{ "listen", prepare_udp, call_listen, "call listen (" },
	{ "accept4", prepare_listen, call_accept, "call accept4 (" },
	{ "setsockopt SO_BINDTODEVICE", prepare_udp, call_bindtodevice,
	    "call setsockopt (" },
	{ "setsockopt SO_BROADCAST", prepare_udp, call_so_broadcast,
	    "call setsockopt (" },
	{ "mprotect PROT_EXEC", NULL, call_mprotect_exec, "call mprotect (" },
	{ "ptrace", NULL, call_ptrace, "call ptrace (" },
	{ "fork()", NULL, call_fork, "call clone (" },
	{ "kill parent", NULL, call_kill, "call kill (" },
	/* the routing table is read on UPNP_ROUTE_FD alone */
	{ "pread of a descriptor other than the routing table's",
	    prepare_file5, call_pread_other, "call pread64 (" },
	{ "open /proc/net/route (opened before the filter)", NULL,
	    call_open_route, "call openat (" },
};

/* the relay: its sockets are made and bound before it drops */
static const struct forbidden relay_forbidden[] = {
	{ "socket AF_INET", NULL, call_socket_udp, "call socket (" },
	{ "socket AF_INET6", NULL, call_socket_udp6, "call socket (" },
	{ "socket AF_NETLINK", NULL, call_socket_netlink, "call socket (" },
	{ "bind", prepare_udp, call_bind_udp, "call bind (" },
	{ "connect UDP to 127.0.0.1", prepare_udp, call_connect_loopback,
	    "call connect (" },
	{ "open /etc/passwd", NULL, call_open_passwd, "call openat (" },
	{ "open in its root", NULL, call_open_empty, "call openat (" },
	{ "setsockopt SO_RCVBUF", prepare_udp, call_setsockopt_rcvbuf,
	    "call setsockopt (" },
	{ "ioctl SIOCGIFCONF", prepare_udp, call_ioctl_ifconf, "call ioctl (" },
	{ "execve /bin/true", NULL, call_execve, "call execve (" },
	{ "mprotect PROT_EXEC", NULL, call_mprotect_exec, "call mprotect (" },
	{ "ptrace", NULL, call_ptrace, "call ptrace (" },
	{ "fork()", NULL, call_fork, "call clone (" },
	{ "x32 getpid", NULL, call_x32, "(1073741863)" },
	{ "kill parent", NULL, call_kill, "call kill (" },
};

static const struct forbidden storage_forbidden[] = {
	{ "open O_PATH", NULL, call_open_path, "call openat (" },
	{ "open O_TMPFILE", NULL, call_open_tmpfile, "call openat (" },
	{ "execve /bin/true", NULL, call_execve, "call execve (" },
	{ "socket AF_INET", NULL, call_socket_udp, "call socket (" },
	{ "socket AF_NETLINK", NULL, call_socket_netlink, "call socket (" },
	{ "setsockopt SO_RCVBUF", prepare_socketpair, call_setsockopt_rcvbuf,
	    "call setsockopt (" },
	{ "ioctl SIOCGIFCONF", prepare_socketpair, call_ioctl_ifconf,
	    "call ioctl (" },
	{ "mprotect PROT_EXEC", NULL, call_mprotect_exec, "call mprotect (" },
	{ "ptrace", NULL, call_ptrace, "call ptrace (" },
	{ "fork()", NULL, call_fork, "call clone (" },
	{ "x32 getpid", NULL, call_x32, "(1073741863)" },
	{ "kill parent", NULL, call_kill, "call kill (" },
};

/*
 * Runs fn in a child with stdout and stderr on a pipe; the child exits 0
 * when fn returns.  Its output and wait status come back in c.
 */
static void
run_child(void (*fn)(void), struct child *c)
{
	struct pollfd	 pfd;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 fds[2];

	memset(c, 0, sizeof(*c));
	fflush(stdout);
	fflush(stderr);
	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe2");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) == -1 ||
		    dup2(fds[1], STDERR_FILENO) == -1)
			_exit(90);
		/* no core files from the SIGSYS deaths */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		fn();
		exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, CHILD_TIMEOUT) <= 0) {
			kill(pid, SIGKILL);
			snprintf(c->out + len, sizeof(c->out) - len,
			    "[timed out]\n");
			break;
		}
		n = read(fds[0], c->out + len, sizeof(c->out) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (len == sizeof(c->out) - 1)
			break;
	}
	close(fds[0]);
	if (waitpid(pid, &c->status, 0) == -1)
		fatal("waitpid");
}

static void
child_fail(const char *fmt, ...)
{
	char	 msg[256];
	int	 saved_errno = errno;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "%s (errno %d: %s)\n", msg, saved_errno,
	    strerror(saved_errno));
	_exit(2);
}

static int
killed_by_sigsys(const struct child *c)
{
	return (WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGSYS);
}

static int
exited(const struct child *c, int code)
{
	return (WIFEXITED(c->status) && WEXITSTATUS(c->status) == code);
}

static void
mkdir_owned(const char *path, mode_t mode, uid_t uid)
{
	if (mkdir(path, mode) == -1 || chmod(path, mode) == -1)
		fatal("%s", path);
	if (is_root && chown(path, uid, (gid_t)-1) == -1)
		fatal("chown %s", path);
}

/*
 * topdir/empty		root 0755, with a marker file: the engine's chroot
 * topdir/state		nobody 0700 (ours without root): the state directory
 * topdir/gw		root 0775: group-writable
 * topdir/other		daemon (uid 1) 0700: someone else's
 * topdir/file		a plain file
 */
static void
setup_dirs(void)
{
	char	 marker[300];
	int	 fd;

	if (mkdtemp(topdir) == NULL || chmod(topdir, 0755) == -1)
		fatal("mkdtemp");
	snprintf(dir_empty, sizeof(dir_empty), "%s/empty", topdir);
	snprintf(dir_state, sizeof(dir_state), "%s/state", topdir);
	snprintf(dir_gw, sizeof(dir_gw), "%s/gw", topdir);
	snprintf(dir_other, sizeof(dir_other), "%s/other", topdir);
	snprintf(file_plain, sizeof(file_plain), "%s/file", topdir);
	mkdir_owned(dir_empty, 0755, 0);
	mkdir_owned(dir_state, 0700, nobody_uid);
	mkdir_owned(dir_gw, 0775, 0);
	mkdir_owned(dir_other, 0700, 1);
	snprintf(marker, sizeof(marker), "%s/marker", dir_empty);
	if ((fd = open(marker, O_WRONLY | O_CREAT, 0644)) == -1)
		fatal("%s", marker);
	close(fd);
	if ((fd = open(file_plain, O_WRONLY | O_CREAT, 0644)) == -1)
		fatal("%s", file_plain);
	close(fd);
}

static void
cleanup(void)
{
	static const char *const files[] = {
		"empty/marker", "state/endpoints", "state/renamed", "file",
	};
	static const char *const dirs[] = {
		"empty", "state", "gw", "other",
	};
	char	 p[300];
	size_t	 i;

	for (i = 0; i < nitems(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", topdir, files[i]);
		unlink(p);
	}
	for (i = 0; i < nitems(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", topdir, dirs[i]);
		rmdir(p);
	}
	rmdir(topdir);
}

static void
wait_readable(int fd)
{
	struct pollfd	 pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1)
		child_fail("poll fd %d", fd);
}

/* What the engine does, under privdrop() and sandbox_engine(). */
static void
child_engine(void)
{
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	int			 sp[2], ctl_listen, ctl_client, tcp_listen;
	int			 fd;

	/* opened before the drop, as the engine's parent hands them over */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		child_fail("socketpair");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
	    "wgmeshd-test-sandbox-%d", (int)getpid());
	if ((ctl_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 ||
	    bind(ctl_listen, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(ctl_listen, 5) == -1)
		child_fail("control socket");
	if ((ctl_client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || connect(ctl_client, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		child_fail("control client");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((tcp_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 ||
	    bind(tcp_listen, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(tcp_listen, 5) == -1)
		child_fail("TCP listener");
	/* a thread made before the drop is filtered with the rest */
	thread_start(thread_engine);

	if (is_root)
		privdrop("nobody", dir_empty);
	sandbox_engine();

	common_memory();
	engine_udp(AF_INET, "127.0.0.1");
	engine_udp(AF_INET6, "::1");
	/* TCP in the UPnP worker thread alone (thread_engine()) */
	engine_unix(ctl_listen, ctl_client);
	thread_go();
	if (pthread_join(thread_id, NULL) != 0)
		child_fail("pthread_join");

	/* imsg carries descriptors: pass one across the socketpair */
	{
		struct msghdr	 msg;
		struct cmsghdr	*cmsg;
		struct iovec	 iov;
		union {
			struct cmsghdr	hdr;
			char		buf[CMSG_SPACE(sizeof(int))];
		}		 cmsgbuf;
		char		 byte = 'x';
		struct stat	 st;

		if (fdpass_send(sp[0], &byte, 1, &tcp_listen, 1) != 1)
			child_fail("sendmsg SCM_RIGHTS");
		byte = 0;
		memset(&msg, 0, sizeof(msg));
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		iov.iov_base = &byte;
		iov.iov_len = 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		if (recvmsg(sp[1], &msg, MSG_CMSG_CLOEXEC) != 1 || byte != 'x')
			child_fail("recvmsg SCM_RIGHTS");
		if ((cmsg = CMSG_FIRSTHDR(&msg)) == NULL ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			child_fail("no descriptor received");
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
		if (fstat(fd, &st) == -1 || S_ISSOCK(st.st_mode) == 0)
			child_fail("received descriptor");
		close(fd);
	}

	/* refused with an error, not killed */
	if (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		child_fail("socket AF_UNIX is not refused with EACCES");
	if (isatty(STDERR_FILENO) != 0)
		child_fail("isatty");

	engine_libevent();
	close(sp[0]);
	close(sp[1]);
}

static void
engine_udp(int af, const char *addr)
{
	struct sockaddr_storage	 ss;
	struct ip_mreq		 mreq;
	struct ipv6_mreq	 mreq6;
	struct in_addr		 any;
	socklen_t		 sslen;
	char			 buf[64];
	int			 s[2], i, on = 1, off = 0, ttl = 1, n;
	unsigned int		 ifindex = 0;

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &sin->sin_addr);
		sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		sslen = sizeof(*sin6);
	}
	for (i = 0; i < 2; i++) {
		if ((s[i] = socket(af, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, i == 0 ? 0 : IPPROTO_UDP)) == -1)
			child_fail("socket %s", addr);
		if (setsockopt(s[i], SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1 ||
		    setsockopt(s[i], SOL_SOCKET, SO_BROADCAST, &on,
		    sizeof(on)) == -1)
			child_fail("SO_REUSEADDR, SO_BROADCAST");
		n = 65536;
		if (setsockopt(s[i], SOL_SOCKET, SO_RCVBUF, &n,
		    sizeof(n)) == -1 ||
		    setsockopt(s[i], SOL_SOCKET, SO_SNDBUF, &n,
		    sizeof(n)) == -1)
			child_fail("SO_RCVBUF, SO_SNDBUF");
		if (af == AF_INET) {
			/* IP_MULTICAST_TTL was SSDP's: the UPnP worker's */
			any.s_addr = htonl(INADDR_ANY);
			if (setsockopt(s[i], IPPROTO_IP, IP_MULTICAST_IF,
			    &any, sizeof(any)) == -1)
				child_fail("IP_MULTICAST_IF");
			/* may fail without a multicast route; not killed */
			inet_pton(AF_INET, "239.255.255.250",
			    &mreq.imr_multiaddr);
			mreq.imr_interface.s_addr = htonl(INADDR_ANY);
			(void)setsockopt(s[i], IPPROTO_IP, IP_ADD_MEMBERSHIP,
			    &mreq, sizeof(mreq));
		} else {
			if (setsockopt(s[i], IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on)) == -1 ||
			    setsockopt(s[i], IPPROTO_IPV6, IPV6_MULTICAST_HOPS,
			    &ttl, sizeof(ttl)) == -1 ||
			    setsockopt(s[i], IPPROTO_IPV6, IPV6_MULTICAST_IF,
			    &ifindex, sizeof(ifindex)) == -1)
				child_fail("IPV6_V6ONLY, _MULTICAST_HOPS, _IF");
			inet_pton(AF_INET6, "ff02::c", &mreq6.ipv6mr_multiaddr);
			mreq6.ipv6mr_interface = 0;
			(void)setsockopt(s[i], IPPROTO_IPV6, IPV6_JOIN_GROUP,
			    &mreq6, sizeof(mreq6));
		}
		if (bind(s[i], (struct sockaddr *)&ss, sslen) == -1) {
			/* a host without IPv6 on lo: the calls above count */
			if (af == AF_INET6 && errno == EADDRNOTAVAIL) {
				close(s[0]);
				if (i == 1)
					close(s[1]);
				return;
			}
			child_fail("bind %s", addr);
		}
	}

	/* the descriptor calls libevent and miniupnpc make */
	if ((n = fcntl(s[0], F_GETFL)) == -1 ||
	    fcntl(s[0], F_SETFL, n | O_NONBLOCK) == -1 ||
	    (n = fcntl(s[0], F_GETFD)) == -1 ||
	    fcntl(s[0], F_SETFD, n | FD_CLOEXEC) == -1)
		child_fail("fcntl");
	if ((n = fcntl(s[0], F_DUPFD_CLOEXEC, 0)) == -1)
		child_fail("F_DUPFD_CLOEXEC");
	close(n);
	if (ioctl(s[1], FIONBIO, &off) == -1 || ioctl(s[1], FIONBIO, &on) == -1)
		child_fail("FIONBIO");

	sslen = sizeof(ss);
	if (getsockname(s[1], (struct sockaddr *)&ss, &sslen) == -1)
		child_fail("getsockname");
	if (sendto(s[0], "gossip", 6, 0, (struct sockaddr *)&ss, sslen) != 6)
		child_fail("sendto %s", addr);
	wait_readable(s[1]);
	if (ioctl(s[1], FIONREAD, &n) == -1 || n != 6)
		child_fail("FIONREAD");
	sslen = sizeof(ss);
	if (recvfrom(s[1], buf, sizeof(buf), 0, (struct sockaddr *)&ss,
	    &sslen) != 6 || memcmp(buf, "gossip", 6) != 0)
		child_fail("recvfrom %s", addr);
	close(s[0]);
	close(s[1]);
}

/* the control socket: the parent listens, the engine accepts */
static void
engine_unix(int ctl_listen, int ctl_client)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	char		 buf[8];
	int		 c;

	if ((c = accept4(ctl_listen, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		child_fail("accept4 control");
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.pid != getpid())
		child_fail("SO_PEERCRED");
	if (write(ctl_client, "peers", 5) != 5)
		child_fail("write control");
	wait_readable(c);
	if (read(c, buf, sizeof(buf)) != 5)
		child_fail("read control");
	close(c);
	close(ctl_client);
	close(ctl_listen);
}

/* what the children do with memory, randomness and time */
static void
common_memory(void)
{
	struct timespec	 ts = { 0, 1000000 };
	struct tm	 tm;
	unsigned char	 rnd[32];
	char		*p, *q, when[64];
	void		*secret;
	time_t		 now;

	if ((p = malloc(16 << 20)) == NULL)
		child_fail("malloc");
	memset(p, 1, 16 << 20);
	if ((q = realloc(p, 32 << 20)) == NULL)
		child_fail("realloc");
	q[(32 << 20) - 1] = 0;
	free(q);
	if ((p = malloc(100)) == NULL)
		child_fail("malloc small");
	free(p);

	randombytes_buf(rnd, sizeof(rnd));
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		child_fail("getrandom");
	evutil_secure_rng_get_bytes(rnd, sizeof(rnd));
	if ((secret = sodium_malloc(32)) == NULL)
		child_fail("sodium_malloc");
	randombytes_buf(secret, 32);
	if (sodium_mprotect_noaccess(secret) == -1 ||
	    sodium_mprotect_readwrite(secret) == -1)
		child_fail("sodium_mprotect");
	sodium_free(secret);

	/* localtime needs no file after tzset() (in log_init) */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    clock_gettime(CLOCK_REALTIME, &ts) == -1)
		child_fail("clock_gettime");
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%F %T %Z", &tm) == 0)
		child_fail("localtime_r");
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000;
	if (nanosleep(&ts, NULL) == -1)
		child_fail("nanosleep");
	(void)getpid();
	(void)getuid();

	/*
	 * syslog(3) with no socket open tries to connect to /dev/log:
	 * refused with EACCES, the message is dropped, nothing is killed.
	 */
	syslog(LOG_DEBUG, "wgmeshd sandbox test: not delivered");
}

static void
cb_timer(evutil_socket_t fd, short what, void *arg)
{
	ev_timer_fired = 1;
}

static void
cb_read(evutil_socket_t fd, short what, void *arg)
{
	char	 buf[16];

	if (read(fd, buf, sizeof(buf)) > 0)
		ev_read_fired = 1;
}

static void
cb_dns_server(evutil_socket_t fd, short what, void *arg)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	unsigned char		 buf[512];

	/* a DNS query: 12-byte header and the question */
	if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss,
	    &len) > 12)
		ev_dns_query = 1;
}

static void
cb_guard(evutil_socket_t fd, short what, void *arg)
{
	ev_timed_out = 1;
	event_base_loopbreak(arg);
}

static void
cb_resolved(int result, char type, int count, int ttl, void *addrs,
    void *arg)
{
}

/*
 * A libevent loop made under the filter: a timer, a read event on a
 * socketpair, a signal event, and an evdns query to a local "server".
 */
static void
engine_libevent(void)
{
	struct event_base	*base;
	struct evdns_base	*dns;
	struct event		*timer, *rd, *srv, *guard, *sig;
	struct sockaddr_in	 sin;
	struct timeval		 tv_short = { 0, 10000 }, tv_guard = { 5, 0 };
	socklen_t		 len = sizeof(sin);
	int			 sp[2], s;

	if ((base = event_base_new()) == NULL)
		child_fail("event_base_new");
	if (strcmp(event_base_get_method(base), "epoll") != 0)
		child_fail("libevent uses %s", event_base_get_method(base));
	/* a pipe made under the filter stands in for the imsg socket */
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) == -1)
		child_fail("pipe2");

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		child_fail("DNS server socket");
	if ((dns = evdns_base_new(base, 0)) == NULL)
		child_fail("evdns_base_new");
	if (evdns_base_nameserver_sockaddr_add(dns, (struct sockaddr *)&sin,
	    len, 0) != 0)
		child_fail("evdns_base_nameserver_sockaddr_add");

	timer = evtimer_new(base, cb_timer, NULL);
	rd = event_new(base, sp[0], EV_READ | EV_PERSIST, cb_read, NULL);
	srv = event_new(base, s, EV_READ | EV_PERSIST, cb_dns_server, NULL);
	guard = evtimer_new(base, cb_guard, base);
	sig = evsignal_new(base, SIGHUP, cb_timer, NULL);
	if (timer == NULL || rd == NULL || srv == NULL || guard == NULL ||
	    sig == NULL)
		child_fail("event_new");
	if (evtimer_add(timer, &tv_short) == -1 || event_add(rd, NULL) == -1 ||
	    event_add(srv, NULL) == -1 || evtimer_add(guard, &tv_guard) == -1 ||
	    evsignal_add(sig, NULL) == -1)
		child_fail("event_add");
	if (evdns_base_resolve_ipv4(dns, "wgmeshd.test", DNS_QUERY_NO_SEARCH,
	    cb_resolved, NULL) == NULL)
		child_fail("evdns_base_resolve_ipv4");
	if (write(sp[1], "imsg", 4) != 4)
		child_fail("write pipe");

	while (ev_timed_out == 0 &&
	    (ev_timer_fired == 0 || ev_read_fired == 0 || ev_dns_query == 0))
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			child_fail("event_base_loop");
	if (ev_timed_out)
		child_fail("event loop: timer %d, read %d, dns %d",
		    ev_timer_fired, ev_read_fired, ev_dns_query);

	evdns_base_free(dns, 1);
	event_free(timer);
	event_free(rd);
	event_free(srv);
	event_free(guard);
	event_free(sig);
	event_base_free(base);
	close(s);
	close(sp[0]);
	close(sp[1]);
}

/* What the storage process does, in its chroot under sandbox_storage(). */
static void
child_storage(void)
{
	struct event_base	*base;
	struct event		*timer, *rd, *guard;
	struct timeval		 tv_short = { 0, 10000 }, tv_guard = { 5, 0 };
	struct stat		 st;
	char			 line[128], tmpl[] = "endpoints.XXXXXX";
	FILE			*fp;
	int			 sp[2], fd, dfd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		child_fail("socketpair");
	if (is_root)
		privdrop_statedir("nobody", dir_state);
	else if (chdir(dir_state) == -1)
		child_fail("chdir %s", dir_state);
	sandbox_storage();

	common_memory();

	/* the atomic save: temporary file, fsync, rename, fsync the dir */
	if ((fd = open("endpoints.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) == -1)
		child_fail("open endpoints.tmp");
	if (write(fd, CONTENT, strlen(CONTENT)) != (ssize_t)strlen(CONTENT) ||
	    fsync(fd) == -1 || fstat(fd, &st) == -1 || close(fd) == -1)
		child_fail("write endpoints.tmp");
	if (rename("endpoints.tmp", "endpoints") == -1)
		child_fail("rename");
	if ((dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1)
		child_fail("fsync directory");

	/* mkstemp(3), *at() calls, unlink */
	if ((fd = mkstemp(tmpl)) == -1)
		child_fail("mkstemp");
	close(fd);
	if (renameat(dfd, tmpl, dfd, "renamed") == -1 ||
	    unlinkat(dfd, "renamed", 0) == -1)
		child_fail("renameat, unlinkat");
	if ((fd = openat(dfd, "gone", O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		child_fail("openat");
	close(fd);
	if (unlink("gone") == -1)
		child_fail("unlink");
	close(dfd);

	/* the load: stdio */
	if (stat("endpoints", &st) == -1 || st.st_size != strlen(CONTENT))
		child_fail("stat endpoints");
	if ((fp = fopen("endpoints", "re")) == NULL ||
	    fgets(line, sizeof(line), fp) == NULL ||
	    strcmp(line, CONTENT) != 0 || fclose(fp) == EOF)
		child_fail("read endpoints back");

	if (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		child_fail("socket AF_UNIX is not refused with EACCES");

	/* its event loop, with the imsg socketpair */
	if ((base = event_base_new()) == NULL)
		child_fail("event_base_new");
	timer = evtimer_new(base, cb_timer, NULL);
	rd = event_new(base, sp[0], EV_READ | EV_PERSIST, cb_read, NULL);
	guard = evtimer_new(base, cb_guard, base);
	if (timer == NULL || rd == NULL || guard == NULL ||
	    evtimer_add(timer, &tv_short) == -1 || event_add(rd, NULL) == -1 ||
	    evtimer_add(guard, &tv_guard) == -1)
		child_fail("event_add");
	if (write(sp[1], "save", 4) != 4)
		child_fail("write socketpair");
	while (ev_timed_out == 0 && (ev_timer_fired == 0 || ev_read_fired == 0))
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			child_fail("event_base_loop");
	if (ev_timed_out)
		child_fail("event loop: timer %d, read %d", ev_timer_fired,
		    ev_read_fired);
	event_free(timer);
	event_free(rd);
	event_free(guard);
	event_base_free(base);
}

static void
test_engine_allowed(void)
{
	struct child	 c;

	TEST("engine: what the engine does is allowed");
	run_child(child_engine, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);

	/* fortify and stack protector failures still die of SIGABRT */
	TEST("engine: abort() raises SIGABRT");
	run_child(child_abort_engine, &c);
	CHECK(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT,
	    "status %#x: %s", c.status, c.out);
}

static void
child_abort_engine(void)
{
	sandbox_engine();
	abort();
}

static void
child_abort_storage(void)
{
	sandbox_storage();
	abort();
}

static void
test_storage_allowed(void)
{
	struct child	 c;
	char		 p[300], line[128];
	FILE		*fp;

	TEST("storage: what the storage process does is allowed");
	run_child(child_storage, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);

	snprintf(p, sizeof(p), "%s/endpoints", dir_state);
	line[0] = '\0';
	if ((fp = fopen(p, "r")) != NULL) {
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		fclose(fp);
	}
	CHECK(strcmp(line, CONTENT) == 0, "%s: \"%s\"", p, line);

	TEST("storage: abort() raises SIGABRT");
	run_child(child_abort_storage, &c);
	CHECK(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT,
	    "status %#x: %s", c.status, c.out);
}

static void
child_forbidden(void)
{
	if (forbidden_case->prepare != NULL)
		forbidden_case->prepare();
	forbidden_sandbox();
	forbidden_case->call();
	/*
	 * write(2) and _exit(2) alone: dprintf(3) calls lseek(2), which
	 * the engine's filter kills for, and a call that was wrongly
	 * allowed would still end in SIGSYS.
	 */
	if (write(STDERR_FILENO, "not stopped\n", 12) == -1)
		_exit(4);
	_exit(3);
}

static void
test_forbidden(const char *procname, void (*sandbox)(void),
    const struct forbidden *cases, size_t n)
{
	struct child	 c;
	size_t		 i;

	for (i = 0; i < n; i++) {
		printf("test: %s: %s\n", procname, cases[i].what);
		forbidden_sandbox = sandbox;
		forbidden_case = &cases[i];
		run_child(child_forbidden, &c);
#ifdef SANDBOX_DEBUG
		if (cases[i].trap == NULL) {
			CHECK(killed_by_sigsys(&c), "%s: %s: status %#x: %s",
			    procname, cases[i].what, c.status, c.out);
			continue;
		}
		CHECK(killed_by_sigsys(&c) == 0 && exited(&c, 1) &&
		    strstr(c.out, cases[i].trap) != NULL,
		    "%s: %s: status %#x, wanted exit 1 and \"%s\": %s",
		    procname, cases[i].what, c.status, cases[i].trap, c.out);
#else
		CHECK(killed_by_sigsys(&c), "%s: %s: status %#x: %s",
		    procname, cases[i].what, c.status, c.out);
#endif
	}
}

/*
 * The relay's work: two dual-stack UDP sockets bound before the drop,
 * datagrams between them by recvmmsg(2) and sendmmsg(2) in a libevent
 * loop with a timer, imsg on a pipe, the clock, a log line.
 */
static int	 relay_fd[2];
static int	 relay_got;
static struct sockaddr_in6 relay_sin6;

static void
relay_timer(evutil_socket_t fd, short event, void *arg)
{
	ev_timer_fired = 1;
	event_base_loopbreak(arg);
}

static void
child_relay(void)
{
	struct sockaddr_in6	 sin6;
	struct event_base	*base;
	struct event		*ev, *timer;
	struct timeval		 tv = { 0, 50000 };
	struct imsgbuf		 ib[2];
	struct imsg		 imsg;
	struct mmsghdr		 mm[4];
	struct iovec		 iov[4];
	struct timespec		 ts;
	socklen_t		 len;
	uint32_t		 v = 42;
	char			 buf[4][64], *p, *q;
	int			 sp[2], i, off = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		child_fail("socketpair");
	for (i = 0; i < 2; i++) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		if ((relay_fd[i] = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1 ||
		    setsockopt(relay_fd[i], IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof(off)) == -1 ||
		    bind(relay_fd[i], (struct sockaddr *)&sin6,
		    sizeof(sin6)) == -1)
			child_fail("relay socket");
	}
	if ((base = event_base_new()) == NULL)
		child_fail("event_base_new");
	if ((ev = event_new(base, relay_fd[1], EV_READ | EV_PERSIST,
	    relay_cb, NULL)) == NULL || event_add(ev, NULL) == -1 ||
	    (timer = evtimer_new(base, relay_timer, base)) == NULL)
		child_fail("events");
	len = sizeof(relay_sin6);
	if (getsockname(relay_fd[1], (struct sockaddr *)&relay_sin6,
	    &len) == -1)
		child_fail("getsockname");
	if (is_root)
		privdrop_relay("nobody", dir_empty);
	sandbox_relay();

	/* malloc(3), large (mmap) and small; no random bytes, no sodium */
	if ((p = malloc(16 << 20)) == NULL)
		child_fail("malloc");
	memset(p, 1, 16 << 20);
	if ((q = realloc(p, 32 << 20)) == NULL)
		child_fail("realloc");
	free(q);
	if ((p = malloc(100)) == NULL)
		child_fail("malloc small");
	free(p);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		child_fail("clock_gettime");
	log_warnx("relay: a log line");
	imsgbuf_init(&ib[0], sp[0]);
	imsgbuf_init(&ib[1], sp[1]);
	if (imsg_compose(&ib[0], IMSG_RELAY_CLOSE, 0, 0, -1, &v,
	    sizeof(v)) == -1 || imsgbuf_write(&ib[0]) == -1 ||
	    imsgbuf_read(&ib[1]) <= 0 || imsg_get(&ib[1], &imsg) <= 0)
		child_fail("imsg");
	imsg_free(&imsg);

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 4; i++) {
		memset(buf[i], i, sizeof(buf[i]));
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &sin6;
		mm[i].msg_hdr.msg_namelen = sizeof(sin6);
	}
	/* to the port the other socket was given, found before the drop */
	memcpy(&sin6, &relay_sin6, sizeof(sin6));
	if (sendmmsg(relay_fd[0], mm, 4, 0) != 4)
		child_fail("sendmmsg");
	if (sendto(relay_fd[0], buf[0], 8, 0, (struct sockaddr *)&sin6,
	    sizeof(sin6)) != 8)
		child_fail("sendto");
	evtimer_add(timer, &tv);
	event_base_dispatch(base);
	if (relay_got != 5 || !ev_timer_fired)
		child_fail("relay: %d datagrams, timer %d", relay_got,
		    ev_timer_fired);
}

static void
relay_cb(evutil_socket_t fd, short event, void *arg)
{
	struct mmsghdr	 mm[8];
	struct iovec	 iov[8];
	char		 buf[8][128];
	int		 i, n;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 8; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	if ((n = recvmmsg(fd, mm, 8, 0, NULL)) > 0)
		relay_got += n;
	if (recvfrom(fd, buf[0], sizeof(buf[0]), 0, NULL, NULL) > 0)
		relay_got++;
}

static void
test_relay_allowed(void)
{
	struct child	 c;

	TEST("relay: what the relay process does is allowed");
	run_child(child_relay, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);
}

static void
call_bind_udp(void)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(prepared_fd, (struct sockaddr *)&sin, sizeof(sin));
}

static void
call_socket_udp6(void)
{
	socket(AF_INET6, SOCK_DGRAM, 0);
}

static void
call_open_empty(void)
{
	open(".", O_RDONLY | O_DIRECTORY);
}

static void
prepare_udp(void)
{
	if ((prepared_fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		child_fail("socket");
}

static void
prepare_socketpair(void)
{
	int	 sp[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == -1)
		child_fail("socketpair");
	prepared_fd = sp[0];
}

static void
call_open_passwd(void)
{
	open("/etc/passwd", O_RDONLY);
}

static void
call_open_path(void)
{
	open(".", O_PATH);
}

static void
call_open_tmpfile(void)
{
	open(".", O_TMPFILE | O_RDWR, 0600);
}

static void
call_execve(void)
{
	char	*argv[] = { "true", NULL };

	execve("/bin/true", argv, environ);
}

static void
call_socket_packet(void)
{
	socket(AF_PACKET, SOCK_RAW, htons(0x0003));	/* ETH_P_ALL */
}

static void
call_socket_netlink(void)
{
	socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
}

static void
call_socket_raw(void)
{
	socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
}

static void
call_socket_ping(void)
{
	socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
}

static void
call_socket_udp(void)
{
	socket(AF_INET, SOCK_DGRAM, 0);
}

static void
prepare_tcp(void)
{
	if ((prepared_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
	    0)) == -1)
		child_fail("socket");
}

static void
prepare_listen(void)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((prepared_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
	    0)) == -1 ||
	    bind(prepared_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(prepared_fd, 5) == -1)
		child_fail("listener");
}

static void
call_accept(void)
{
	accept4(prepared_fd, NULL, NULL, SOCK_NONBLOCK);
}

static void
call_so_broadcast(void)
{
	int	on = 1;

	setsockopt(prepared_fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof(on));
}

/* the engine is the UPnP worker's parent; here, the test is */
static void
sandbox_upnp_test(void)
{
	sandbox_upnp(getppid());
}

/*
 * What the UPnP worker does (miniupnpc, traced), under sandbox_upnp():
 * SSDP over UDP, HTTP over TCP, minissdpd's AF_UNIX socket refused; for
 * PCP and NAT-PMP (libnatpmp, traced) the routing table read again and
 * again on UPNP_ROUTE_FD, opened first as upnp.c does, and a connected
 * UDP socket with a peek at each answer's size.
 */
static void
child_upnp(void)
{
	struct sockaddr_in	 sin;
	int			 tcp_listen, rt;

	if ((rt = open("/proc/net/route", O_RDONLY | O_CLOEXEC)) == -1 ||
	    dup2(rt, UPNP_ROUTE_FD) == -1)
		child_fail("/proc/net/route");
	if (rt != UPNP_ROUTE_FD)
		close(rt);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((tcp_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 ||
	    bind(tcp_listen, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(tcp_listen, 5) == -1)
		child_fail("TCP listener");
	if (is_root)
		privdrop("nobody", dir_empty);
	sandbox_upnp(getppid());

	common_memory();
	upnp_udp();
	upnp_tcp(tcp_listen);
	upnp_route();
	upnp_pmp();
	if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		child_fail("socket AF_UNIX is not refused with EACCES");
	/*
	 * miniupnpc's perror(3) on a failed sendto (no route): glibc dups
	 * stderr first, when nothing has written to it yet; refused, it
	 * writes to stderr as it is.
	 */
	if (dup(STDERR_FILENO) != -1 || errno != EBADF)
		child_fail("dup of stderr is not refused with EBADF");
	errno = ENETUNREACH;
	perror("test_sandbox: the UPnP worker's perror");
}

/* SSDP: a UDP socket for multicast, an answer received */
static void
upnp_udp(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	char			 buf[16];
	int			 s, on = 1, ttl = 2;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(sin);
	if ((s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
	    sizeof(ttl)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		child_fail("SSDP socket");
	if (sendto(s, "M-SEARCH", 8, 0, (struct sockaddr *)&sin,
	    sizeof(sin)) != 8)
		child_fail("sendto");
	wait_readable(s);
	len = sizeof(sin);
	if (recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&sin,
	    &len) != 8)
		child_fail("recvfrom");
	close(s);
}

/* the default gateway: /proc/net/route read twice from its start */
static void
upnp_route(void)
{
	char	 a[64], b[64];

	if (pread(UPNP_ROUTE_FD, a, sizeof(a), 0) <= 5 ||
	    pread(UPNP_ROUTE_FD, b, sizeof(b), 0) <= 5 ||
	    memcmp(a, "Iface", 5) != 0 || memcmp(b, "Iface", 5) != 0)
		child_fail("pread /proc/net/route");
}

/*
 * PCP and NAT-PMP: a UDP socket connected to the gateway (here, one of
 * ours), made non-blocking as libnatpmp does; a request sent, the
 * answer's size peeked at, then read; our address towards it.
 */
static void
upnp_pmp(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	char			 buf[17];
	int			 gw, s, fl;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(sin);
	if ((gw = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(gw, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(gw, (struct sockaddr *)&sin, &len) == -1)
		child_fail("the gateway's socket");
	if ((s = socket(PF_INET, SOCK_DGRAM, 0)) == -1 ||
	    (fl = fcntl(s, F_GETFL, 0)) == -1 ||
	    fcntl(s, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		child_fail("libnatpmp's socket");
	len = sizeof(sin);
	if (getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		child_fail("getsockname: our LAN address");
	if (send(s, "\0\0", 2, 0) != 2)
		child_fail("send");
	wait_readable(gw);
	len = sizeof(sin);
	if (recvfrom(gw, buf, sizeof(buf), 0, (struct sockaddr *)&sin,
	    &len) != 2 || sendto(gw, "0123456789ab", 12, 0,
	    (struct sockaddr *)&sin, len) != 12)
		child_fail("the gateway's answer");
	wait_readable(s);
	if (recv(s, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) != 12 ||
	    recv(s, buf, sizeof(buf), MSG_DONTWAIT) != 12)
		child_fail("recv");
	close(s);
	close(gw);
}

static void
prepare_file5(void)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(fd, UPNP_ROUTE_FD + 1) == -1)
		child_fail("/dev/null");
	prepared_fd = UPNP_ROUTE_FD + 1;
}

static void
call_pread_other(void)
{
	char	c;

	if (pread(prepared_fd, &c, 1, 0) == -1)
		return;
}

static void
call_open_route(void)
{
	open("/proc/net/route", O_RDONLY);
}

/* HTTP: a non-blocking connect with timeouts, a request written */
static void
upnp_tcp(int tcp_listen)
{
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { 3, 0 };
	struct pollfd		 pfd;
	socklen_t		 sslen, len;
	int			 s, err;

	sslen = sizeof(ss);
	if (getsockname(tcp_listen, (struct sockaddr *)&ss, &sslen) == -1)
		child_fail("getsockname");
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		child_fail("socket SOCK_STREAM");
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		child_fail("SO_RCVTIMEO, SO_SNDTIMEO");
	if (connect(s, (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != EINPROGRESS)
		child_fail("connect");
	pfd.fd = s;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 5000) != 1)
		child_fail("poll connect");
	len = sizeof(err);
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0)
		child_fail("SO_ERROR %d", err);
	sslen = sizeof(ss);
	if (getsockname(s, (struct sockaddr *)&ss, &sslen) == -1)
		child_fail("getsockname: our LAN address");
	/* the listener's backlog takes it; nobody accepts here */
	if (write(s, "GET /", 5) != 5)
		child_fail("write");
	if (shutdown(s, SHUT_WR) == -1)
		child_fail("shutdown");
	close(s);
	close(tcp_listen);
}

static void
test_upnp_allowed(void)
{
	struct child	 c;

	TEST("upnp: what the UPnP worker does is allowed");
	run_child(child_upnp, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);
}

static void
call_socket_tcp(void)
{
	socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void
call_socket_tcp6(void)
{
	socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
}

static void
call_connect_loopback(void)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(prepared_fd, (struct sockaddr *)&sin, sizeof(sin));
}

static void
call_connect_metadata(void)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(80);
	inet_pton(AF_INET, "169.254.169.254", &sin.sin_addr);
	connect(prepared_fd, (struct sockaddr *)&sin, sizeof(sin));
}

static void
call_mprotect_exec(void)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		child_fail("mmap");
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static void
call_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
}

static void
call_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
call_bindtodevice(void)
{
	setsockopt(prepared_fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
}

static void
call_setsockopt_rcvbuf(void)
{
	int	 n = 65536;

	setsockopt(prepared_fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

static void
call_tcp_nodelay(void)
{
	int	 on = 1;

	setsockopt(prepared_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void
call_ioctl_ifconf(void)
{
	struct ifconf	 ifc;
	char		 buf[1024];

	ifc.ifc_len = sizeof(buf);
	ifc.ifc_buf = buf;
	ioctl(prepared_fd, SIOCGIFCONF, &ifc);
}

static void
call_listen(void)
{
	listen(prepared_fd, 5);
}

static void
call_fork(void)
{
	if (fork() == 0)
		_exit(0);
}

static void
call_sys_fork(void)
{
	if (syscall(SYS_fork) == 0)
		_exit(0);
}

static void
call_clone3(void)
{
	syscall(SYS_clone3, NULL, 0);
}

static void
call_x32(void)
{
	/* getpid through the x32 ABI: same audit arch, nr | 0x40000000 */
	syscall(0x40000000 | SYS_getpid);
}

static void
call_kill(void)
{
	/* getppid() is not allowed either; use the pid saved before */
	kill(test_pid, 0);
}

static void
call_tgkill(void)
{
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
}

/*
 * Starts fn in a thread that waits for thread_go() first.  It returns
 * once the thread runs: one still starting (set_robust_list, rseq) when
 * the filter comes would die of it, as upnp_init() knows.
 */
static void
thread_start(void *(*fn)(void *))
{
	char	c;
	int	rc;

	if (pipe2(thread_pipe, O_CLOEXEC) == -1 ||
	    pipe2(thread_ready, O_CLOEXEC) == -1)
		child_fail("pipe2");
	if ((rc = pthread_create(&thread_id, NULL, fn, NULL)) != 0) {
		errno = rc;
		child_fail("pthread_create");
	}
	if (read(thread_ready[0], &c, 1) != 1)
		child_fail("the thread did not start");
}

static void
thread_go(void)
{
	if (write(thread_pipe[1], "x", 1) != 1)
		child_fail("write to the thread");
}

static void
thread_wait(void)
{
	char	c;

	if (write(thread_ready[1], "r", 1) != 1)
		child_fail("thread: write");
	if (read(thread_pipe[0], &c, 1) != 1)
		child_fail("thread: read");
}

/* What the UPnP worker does: UDP (SSDP), TCP (HTTP) with timeouts. */
static void *
thread_engine(void *arg)
{
	thread_wait();
	engine_udp(AF_INET, "127.0.0.1");
	return (NULL);
}

static void *
thread_open(void *arg)
{
	thread_wait();
	open("/etc/passwd", O_RDONLY);
	return (NULL);
}

static void *
thread_nothing(void *arg)
{
	return (NULL);
}

static void
prepare_thread_open(void)
{
	thread_start(thread_open);
}

static void
call_thread_open(void)
{
	thread_go();
	pthread_join(thread_id, NULL);
}

static void
call_pthread_create(void)
{
	pthread_t	t;

	if (pthread_create(&t, NULL, thread_nothing, NULL) == 0)
		pthread_join(t, NULL);
}

static void
child_privdrop(void)
{
	struct rlimit	 rl;
	gid_t		 groups[4];
	char		 cwd[64];
	pid_t		 pid;

	privdrop("nobody", dir_empty);

	if (getuid() != nobody_uid || geteuid() != nobody_uid)
		child_fail("uid %u euid %u", getuid(), geteuid());
	if (getgid() != nobody_gid || getegid() != nobody_gid)
		child_fail("gid %u egid %u", getgid(), getegid());
	if (getgroups(4, groups) != 1 || groups[0] != nobody_gid)
		child_fail("supplementary groups");
	if (access("/marker", F_OK) == -1)
		child_fail("/marker: not in the chroot");
	if (access(topdir, F_OK) != -1)
		child_fail("%s is visible from the chroot", topdir);
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		child_fail("cwd is not /");
	if (setuid(0) != -1 || errno != EPERM || seteuid(0) != -1 ||
	    setgid(0) != -1)
		child_fail("root regained");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		child_fail("PR_GET_NO_NEW_PRIVS is not 1");
	if (getrlimit(RLIMIT_CORE, &rl) == -1 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		child_fail("RLIMIT_CORE");
	if (getrlimit(RLIMIT_NPROC, &rl) == -1 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		child_fail("RLIMIT_NPROC");
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > 1024 ||
	    rl.rlim_max > 1024)
		child_fail("RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_max);
	/* no seccomp here: RLIMIT_NPROC alone stops fork() */
	if ((pid = fork()) == 0)
		_exit(0);
	if (pid != -1 || errno != EAGAIN)
		child_fail("fork() after privdrop: %d", (int)pid);
}

static void
child_privdrop_statedir(void)
{
	struct rlimit	 rl;
	int		 fd;

	privdrop_statedir("nobody", dir_state);
	if (getuid() != nobody_uid || getgid() != nobody_gid)
		child_fail("uid %u gid %u", getuid(), getgid());
	if ((fd = open("/probe", O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    unlink("/probe") == -1)
		child_fail("state directory not writable");
	close(fd);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_max > 128)
		child_fail("RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_max);
}

static void
child_nouser(void)
{
	privdrop(NOUSER, dir_empty);
}

static void
child_wgmeshd_user(void)
{
	privdrop(WGMESHD_USER, dir_empty);
}

static void
child_group_writable(void)
{
	privdrop("nobody", dir_gw);
}

static void
child_not_root_owned(void)
{
	privdrop("nobody", dir_state);
}

static void
child_statedir_other(void)
{
	privdrop_statedir("nobody", dir_other);
}

static void
child_not_a_dir(void)
{
	privdrop("nobody", file_plain);
}

static void
child_check_dir_ok(void)
{
	privdrop_check_dir(dir_empty, 0);
	privdrop_check_dir(dir_state, nobody_uid);
}

static void
test_privdrop(void)
{
	struct child	 c;
	char		 want[512];

	if (is_root == 0) {
		printf("test: privdrop: skipped, not root\n");
		return;
	}

	TEST("privdrop: chroot, user, groups, rlimits, no_new_privs");
	run_child(child_privdrop, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);

	TEST("privdrop_statedir: the user's own state directory");
	run_child(child_privdrop_statedir, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);

	TEST("privdrop_check_dir: good directories pass");
	run_child(child_check_dir_ok, &c);
	CHECK(exited(&c, 0), "status %#x: %s", c.status, c.out);

	TEST("privdrop: a missing user says how to create it");
	run_child(child_nouser, &c);
	snprintf(want, sizeof(want), "user %s does not exist; create it "
	    "with: useradd -r -d /var/empty -s /usr/sbin/nologin %s\n",
	    NOUSER, NOUSER);
	CHECK(exited(&c, 1) && strstr(c.out, want) != NULL,
	    "status %#x: %s", c.status, c.out);

	if (getpwnam(WGMESHD_USER) == NULL) {
		TEST("privdrop: the default user, missing");
		run_child(child_wgmeshd_user, &c);
		CHECK(exited(&c, 1) && strstr(c.out, "user _wgmeshd does not "
		    "exist; create it with: useradd -r -d /var/empty -s "
		    "/usr/sbin/nologin _wgmeshd\n") != NULL,
		    "status %#x: %s", c.status, c.out);
	}

	TEST("privdrop: a group-writable directory");
	run_child(child_group_writable, &c);
	snprintf(want, sizeof(want), "%s: writable by group or others", dir_gw);
	CHECK(exited(&c, 1) && strstr(c.out, want) != NULL,
	    "status %#x: %s", c.status, c.out);

	TEST("privdrop: the engine's directory must be root's");
	run_child(child_not_root_owned, &c);
	snprintf(want, sizeof(want), "%s: owned by uid %u, not root", dir_state,
	    (unsigned int)nobody_uid);
	CHECK(exited(&c, 1) && strstr(c.out, want) != NULL,
	    "status %#x: %s", c.status, c.out);

	TEST("privdrop_statedir: not someone else's");
	run_child(child_statedir_other, &c);
	snprintf(want, sizeof(want), "%s: owned by uid 1, not root or uid %u",
	    dir_other, (unsigned int)nobody_uid);
	CHECK(exited(&c, 1) && strstr(c.out, want) != NULL,
	    "status %#x: %s", c.status, c.out);

	TEST("privdrop: not a directory");
	run_child(child_not_a_dir, &c);
	CHECK(exited(&c, 1) && strstr(c.out, file_plain) != NULL &&
	    strstr(c.out, "Not a directory") != NULL,
	    "status %#x: %s", c.status, c.out);
}

int
main(void)
{
	struct passwd	*pw;
	struct rlimit	 rl = { 0, 0 };

	log_init(1, LOG_DAEMON);
	if (sodium_init() == -1)
		fatalx("sodium_init");
	setrlimit(RLIMIT_CORE, &rl);
	is_root = geteuid() == 0;
	test_pid = getpid();
	if ((pw = getpwnam("nobody")) == NULL)
		fatalx("no user nobody");
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	setup_dirs();

	test_privdrop();
	test_engine_allowed();
	test_storage_allowed();
	test_forbidden("engine", sandbox_engine, engine_forbidden,
	    nitems(engine_forbidden));
	test_forbidden("storage", sandbox_storage, storage_forbidden,
	    nitems(storage_forbidden));
	test_upnp_allowed();
	test_forbidden("upnp", sandbox_upnp_test, upnp_forbidden,
	    nitems(upnp_forbidden));
	test_relay_allowed();
	test_forbidden("relay", sandbox_relay, relay_forbidden,
	    nitems(relay_forbidden));

	cleanup();
	return (regress_end());
}
