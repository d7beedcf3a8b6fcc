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
 * The storage process (wgmeshd/storage.c), run as the daemon runs it: a
 * child with its pipe to the parent at fd 3 and to the engine at fd 4,
 * chrooted in a state directory of its own under /tmp as "nobody", under
 * its seccomp filter.  This program plays the parent and the engine, and
 * looks at the files and at what the child logs (its standard error).
 * It needs root, for the chroot.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "wgmeshd.h"
#include "storage.h"
#include "regress.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define USER		"nobody"
#define NOW		((int64_t)time(NULL))
/* how long a reply, or the end of a child, may take */
#define REPLY_MS	3000
/* a changed state must be on disk by then */
#define WRITE_MS	((STORAGE_WRITE_SECONDS + 2) * 1000)

struct child {
	pid_t		 pid;
	struct imsgbuf	 parent;	/* our end of its fd 3 */
	struct imsgbuf	 engine;	/* our end of its fd 4 */
	char		 dir[256];	/* its state directory */
	char		 log[256];	/* its standard error */
};

static char	 topdir[] = "/tmp/wgmeshd-storage.XXXXXX";
static uid_t	 nobody_uid;
static gid_t	 nobody_gid;
static int	 ncases;

static int64_t	 now_ms(void);
static void	 make_entries(struct state_entry *, size_t, int);
static void	 child_start(struct child *, const char *);
static int	 child_wait(struct child *, int, int *);
static void	 child_close(struct imsgbuf *);
static void	 child_end(struct child *);
static void	 send_msg(struct imsgbuf *, uint32_t, const void *, size_t);
static void	 send_conf(struct child *, const char *const *, size_t);
static void	 send_load(struct child *, const char *);
static void	 send_entries(struct child *, const char *,
		    const struct state_entry *, size_t);
static void	 send_save(struct child *, const char *, size_t);
static int	 recv_msg(struct child *, int, struct imsg *);
static int	 recv_loaded(struct child *, const char *, struct state_entry *,
		    size_t, size_t *);
static char	*read_text(const char *, size_t *);
static void	 write_text(const char *, const char *, const char *);
static int	 file_has(const char *, const char *,
		    const struct state_entry *, size_t);
static int	 wait_file(const char *, const char *,
		    const struct state_entry *, size_t, int);
static int	 exists(const char *, const char *);
static int	 log_count(const struct child *, const char *);
static int	 wait_log(const struct child *, const char *, int);
static void	 log_print(const struct child *);
static void	 test_running(void);
static void	 test_malformed(void);

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* n entries of every origin and both families; "seed" tells sets apart */
static void
make_entries(struct state_entry *e, size_t n, int seed)
{
	size_t	 i;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++) {
		memset(e[i].public_key, seed * 16 + (int)i + 1, WG_KEY_LEN);
		if (i % 2 == 0) {
			e[i].endpoint.af = AF_INET;
			e[i].endpoint.addr[0] = 198;
			e[i].endpoint.addr[1] = 18;
			e[i].endpoint.addr[2] = (uint8_t)seed;
			e[i].endpoint.addr[3] = (uint8_t)(i + 1);
		} else {
			e[i].endpoint.af = AF_INET6;
			e[i].endpoint.addr[0] = 0xfd;
			e[i].endpoint.addr[14] = (uint8_t)seed;
			e[i].endpoint.addr[15] = (uint8_t)(i + 1);
		}
		e[i].endpoint.port = (uint16_t)(51820 + i);
		e[i].last_seen = NOW - 100 * (int64_t)i - seed;
		e[i].origin = ORIGIN_OBSERVED + (i + seed) % 5;
	}
}

/*
 * Forks a child that becomes the storage process in a new directory,
 * owned by nobody as the parent makes it (state_dir_prepare), holding
 * the files named in "files" (pairs of a name and a text, NULL-ended).
 */
static void
child_start(struct child *c, const char *files)
{
	const char	*name, *text;
	int		 sp[2], se[2], logfd, a, b, fd;

	memset(c, 0, sizeof(*c));
	ncases++;
	snprintf(c->dir, sizeof(c->dir), "%s/state%d", topdir, ncases);
	snprintf(c->log, sizeof(c->log), "%s/state%d.log", topdir, ncases);
	if (mkdir(c->dir, 0700) == -1 ||
	    chown(c->dir, nobody_uid, nobody_gid) == -1)
		fatal("%s", c->dir);
	/* "name\0text\0name\0text\0\0" */
	for (name = files; name != NULL && *name != '\0';
	    name = text + strlen(text) + 1) {
		text = name + strlen(name) + 1;
		write_text(c->dir, name, text);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, se) == -1)
		fatal("socketpair");
	if ((logfd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		fatal("%s", c->log);
	fflush(stdout);
	if ((c->pid = fork()) == -1)
		fatal("fork");
	if (c->pid == 0) {
		/* what start_child() leaves it: fds 0-4 and nothing else */
		close(sp[0]);
		close(se[0]);
		if ((a = fcntl(sp[1], F_DUPFD_CLOEXEC, 64)) == -1 ||
		    (b = fcntl(se[1], F_DUPFD_CLOEXEC, 64)) == -1 ||
		    dup2(logfd, STDERR_FILENO) == -1 || dup2(a, 3) == -1 ||
		    dup2(b, 4) == -1)
			_exit(99);
		for (fd = 5; fd < 128; fd++)
			close(fd);
		storage(1, 1, USER, c->dir);
	}
	close(sp[1]);
	close(se[1]);
	close(logfd);
	imsgbuf_init(&c->parent, sp[0]);
	imsgbuf_init(&c->engine, se[0]);
}

/*
 * Waits up to ms for the child to end; returns 0 and its status, or -1
 * (then it is killed).
 */
static int
child_wait(struct child *c, int ms, int *status)
{
	int64_t	 deadline = now_ms() + ms;
	pid_t	 r;

	for (;;) {
		if ((r = waitpid(c->pid, status, WNOHANG)) == -1)
			fatal("waitpid");
		if (r == c->pid) {
			c->pid = 0;
			return (0);
		}
		if (now_ms() > deadline)
			break;
		poll(NULL, 0, 10);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, status, 0);
	c->pid = 0;
	return (-1);
}

static void
child_close(struct imsgbuf *ibuf)
{
	if (ibuf->fd == -1)
		return;
	imsgbuf_clear(ibuf);
	close(ibuf->fd);
	ibuf->fd = -1;
}

static void
child_end(struct child *c)
{
	int	 status;

	child_close(&c->parent);
	child_close(&c->engine);
	if (c->pid > 0)
		child_wait(c, REPLY_MS, &status);
}

static void
send_msg(struct imsgbuf *ibuf, uint32_t type, const void *data, size_t len)
{
	if (imsg_compose(ibuf, type, 0, 0, -1, data, len) == -1 ||
	    imsgbuf_flush(ibuf) == -1)
		fatal("send %s", imsg_type_name(type));
}

/* A configuration as parent_send_conf() sends it, peers left out. */
static void
send_conf(struct child *c, const char *const *names, size_t n)
{
	struct imsg_iface	 mi;
	uint32_t		 gen = 1;
	size_t			 i;

	send_msg(&c->parent, IMSG_RECONF_BEGIN, &gen, sizeof(gen));
	for (i = 0; i < n; i++) {
		memset(&mi, 0, sizeof(mi));
		mi.index = i;
		strlcpy(mi.ifname, names[i], sizeof(mi.ifname));
		send_msg(&c->parent, IMSG_RECONF_IFACE, &mi, sizeof(mi));
	}
	send_msg(&c->parent, IMSG_RECONF_END, NULL, 0);
}

static void
send_load(struct child *c, const char *ifname)
{
	struct imsg_state_iface	 si;

	memset(&si, 0, sizeof(si));
	strlcpy(si.ifname, ifname, sizeof(si.ifname));
	send_msg(&c->engine, IMSG_STATE_LOAD, &si, sizeof(si));
}

static void
send_entries(struct child *c, const char *ifname,
    const struct state_entry *e, size_t n)
{
	struct imsg_state_entry	 se;
	size_t			 i;

	for (i = 0; i < n; i++) {
		memset(&se, 0, sizeof(se));
		strlcpy(se.ifname, ifname, sizeof(se.ifname));
		se.last_seen = e[i].last_seen;
		memcpy(se.public_key, e[i].public_key, WG_KEY_LEN);
		se.endpoint = e[i].endpoint;
		se.origin = e[i].origin;
		send_msg(&c->engine, IMSG_STATE_ENTRY, &se, sizeof(se));
	}
}

static void
send_save(struct child *c, const char *ifname, size_t n)
{
	struct imsg_state_iface	 si;

	memset(&si, 0, sizeof(si));
	strlcpy(si.ifname, ifname, sizeof(si.ifname));
	si.nentries = n;
	send_msg(&c->engine, IMSG_STATE_SAVE, &si, sizeof(si));
}

/* The next message from the child's engine pipe: 1, 0 at EOF, -1 late. */
static int
recv_msg(struct child *c, int ms, struct imsg *imsg)
{
	struct pollfd	 pfd;
	int64_t		 deadline = now_ms() + ms, left;
	ssize_t		 n;

	for (;;) {
		if ((n = imsg_get(&c->engine, imsg)) == -1)
			fatal("imsg_get");
		if (n > 0)
			return (1);
		if ((left = deadline - now_ms()) <= 0)
			return (-1);
		pfd.fd = c->engine.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			fatal("poll");
		if ((pfd.revents & (POLLIN | POLLHUP)) == 0)
			continue;
		if ((n = imsgbuf_read(&c->engine)) == -1 && errno != EAGAIN)
			fatal("imsgbuf_read");
		if (n == 0)
			return (0);
	}
}

/*
 * The answer to a LOAD: ENTRYs for ifname, then LOADED; returns 0 if it
 * is well formed, with the entries in e (at most max) and their number.
 */
static int
recv_loaded(struct child *c, const char *ifname, struct state_entry *e,
    size_t max, size_t *n)
{
	struct imsg		 imsg;
	struct imsg_state_entry	 se;
	struct imsg_state_iface	 si;
	int			 r;

	*n = 0;
	for (;;) {
		if ((r = recv_msg(c, REPLY_MS, &imsg)) != 1) {
			printf("no answer to the load of %s (%s)\n", ifname,
			    r == 0 ? "EOF" : "timeout");
			return (-1);
		}
		switch (imsg.hdr.type) {
		case IMSG_STATE_ENTRY:
			r = imsg_get_data(&imsg, &se, sizeof(se));
			imsg_free(&imsg);
			if (r == -1 || strcmp(se.ifname, ifname) != 0 ||
			    *n == max)
				return (-1);
			memset(&e[*n], 0, sizeof(e[*n]));
			e[*n].last_seen = se.last_seen;
			memcpy(e[*n].public_key, se.public_key, WG_KEY_LEN);
			e[*n].endpoint = se.endpoint;
			e[*n].origin = se.origin;
			(*n)++;
			break;
		case IMSG_STATE_LOADED:
			r = imsg_get_data(&imsg, &si, sizeof(si));
			imsg_free(&imsg);
			if (r == -1 || strcmp(si.ifname, ifname) != 0 ||
			    si.nentries != *n)
				return (-1);
			return (0);
		default:
			imsg_free(&imsg);
			return (-1);
		}
	}
}

static char *
read_text(const char *path, size_t *len)
{
	char	*buf;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	if ((buf = malloc(STATEFILE_SIZE_MAX + 1)) == NULL)
		fatal("malloc");
	*len = 0;
	while ((r = read(fd, buf + *len, STATEFILE_SIZE_MAX - *len)) > 0)
		*len += r;
	close(fd);
	buf[*len] = '\0';
	return (buf);
}

/* A file in dir, as the storage process would have left it. */
static void
write_text(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text) || fchown(fd, nobody_uid, nobody_gid) == -1)
		fatal("%s", path);
	close(fd);
}

/* Whether dir/name holds exactly the state file of the entries. */
static int
file_has(const char *dir, const char *name, const struct state_entry *e,
    size_t n)
{
	char	 path[512], *want, *have;
	size_t	 size = statefile_size(n), len;
	int	 wlen, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((want = malloc(size)) == NULL)
		fatal("malloc");
	if ((wlen = statefile_format(want, size, e, n)) == -1)
		fatal("statefile_format");
	if ((have = read_text(path, &len)) == NULL) {
		free(want);
		return (0);
	}
	ok = len == (size_t)wlen && memcmp(want, have, len) == 0;
	free(want);
	free(have);
	return (ok);
}

/* Polls for dir/name to hold the entries, for up to ms. */
static int
wait_file(const char *dir, const char *name, const struct state_entry *e,
    size_t n, int ms)
{
	int64_t	 deadline = now_ms() + ms;

	while (!file_has(dir, name, e, n)) {
		if (now_ms() > deadline)
			return (0);
		poll(NULL, 0, 50);
	}
	return (1);
}

static int
exists(const char *dir, const char *name)
{
	struct stat	 st;
	char		 path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (lstat(path, &st) == 0);
}

/* How many lines of the child's log hold s. */
static int
log_count(const struct child *c, const char *s)
{
	char	*text, *p, *nl;
	size_t	 len;
	int	 n = 0;

	if ((text = read_text(c->log, &len)) == NULL)
		return (-1);
	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		*nl = '\0';
		if (strstr(p, s) != NULL)
			n++;
		if (nl == text + len)
			break;
	}
	free(text);
	return (n);
}

/* After a failure: what the child said. */
static void
log_print(const struct child *c)
{
	char	*text;
	size_t	 len;

	if ((text = read_text(c->log, &len)) == NULL)
		return;
	printf("%s:\n%s", c->log, text);
	free(text);
}

/* Polls the child's log for a line holding s, for up to ms. */
static int
wait_log(const struct child *c, const char *s, int ms)
{
	int64_t	 deadline = now_ms() + ms;

	while (log_count(c, s) < 1) {
		if (now_ms() > deadline)
			return (0);
		poll(NULL, 0, 10);
	}
	return (1);
}

/*
 * One child through its life: loads, saves coalesced, a message that
 * waits for its configuration, and the writes at shutdown.
 */
static void
test_running(void)
{
	static const char *const conf1[] = { "wg0", "wg1", "wg2" };
	static const char *const conf2[] = { "wg0", "wg1", "wg2", "wg3" };
	struct state_entry	 good[3], got[8], a[2], b[3], c3[3], d[1];
	struct child		 c;
	struct imsg		 imsg;
	char			 files[4096], text[2048];
	size_t			 n, off;
	int64_t			 t0;
	int			 status, r;

	/* wg1: a good file; wg2: damaged at line 3 */
	make_entries(good, nitems(good), 1);
	if (statefile_format(text, sizeof(text), good, nitems(good)) == -1)
		fatal("statefile_format");
	off = 0;
	off += snprintf(files + off, sizeof(files) - off, "wg1.state") + 1;
	off += snprintf(files + off, sizeof(files) - off, "%s", text) + 1;
	off += snprintf(files + off, sizeof(files) - off, "wg2.state") + 1;
	off += snprintf(files + off, sizeof(files) - off, "# wgmeshd state v1\n"
	    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= 198.18.0.1:51820 "
	    "1699999000 observed\n"
	    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= 198.18.0.1 1 lan\n")
	    + 1;
	files[off] = '\0';
	child_start(&c, files);
	send_conf(&c, conf1, nitems(conf1));

	TEST("load of a missing file: LOADED 0");
	send_load(&c, "wg0");
	CHECK(recv_loaded(&c, "wg0", got, nitems(got), &n) == 0 && n == 0,
	    "%zu entries", n);

	TEST("load of a file: its entries, then LOADED");
	send_load(&c, "wg1");
	CHECK(recv_loaded(&c, "wg1", got, nitems(got), &n) == 0 &&
	    n == nitems(good) && memcmp(got, good, sizeof(good)) == 0,
	    "%zu entries", n);

	TEST("load of a damaged file: LOADED 0, and a warning");
	send_load(&c, "wg2");
	CHECK(recv_loaded(&c, "wg2", got, nitems(got), &n) == 0 && n == 0,
	    "%zu entries", n);

	TEST("a message for an interface not configured yet waits for it");
	send_load(&c, "wg3");
	send_load(&c, "wg0");
	CHECK(wait_log(&c, "IMSG_STATE_LOAD for wg3, not configured yet",
	    REPLY_MS), "the load of wg3 did not wait");
	r = recv_msg(&c, 100, &imsg);
	if (r == 1)
		imsg_free(&imsg);
	CHECK(r == -1, "answered before the configuration (%d)", r);
	send_conf(&c, conf2, nitems(conf2));
	CHECK(recv_loaded(&c, "wg3", got, nitems(got), &n) == 0 && n == 0,
	    "wg3: %zu entries", n);
	CHECK(recv_loaded(&c, "wg0", got, nitems(got), &n) == 0 && n == 0,
	    "wg0: %zu entries", n);

	TEST("a save of 3 entries is written within STORAGE_WRITE_SECONDS");
	TEST("two quick saves: one write, of the latest");
	make_entries(c3, nitems(c3), 3);
	make_entries(a, nitems(a), 4);
	make_entries(b, nitems(b), 5);
	t0 = now_ms();
	send_entries(&c, "wg0", c3, nitems(c3));
	send_save(&c, "wg0", nitems(c3));
	send_entries(&c, "wg1", a, nitems(a));
	send_save(&c, "wg1", nitems(a));
	send_entries(&c, "wg1", b, nitems(b));
	send_save(&c, "wg1", nitems(b));
	CHECK(!exists(c.dir, "wg0.state"), "wg0.state written at once");
	CHECK(wait_file(c.dir, "wg0.state", c3, nitems(c3), WRITE_MS),
	    "wg0.state not as saved after %d ms", WRITE_MS);
	CHECK(wait_file(c.dir, "wg1.state", b, nitems(b), WRITE_MS),
	    "wg1.state not as saved last");
	CHECK(now_ms() - t0 >= (STORAGE_WRITE_SECONDS - 1) * 1000,
	    "written after %lld ms", (long long)(now_ms() - t0));

	TEST("a load while a write is pending answers the pending set");
	send_entries(&c, "wg1", a, nitems(a));
	send_save(&c, "wg1", nitems(a));
	send_load(&c, "wg1");
	CHECK(recv_loaded(&c, "wg1", got, nitems(got), &n) == 0 &&
	    n == nitems(a) && memcmp(got, a, sizeof(a)) == 0,
	    "%zu entries", n);
	/* and back to what is on disk: nothing to write */
	send_entries(&c, "wg1", b, nitems(b));
	send_save(&c, "wg1", nitems(b));

	TEST("closing both pipes writes what is pending, at once");
	make_entries(d, nitems(d), 6);
	send_entries(&c, "wg0", good, nitems(good));
	send_save(&c, "wg0", nitems(good));
	child_close(&c.parent);
	/* the engine's last save, after the parent has gone */
	send_entries(&c, "wg0", d, nitems(d));
	send_save(&c, "wg0", nitems(d));
	t0 = now_ms();
	child_close(&c.engine);
	r = child_wait(&c, REPLY_MS, &status);
	CHECK(r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %d", status);
	CHECK(now_ms() - t0 < STORAGE_WRITE_SECONDS * 1000,
	    "took %lld ms", (long long)(now_ms() - t0));
	CHECK(file_has(c.dir, "wg0.state", d, nitems(d)),
	    "wg0.state does not hold the last save");
	CHECK(!exists(c.dir, "wg0.state.tmp") &&
	    !exists(c.dir, "wg1.state.tmp"), "a temporary file lingers");

	TEST("writes: wg0 twice, wg1 once, wg2 (damaged) never");
	CHECK(log_count(&c, "wg0.state: 3 entries written") == 1 &&
	    log_count(&c, "wg0.state: 1 entry written") == 1,
	    "wg0 not written as expected");
	CHECK(log_count(&c, "wg1.state: 3 entries written") == 1 &&
	    log_count(&c, " written") == 3,
	    "%d writes in all", log_count(&c, " written"));
	CHECK(log_count(&c, "wg2.state: line 3: invalid endpoint; starting "
	    "without it") == 1, "no warning for the damaged file");
	CHECK(log_count(&c, "wg2.state: ") == 1 && exists(c.dir, "wg2.state"),
	    "the damaged file was touched");
	CHECK(log_count(&c, "fatal") == 0, "a fatal error");
	if (regress_failed > 0)
		log_print(&c);
	child_end(&c);
}

/*
 * Each malformed message ends the child with an error before anything is
 * written: a valid save pending then is lost, the file stays as it was.
 */
static void
test_malformed(void)
{
	static const char *const conf[] = { "wg0", "wg1" };
	static const struct {
		const char	*what;
		const char	*fatal;		/* in its log */
	} cases[] = {
		{ "SAVE one byte short",
		    "IMSG_STATE_SAVE from the engine: 23 bytes, not 24" },
		{ "ENTRY one byte long",
		    "IMSG_STATE_ENTRY from the engine: 89 bytes, not 88" },
		{ "LOAD of no size",
		    "IMSG_STATE_LOAD from the engine: 0 bytes, not 24" },
		{ "SAVE for an unknown interface, then a configuration",
		    "wg9 is not a configured interface" },
		{ "LOAD for an unknown interface, then the parent goes",
		    "wg9 is not a configured interface" },
		{ "SAVE with a count that does not match",
		    "IMSG_STATE_SAVE for wg0: 3 entries, but 2 sent" },
		{ "SAVE for another interface than its entries",
		    "IMSG_STATE_SAVE for wg1 after entries for wg0" },
		{ "ENTRY with no public key", "no public key" },
		{ "ENTRY with a multicast endpoint", "not a unicast address" },
		{ "ENTRY last seen 0", "not a positive time" },
		{ "ENTRY of an unknown origin", "unknown origin" },
		{ "unterminated interface name", "unterminated interface" },
		{ "interface name with a slash", "invalid interface name" },
		{ "LOADED from the engine", "unexpected IMSG_STATE_LOADED from the engine" },
		{ "LOAD with entries", "1 entries, not 0" },
	};
	struct state_entry	 good[3], pending[2], bad;
	struct imsg_state_iface	 si;
	struct imsg_state_entry	 se[2];
	struct child		 c;
	char			 files[4096], text[2048], path[512], *before;
	char			*after;
	size_t			 i, off, blen, alen;
	int			 status, r;

	make_entries(good, nitems(good), 1);
	make_entries(pending, nitems(pending), 2);
	if (statefile_format(text, sizeof(text), good, nitems(good)) == -1)
		fatal("statefile_format");
	off = snprintf(files, sizeof(files), "wg0.state") + 1;
	off += snprintf(files + off, sizeof(files) - off, "%s", text) + 1;
	files[off] = '\0';

	for (i = 0; i < nitems(cases); i++) {
		TEST(cases[i].what);
		child_start(&c, files);
		snprintf(path, sizeof(path), "%s/wg0.state", c.dir);
		before = read_text(path, &blen);
		send_conf(&c, conf, nitems(conf));
		/* a save that would be written in STORAGE_WRITE_SECONDS */
		send_entries(&c, "wg0", pending, nitems(pending));
		send_save(&c, "wg0", nitems(pending));

		memset(&si, 0, sizeof(si));
		strlcpy(si.ifname, "wg0", sizeof(si.ifname));
		make_entries(&bad, 1, 7);
		memset(se, 0, sizeof(se));
		strlcpy(se[0].ifname, "wg0", sizeof(se[0].ifname));
		se[0].last_seen = bad.last_seen;
		memcpy(se[0].public_key, bad.public_key, WG_KEY_LEN);
		se[0].endpoint = bad.endpoint;
		se[0].origin = bad.origin;
		switch (i) {
		case 0:
			send_msg(&c.engine, IMSG_STATE_SAVE, &si,
			    sizeof(si) - 1);
			break;
		case 1:
			send_msg(&c.engine, IMSG_STATE_ENTRY, se,
			    sizeof(se[0]) + 1);
			break;
		case 2:
			send_msg(&c.engine, IMSG_STATE_LOAD, NULL, 0);
			break;
		case 3:
			send_save(&c, "wg9", 0);
			/* it waits for a configuration: this one */
			if (!wait_log(&c, "for wg9, not configured yet",
			    REPLY_MS))
				printf("the save of wg9 did not wait\n");
			send_conf(&c, conf, nitems(conf));
			break;
		case 4:
			send_load(&c, "wg9");
			child_close(&c.parent);
			break;
		case 5:
			send_entries(&c, "wg0", pending, nitems(pending));
			send_save(&c, "wg0", 3);
			break;
		case 6:
			send_entries(&c, "wg0", pending, nitems(pending));
			send_save(&c, "wg1", nitems(pending));
			break;
		case 7:
			memset(se[0].public_key, 0, WG_KEY_LEN);
			send_msg(&c.engine, IMSG_STATE_ENTRY, se, sizeof(se[0]));
			break;
		case 8:
			se[0].endpoint.af = AF_INET;
			memset(se[0].endpoint.addr, 0, 16);
			se[0].endpoint.addr[0] = 224;
			se[0].endpoint.addr[3] = 1;
			send_msg(&c.engine, IMSG_STATE_ENTRY, se, sizeof(se[0]));
			break;
		case 9:
			se[0].last_seen = 0;
			send_msg(&c.engine, IMSG_STATE_ENTRY, se, sizeof(se[0]));
			break;
		case 10:
			se[0].origin = ORIGIN_NONE;
			send_msg(&c.engine, IMSG_STATE_ENTRY, se, sizeof(se[0]));
			break;
		case 11:
			memset(si.ifname, 'w', sizeof(si.ifname));
			send_msg(&c.engine, IMSG_STATE_LOAD, &si, sizeof(si));
			break;
		case 12:
			strlcpy(si.ifname, "../wg0", sizeof(si.ifname));
			send_msg(&c.engine, IMSG_STATE_SAVE, &si, sizeof(si));
			break;
		case 13:
			send_msg(&c.engine, IMSG_STATE_LOADED, &si,
			    sizeof(si));
			break;
		case 14:
			si.nentries = 1;
			send_msg(&c.engine, IMSG_STATE_LOAD, &si, sizeof(si));
			break;
		}
		r = child_wait(&c, REPLY_MS, &status);
		CHECK(r == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "%s (status %d)", r == -1 ? "still running" :
		    "exit status 0", status);
		after = read_text(path, &alen);
		CHECK(before != NULL && after != NULL && alen == blen &&
		    memcmp(before, after, blen) == 0, "wg0.state changed");
		CHECK(!exists(c.dir, "wg0.state.tmp") &&
		    !exists(c.dir, "wg1.state") && !exists(c.dir, "wg9.state"),
		    "a file was made");
		CHECK(log_count(&c, cases[i].fatal) == 1,
		    "the log does not say \"%s\"", cases[i].fatal);
		free(before);
		free(after);
		child_end(&c);
	}
}

static void
cleanup(void)
{
	char	 cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", topdir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", topdir);
}

int
main(void)
{
	struct passwd	*pw;
	struct rlimit	 rl = { 0, 0 };

	log_init(1, LOG_DAEMON);
	if (geteuid() != 0) {
		printf("SKIP: the storage process needs root to start\n");
		return (77);
	}
	setrlimit(RLIMIT_CORE, &rl);
	signal(SIGPIPE, SIG_IGN);
	if ((pw = getpwnam(USER)) == NULL)
		fatalx("no user %s", USER);
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	if (mkdtemp(topdir) == NULL || chmod(topdir, 0755) == -1)
		fatal("mkdtemp");

	test_running();
	test_malformed();

	cleanup();
	return (regress_end());
}
