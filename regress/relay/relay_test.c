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
 * The relay process on real sockets: the real binary (wgmeshd -R, its
 * real sandbox) with this program as its parent and its engine, and UDP
 * sockets playing the two ends of a pair, an attacker and a bystander,
 * on lab addresses of the loopback interface of a network namespace of
 * its own (run.sh makes it):
 *	198.18.0.1	the relay node
 *	198.18.0.10	end 0			198.18.0.11	end 1
 *	198.18.0.12	an attacker		198.18.0.13	a bystander
 * The WireGuard messages are crafted, their mac1 computed with libb2.
 *
 *	relay_test WGMESHD LOGFILE		the checks ("N passed, N failed")
 *	relay_test -b WGMESHD LOGFILE SECONDS	the forwarding benchmark
 *	relay_test -w WGMESHD LOGFILE KEY0 KEY1 ADDR0 ADDR1 PORTFILE
 *		a pair for real WireGuard peers (wg.sh): KEY0 at ADDR0 is
 *		end 0; the ports written to PORTFILE; relays until its
 *		standard input ends, then prints the counters
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <blake2.h>

#include "imsg.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "regress.h"

#define RELAY_ADDR	"198.18.0.1"
#define PORT_LOW	51900
#define PORT_HIGH	51905		/* 6 ports */
#define MAX_PAIRS	"2"
#define RATE_MBIT	"8"		/* 1 MB/s: a bucket of 100 kB */
#define PACKET_RATE	"2000"		/* a bucket of 200 */
#define DATA_LEN	1424		/* a 1408-byte padded packet, the
					   largest of a 1420-byte MTU */

struct end {
	int		 fd;
	const char	*name;
	uint16_t	 port;		/* its own */
	uint64_t	 got;		/* datagrams received, all told */
};

static pid_t		 relay_pid;
static int		 parent_fd;
static struct imsgbuf	 engine;
static const char	*logfile;
static uint8_t		 key[2][32];
static struct relay_counters counters;
static int		 have_counters;
static struct imsg_relay_state state;
static int		 have_state;

static void	 start_relay(const char *, const char *, const char *,
		    const char *, const char *);
static int	 stop_relay(void);
static void	 compose(uint32_t, const void *, size_t);
static int	 wait_imsg(uint32_t, void *, size_t, int);
static int	 opened(uint32_t, int, uint16_t [2]);
static void	 mac1(uint8_t *, size_t, const uint8_t [32]);
static size_t	 initiation(uint8_t *, uint32_t, uint8_t, const uint8_t [32]);
static size_t	 response(uint8_t *, uint32_t, uint32_t, const uint8_t [32]);
static size_t	 data(uint8_t *, size_t, uint8_t);
static void	 end_open(struct end *, const char *, const char *, uint16_t);
static void	 to_relay(struct end *, uint16_t, const void *, size_t);
static ssize_t	 from(struct end *, int, void *, size_t, uint16_t *);
static int	 quiet(struct end *, int);
static uint64_t	 drain(struct end *, int, uint16_t);
static int64_t	 now_ms(void);
static int	 log_has(const char *);
static int	 proc_has(pid_t, const char *, const char *);
static void	 test(const char *);
static unsigned long cpu_ticks(pid_t);
static void	 bench(const char *, int);
static void	 serve(char *[]);

static void
start_relay(const char *wgmeshd, const char *ports, const char *pairs,
    const char *mbit, const char *packets)
{
	int	 sp[2], se[2], fd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, se) == -1)
		fatal("socketpair");
	switch ((relay_pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		if ((fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) == -1)
			fatal("%s", logfile);
		if (dup2(fd, 2) == -1 ||
		    (fd = fcntl(sp[1], F_DUPFD, 10)) == -1 ||
		    dup2(fd, 3) == -1 ||
		    (fd = fcntl(se[1], F_DUPFD, 10)) == -1 ||
		    dup2(fd, 4) == -1)
			fatal("dup2");
		execl(wgmeshd, "wgmeshd: relay", "-R", "-d", "-v", "-u",
		    "_wgmeshd", ports, pairs, mbit, packets, (char *)NULL);
		fatal("exec %s", wgmeshd);
	}
	close(sp[1]);
	close(se[1]);
	parent_fd = sp[0];
	imsgbuf_init(&engine, se[0]);
}

/* Closes its pipes; its exit status, or -1 if it had to be killed. */
static int
stop_relay(void)
{
	int	 status, i;

	imsgbuf_clear(&engine);
	close(engine.fd);
	close(parent_fd);
	for (i = 0; i < 200; i++) {
		if (waitpid(relay_pid, &status, WNOHANG) == relay_pid)
			return (status);
		usleep(10000);
	}
	kill(relay_pid, SIGKILL);
	waitpid(relay_pid, &status, 0);
	return (-1);
}

static void
compose(uint32_t type, const void *p, size_t len)
{
	if (imsg_compose(&engine, type, 0, 0, -1, p, len) == -1 ||
	    imsgbuf_flush(&engine) == -1)
		fatal("compose");
}

/*
 * Reads the relay's messages for up to ms, keeping the last STATE and
 * COUNTERS, until one of type comes (its payload copied to p).  0 when
 * it came; -1 when it did not, or the relay closed its pipe.
 */
static int
wait_imsg(uint32_t type, void *p, size_t len, int ms)
{
	struct pollfd	 pfd = { engine.fd, POLLIN, 0 };
	struct imsg	 imsg;
	int64_t		 end = now_ms() + ms;
	ssize_t		 n;
	int		 found;

	for (;;) {
		while ((n = imsg_get(&engine, &imsg)) > 0) {
			if (imsg_check(&imsg, PROC_RELAY) != NULL)
				fatalx("bad message from the relay");
			found = imsg.hdr.type == type;
			if (imsg.hdr.type == IMSG_RELAY_COUNTERS) {
				imsg_get_data(&imsg, &counters,
				    sizeof(counters));
				have_counters = 1;
			}
			if (imsg.hdr.type == IMSG_RELAY_STATE &&
			    imsg_get_len(&imsg) >= sizeof(state)) {
				imsg_get_data(&imsg, &state, sizeof(state));
				have_state = 1;
			}
			if (found && len > 0)
				imsg_get_data(&imsg, p, len);
			imsg_free(&imsg);
			if (found)
				return (0);
		}
		if (n == -1 || now_ms() >= end)
			return (-1);
		if (poll(&pfd, 1, end - now_ms()) <= 0)
			continue;
		if (imsgbuf_read(&engine) <= 0)
			return (-1);
	}
}

/* OPEN id; the answer's error (-1: none came), ports in port. */
static int
opened(uint32_t id, int expect, uint16_t port[2])
{
	struct imsg_relay_open	 ro;
	struct imsg_relay_opened ok;
	int			 i;

	memset(&ro, 0, sizeof(ro));
	ro.id = id;
	memcpy(ro.public_key, key, sizeof(key));
	for (i = 0; expect && i < 2; i++) {
		ro.expect[i].af = AF_INET;
		inet_pton(AF_INET, i == 0 ? "198.18.0.10" : "198.18.0.11",
		    ro.expect[i].addr);
		ro.expect[i].port = 51820;	/* not compared */
	}
	compose(IMSG_RELAY_OPEN, &ro, sizeof(ro));
	if (wait_imsg(IMSG_RELAY_OPENED, &ok, sizeof(ok), 2000) == -1 ||
	    ok.id != id)
		return (-1);
	port[0] = ok.port[0];
	port[1] = ok.port[1];
	return (ok.error);
}

static void
mac1(uint8_t *msg, size_t len, const uint8_t pk[32])
{
	uint8_t	in[40], k[32];

	memcpy(in, "mac1----", 8);
	memcpy(in + 8, pk, 32);
	blake2s(k, in, NULL, 32, sizeof(in), 0);
	blake2s(msg + len - 32, msg, k, 16, len - 32, 32);
	memset(msg + len - 16, 0, 16);
}

static size_t
initiation(uint8_t *msg, uint32_t sender, uint8_t fill, const uint8_t pk[32])
{
	memset(msg, fill, 148);
	msg[0] = 1;
	msg[1] = msg[2] = msg[3] = 0;
	memcpy(msg + 4, &sender, 4);
	mac1(msg, 148, pk);
	return (148);
}

static size_t
response(uint8_t *msg, uint32_t sender, uint32_t receiver,
    const uint8_t pk[32])
{
	memset(msg, 0x5a, 92);
	msg[0] = 2;
	msg[1] = msg[2] = msg[3] = 0;
	memcpy(msg + 4, &sender, 4);
	memcpy(msg + 8, &receiver, 4);
	mac1(msg, 92, pk);
	return (92);
}

static size_t
data(uint8_t *msg, size_t len, uint8_t fill)
{
	memset(msg, fill, len);
	msg[0] = 4;
	msg[1] = msg[2] = msg[3] = 0;
	return (len);
}

static void
end_open(struct end *e, const char *name, const char *addr, uint16_t port)
{
	struct sockaddr_in	 sin;
	int			 size = 8 << 20;

	memset(e, 0, sizeof(*e));
	e->name = name;
	e->port = port;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	if ((e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(e->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1 ||
	    bind(e->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fatal("%s: %s:%u", name, addr, port);
}

static void
to_relay(struct end *e, uint16_t port, const void *p, size_t len)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, RELAY_ADDR, &sin.sin_addr);
	while (sendto(e->fd, p, len, 0, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1) {
		if (errno != EAGAIN && errno != ENOBUFS)
			fatal("%s: sendto", e->name);
		usleep(100);
	}
}

/*
 * One datagram within ms; -1 if none.  *port: its source port, which
 * must be the relay's address (anything else is reported).
 */
static ssize_t
from(struct end *e, int ms, void *p, size_t len, uint16_t *port)
{
	struct pollfd		 pfd = { e->fd, POLLIN, 0 };
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	char			 a[INET_ADDRSTRLEN];
	ssize_t			 n;

	if (poll(&pfd, 1, ms) <= 0)
		return (-1);
	if ((n = recvfrom(e->fd, p, len, 0, (struct sockaddr *)&sin,
	    &slen)) == -1)
		return (-1);
	e->got++;
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	CHECK(strcmp(a, RELAY_ADDR) == 0, "%s: a datagram from %s", e->name,
	    a);
	if (port != NULL)
		*port = ntohs(sin.sin_port);
	return (n);
}

/* Nothing arrives within ms. */
static int
quiet(struct end *e, int ms)
{
	uint8_t	 buf[2048];

	return (from(e, ms, buf, sizeof(buf), NULL) == -1);
}

/* What arrives until ms pass with nothing; each from relay port "port". */
static uint64_t
drain(struct end *e, int ms, uint16_t port)
{
	uint8_t		 buf[2048];
	uint64_t	 n = 0;
	uint16_t	 p;
	int		 wrong = 0;

	while (from(e, ms, buf, sizeof(buf), &p) != -1) {
		n++;
		wrong += p != port;
	}
	CHECK(wrong == 0, "%s: %d datagrams from another port than %u",
	    e->name, wrong, port);
	return (n);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
log_has(const char *s)
{
	char	 line[512];
	FILE	*fp;
	int	 found = 0;

	if ((fp = fopen(logfile, "r")) == NULL)
		return (0);
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strstr(line, s) != NULL;
	fclose(fp);
	return (found);
}

/* /proc/PID/FILE has a line beginning with prefix. */
static int
proc_has(pid_t pid, const char *file, const char *prefix)
{
	char	 path[64], line[256];
	FILE	*fp;
	int	 found = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(fp);
	return (found);
}

/* Messages from the engine that end the relay, and what it says. */
static const struct imsg_relay_open bad_open_id = { .id = RELAY_PAIRS_MAX };
static const struct imsg_relay_open bad_open_af = { .id = 2,
    .expect = { { .af = 3 } } };
static const struct imsg_relay_open bad_open_scope = { .id = 2,
    .expect = { { 0 }, { .af = AF_INET, .scope = 4 } } };
static const struct imsg_relay_pause bad_pause_ms = { 1, 30001 };
static const struct imsg_relay_pause bad_pause_id = { 9, 10 };
static const struct imsg_relay_expect bad_expect_id = { .id = 9 };
static const struct imsg_relay_close bad_close_id = { 77 };
static const struct imsg_relay_opened bad_opened = { 0 };
static const uint32_t	 bad_short = 1;
static const struct {
	const char	*why;
	uint32_t	 type;
	const void	*p;
	size_t		 len;
	int		 open;		/* pair 1 opened first */
} bad[] = {
	{ "IMSG_RELAY_OPEN: id 256", IMSG_RELAY_OPEN, &bad_open_id,
	    sizeof(bad_open_id), 0 },
	{ "IMSG_RELAY_OPEN: an address of family 3, scope 0", IMSG_RELAY_OPEN,
	    &bad_open_af, sizeof(bad_open_af), 0 },
	{ "IMSG_RELAY_OPEN: an address of family 2, scope 4", IMSG_RELAY_OPEN,
	    &bad_open_scope, sizeof(bad_open_scope), 0 },
	{ "IMSG_RELAY_PAUSE: 30001 ms", IMSG_RELAY_PAUSE, &bad_pause_ms,
	    sizeof(bad_pause_ms), 1 },
	{ "IMSG_RELAY_PAUSE: no pair 9", IMSG_RELAY_PAUSE, &bad_pause_id,
	    sizeof(bad_pause_id), 1 },
	{ "IMSG_RELAY_EXPECT: no pair 9", IMSG_RELAY_EXPECT, &bad_expect_id,
	    sizeof(bad_expect_id), 1 },
	{ "IMSG_RELAY_CLOSE: no pair 77", IMSG_RELAY_CLOSE, &bad_close_id,
	    sizeof(bad_close_id), 1 },
	{ "IMSG_RELAY_CLOSE from the engine: 3 bytes, not 4", IMSG_RELAY_CLOSE,
	    &bad_opened, 3, 0 },
	{ "IMSG_RELAY_PAUSE from the engine: 4 bytes, not 8", IMSG_RELAY_PAUSE,
	    &bad_short, sizeof(bad_short), 0 },
	{ "unexpected IMSG_RELAY_OPENED from the engine", IMSG_RELAY_OPENED,
	    &bad_opened, sizeof(bad_opened), 0 },
	{ "unexpected IMSG_CTL_RELOAD from the engine", IMSG_CTL_RELOAD,
	    NULL, 0, 0 },
};

static void
test(const char *wgmeshd)
{
	struct end		 e0, e0b, e1, x, y;
	struct imsg_relay_pause	 rp;
	struct imsg_relay_close	 rc;
	uint8_t			 a[148], b[148], msg[2048], in[2048];
	uint16_t		 port[2], p2[2], p3[2], src;
	uint64_t		 n, bound;
	int64_t			 t0, t1;
	char			 root[64];
	ssize_t			 len;
	int			 i, status, blocker;
	struct sockaddr_in6	 sin6;

	end_open(&e0, "end 0", "198.18.0.10", 5000);
	end_open(&e0b, "end 0 roamed", "198.18.0.10", 5001);
	end_open(&e1, "end 1", "198.18.0.11", 6000);
	end_open(&x, "the attacker", "198.18.0.12", 7000);
	end_open(&y, "the bystander", "198.18.0.13", 8000);

	TEST("relay: a port of the range taken: fatal, naming it");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(PORT_HIGH + 2);
	if ((blocker = socket(AF_INET6, SOCK_DGRAM, 0)) == -1 ||
	    bind(blocker, (struct sockaddr *)&sin6, sizeof(sin6)) == -1)
		fatal("blocker");
	start_relay(wgmeshd, "51906-51909", "1", "1", "1");
	status = stop_relay();
	CHECK(status > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
	    log_has("relay port 51907: bind"), "status %#x", status);
	close(blocker);

	start_relay(wgmeshd, "51900-51905", MAX_PAIRS, RATE_MBIT, PACKET_RATE);

	TEST("relay: OPEN gets two ports of the range");
	CHECK(opened(3, 1, port) == 0 && port[0] != port[1] &&
	    port[0] >= PORT_LOW && port[0] <= PORT_HIGH &&
	    port[1] >= PORT_LOW && port[1] <= PORT_HIGH, "ports %u %u",
	    port[0], port[1]);

	TEST("relay: confined: seccomp, no_new_privs, not root, /var/empty");
	CHECK(proc_has(relay_pid, "status", "Seccomp:\t2"), "no filter");
	CHECK(proc_has(relay_pid, "status", "NoNewPrivs:\t1"), "no NNP");
	CHECK(!proc_has(relay_pid, "status", "Uid:\t0"), "root");
	snprintf(root, sizeof(root), "/proc/%d/root", (int)relay_pid);
	memset(in, 0, sizeof(in));
	CHECK(readlink(root, (char *)in, sizeof(in) - 1) > 0 &&
	    strcmp((char *)in, "/var/empty") == 0, "root %s", in);
	CHECK(proc_has(relay_pid, "comm", "wgmeshd-relay"), "comm");

	TEST("relay: an initiation from an unexpected address latches "
	    "nothing");
	to_relay(&x, port[0], msg, initiation(msg, 1, 0x11, key[1]));

	TEST("relay: latching: end 1's initiation reaches end 0 from port 0");
	to_relay(&e0, port[0], a, initiation(a, 100, 0xa0, key[1]));
	CHECK(quiet(&e1, 200), "end 0's first initiation went on");
	to_relay(&e1, port[1], b, initiation(b, 200, 0xb0, key[0]));
	len = from(&e0, 1000, in, sizeof(in), &src);
	CHECK(len == 148 && memcmp(in, b, 148) == 0 && src == port[0],
	    "end 0 got %zd bytes from port %u", len, src);
	to_relay(&e0, port[0], msg, response(msg, 101, 200, key[1]));
	len = from(&e1, 1000, in, sizeof(in), &src);
	CHECK(len == 92 && memcmp(in, msg, 92) == 0 && src == port[1],
	    "end 1 got %zd bytes from port %u", len, src);

	TEST("relay: data both ways, unchanged");
	to_relay(&e0, port[0], msg, data(msg, DATA_LEN, 0x01));
	len = from(&e1, 1000, in, sizeof(in), &src);
	CHECK(len == DATA_LEN && memcmp(in, msg, len) == 0 && src == port[1],
	    "0 -> 1: %zd bytes from port %u", len, src);
	to_relay(&e1, port[1], msg, data(msg, 32, 0x02));
	len = from(&e0, 1000, in, sizeof(in), &src);
	CHECK(len == 32 && memcmp(in, msg, len) == 0 && src == port[0],
	    "1 -> 0: %zd bytes from port %u", len, src);

	TEST("relay: junk, a wrong peer, replays, a flood: no re-latch");
	memset(msg, 0x42, 100);
	to_relay(&x, port[0], msg, 100);
	to_relay(&x, port[1], msg, 100);
	to_relay(&x, port[0], msg, initiation(msg, 9, 0x99, key[0]));
	to_relay(&x, port[0], a, 148);		/* replays */
	to_relay(&x, port[1], b, 148);
	/* as many as the relay's socket buffer surely holds */
	for (i = 0; i < 100; i++)
		to_relay(&x, port[0], msg, data(msg, 64, 0x03));
	to_relay(&e1, port[1], msg, data(msg, 48, 0x04));
	len = from(&e0, 1000, in, sizeof(in), &src);
	CHECK(len == 48 && memcmp(in, msg, len) == 0 && src == port[0],
	    "end 0 lost its leg: %zd bytes from port %u", len, src);
	CHECK(drain(&e0, 200, port[0]) == 0, "end 0: more came");

	TEST("relay: a forged initiation from elsewhere goes to end 1, "
	    "moves nothing");
	to_relay(&x, port[0], msg, initiation(msg, 77, 0x77, key[1]));
	len = from(&e1, 1000, in, sizeof(in), &src);
	CHECK(len == 148 && src == port[1], "end 1: %zd", len);
	to_relay(&e1, port[1], msg, data(msg, 48, 0x05));
	len = from(&e0, 1000, in, sizeof(in), &src);
	CHECK(len == 48 && src == port[0], "end 0 lost its leg: %zd", len);

	TEST("relay: end 0 roams; end 1's answer moves leg 0");
	usleep(250000);		/* one candidate per 200 ms */
	to_relay(&e0b, port[0], msg, initiation(msg, 300, 0xc0, key[1]));
	len = from(&e1, 1000, in, sizeof(in), &src);
	CHECK(len == 148 && src == port[1], "end 1: %zd", len);
	to_relay(&e1, port[1], msg, response(msg, 400, 300, key[0]));
	len = from(&e0b, 1000, in, sizeof(in), &src);
	CHECK(len == 92 && src == port[0], "roamed end 0: %zd", len);
	to_relay(&e1, port[1], msg, data(msg, 64, 0x06));
	len = from(&e0b, 1000, in, sizeof(in), &src);
	CHECK(len == 64 && src == port[0], "roamed end 0: %zd", len);
	CHECK(quiet(&e0, 100), "the old address still gets datagrams");
	to_relay(&e0, port[0], msg, data(msg, 64, 0x07));
	CHECK(quiet(&e1, 200), "the old address's datagrams went on");

	TEST("relay: the byte rate holds (8 Mbit/s)");
	t0 = now_ms();
	for (i = 0; i < 2000; i++)
		to_relay(&e0b, port[0], msg, data(msg, DATA_LEN, 0x08));
	n = drain(&e1, 300, port[1]);
	t1 = now_ms() - 300;
	/* a bucket of 100 ms, then 1 MB/s */
	bound = (100000 + 1000 * (t1 - t0)) / DATA_LEN + 5;
	CHECK(n > 0 && n <= bound && n < 2000, "%llu of 2000 in %lld ms "
	    "(at most %llu)", (unsigned long long)n, (long long)(t1 - t0),
	    (unsigned long long)bound);

	TEST("relay: the packet rate holds (2000/s)");
	usleep(200000);
	t0 = now_ms();
	for (i = 0; i < 3000; i++)
		to_relay(&e1, port[1], msg, data(msg, 32, 0x09));
	n = drain(&e0b, 300, port[0]);
	t1 = now_ms() - 300;
	bound = 200 + 2 * (t1 - t0) + 5;
	CHECK(n > 0 && n <= bound && n < 3000, "%llu of 3000 in %lld ms "
	    "(at most %llu)", (unsigned long long)n, (long long)(t1 - t0),
	    (unsigned long long)bound);

	TEST("relay: the counters say so");
	have_counters = have_state = 0;
	CHECK(wait_imsg(IMSG_RELAY_COUNTERS, NULL, 0, 2500) == 0 &&
	    have_counters, "no IMSG_RELAY_COUNTERS");
	CHECK(counters.drop_junk >= 2 && counters.drop_wrong_peer >= 1 &&
	    counters.drop_replay >= 2 && counters.drop_unexpected >= 1 &&
	    counters.drop_unlatched >= 101 && counters.drop_rate >= 1 &&
	    counters.latched >= 3 && counters.forwarded >= 8,
	    "junk %llu wrong_peer %llu replay %llu unexpected %llu "
	    "unlatched %llu rate %llu latched %llu forwarded %llu",
	    (unsigned long long)counters.drop_junk,
	    (unsigned long long)counters.drop_wrong_peer,
	    (unsigned long long)counters.drop_replay,
	    (unsigned long long)counters.drop_unexpected,
	    (unsigned long long)counters.drop_unlatched,
	    (unsigned long long)counters.drop_rate,
	    (unsigned long long)counters.latched,
	    (unsigned long long)counters.forwarded);
	CHECK(have_state && state.id == 3 && state.latched[0].af == AF_INET &&
	    state.latched[0].port == 5001 && state.latched[1].port == 6000 &&
	    state.packets[0] > 0 && state.packets[1] > 0 &&
	    state.rx_ms[0] >= 0, "state: id %u, leg 0 at port %u, leg 1 at "
	    "%u", state.id, state.latched[0].port, state.latched[1].port);

	TEST("relay: PAUSE drops the pair's datagrams for a while");
	rp.id = 3;
	rp.ms = 400;
	compose(IMSG_RELAY_PAUSE, &rp, sizeof(rp));
	/* an answer to a later message: the relay has read the PAUSE */
	CHECK(opened(3, 0, p3) == EEXIST, "an id in use");
	to_relay(&e1, port[1], msg, data(msg, 32, 0x0a));
	CHECK(quiet(&e0b, 200), "forwarded while paused");
	usleep(300000);
	to_relay(&e1, port[1], msg, data(msg, 32, 0x0b));
	CHECK(from(&e0b, 1000, in, sizeof(in), NULL) == 32,
	    "not forwarded after the pause");

	TEST("relay: relay-max-pairs, EEXIST, CLOSE frees the ports");
	CHECK(opened(4, 0, p2) == 0, "a second pair");
	CHECK(opened(5, 0, p3) == ENOSPC, "a third pair");
	CHECK(opened(3, 0, p3) == EEXIST, "an id in use");
	rc.id = 4;
	compose(IMSG_RELAY_CLOSE, &rc, sizeof(rc));
	CHECK(opened(5, 0, p3) == 0 && p3[0] == p2[0] && p3[1] == p2[1],
	    "after CLOSE: ports %u %u, not %u %u", p3[0], p3[1], p2[0],
	    p2[1]);
	rc.id = 3;
	compose(IMSG_RELAY_CLOSE, &rc, sizeof(rc));
	CHECK(opened(6, 0, p3) == 0 && p3[0] == port[0] &&
	    p3[1] == port[1], "the closed pair's ports: %u %u", p3[0], p3[1]);
	rc.id = 6;
	compose(IMSG_RELAY_CLOSE, &rc, sizeof(rc));
	CHECK(opened(5, 0, p3) == EEXIST, "pair 5 gone");
	to_relay(&e1, port[1], msg, data(msg, 32, 0x0c));
	CHECK(quiet(&e0b, 200), "a closed pair forwards");

	TEST("relay: nothing was sent anywhere but the latched addresses");
	CHECK(quiet(&x, 100) && x.got == 0, "the attacker got %llu",
	    (unsigned long long)x.got);
	CHECK(quiet(&y, 100) && y.got == 0, "the bystander got %llu",
	    (unsigned long long)y.got);

	stop_relay();

	/* between daemon processes, bad input is fatal */

	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		printf("test: relay: fatal: %s\n", bad[i].why);
		start_relay(wgmeshd, "51900-51905", MAX_PAIRS, RATE_MBIT,
		    PACKET_RATE);
		if (bad[i].open)
			CHECK(opened(1, 1, p3) == 0, "no pair to start with");
		compose(bad[i].type, bad[i].p, bad[i].len);
		CHECK(wait_imsg(IMSG_NONE, NULL, 0, 2000) == -1,
		    "still talking");
		status = stop_relay();
		CHECK(status > 0 && WIFEXITED(status) &&
		    WEXITSTATUS(status) != 0 && log_has(bad[i].why),
		    "%s: status %#x", bad[i].why, status);
	}
}

/* utime + stime of a process, in clock ticks */
static unsigned long
cpu_ticks(pid_t pid)
{
	unsigned long	 ut = 0, st = 0;
	char		 path[64], buf[1024], *p;
	FILE		*fp;
	int		 i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL ||
	    fgets(buf, sizeof(buf), fp) == NULL)
		fatal("%s", path);
	fclose(fp);
	/* after "(comm) ": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL)
		fatalx("%s", path);
	p += 2;
	for (i = 3; i < 14 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%lu %lu", &ut, &st) != 2)
		fatalx("%s", path);
	return (ut + st);
}

/*
 * Data datagrams of DATA_LEN bytes from end 0 to end 1 through the relay
 * for some seconds, as fast as one sender with sendmmsg(2) goes, and a
 * receiver process counting what arrives; the relay's figures.
 */
static void
bench(const char *wgmeshd, int seconds)
{
	struct end		 e0, e1;
	struct mmsghdr		 mm[64];
	struct iovec		 iov;
	struct sockaddr_in	 sin;
	uint8_t			 msg[2048], b[148];
	uint16_t		 port[2];
	uint64_t		 got = 0, fwd0;
	unsigned long		 cpu0, cpu1;
	int64_t			 t0, t1;
	double			 secs, mbit, cpu;
	pid_t			 rx;
	int			 i, p[2], n;

	end_open(&e0, "end 0", "198.18.0.10", 5000);
	end_open(&e1, "end 1", "198.18.0.11", 6000);
	start_relay(wgmeshd, "51900-51905", MAX_PAIRS, "100000", "10000000");
	if (opened(1, 0, port) != 0)
		fatalx("bench: no pair");
	to_relay(&e0, port[0], msg, initiation(msg, 1, 1, key[1]));
	to_relay(&e1, port[1], b, initiation(b, 2, 2, key[0]));
	if (from(&e0, 1000, msg, sizeof(msg), NULL) != 148)
		fatalx("bench: no latch");
	have_counters = 0;
	if (wait_imsg(IMSG_RELAY_COUNTERS, NULL, 0, 2500) == -1)
		fatalx("bench: no counters");
	fwd0 = counters.forwarded;

	if (pipe(p) == -1)
		fatal("pipe");
	if ((rx = fork()) == -1)
		fatal("fork");
	if (rx == 0) {
		/* the receiver: counts until nothing comes for 300 ms */
		while ((n = from(&e1, 300, msg, sizeof(msg), NULL)) != -1)
			got++;
		if (write(p[1], &got, sizeof(got)) != sizeof(got))
			_exit(1);
		_exit(0);
	}
	close(p[1]);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port[0]);
	inet_pton(AF_INET, RELAY_ADDR, &sin.sin_addr);
	data(msg, DATA_LEN, 0x55);
	iov.iov_base = msg;
	iov.iov_len = DATA_LEN;
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 64; i++) {
		mm[i].msg_hdr.msg_name = &sin;
		mm[i].msg_hdr.msg_namelen = sizeof(sin);
		mm[i].msg_hdr.msg_iov = &iov;
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	cpu0 = cpu_ticks(relay_pid);
	t0 = now_ms();
	while (now_ms() - t0 < seconds * 1000)
		if (sendmmsg(e0.fd, mm, 64, 0) == -1 && errno != EAGAIN &&
		    errno != ENOBUFS)
			fatal("sendmmsg");
	t1 = now_ms();
	if (read(p[0], &got, sizeof(got)) != sizeof(got))
		fatalx("bench: the receiver");
	cpu1 = cpu_ticks(relay_pid);
	waitpid(rx, NULL, 0);
	/* the reports queued meanwhile; the last is after the end */
	have_counters = 0;
	wait_imsg(IMSG_NONE, NULL, 0, 1500);
	if (!have_counters)
		fatalx("bench: no counters");

	secs = (t1 - t0) / 1000.0;
	mbit = got * DATA_LEN * 8 / 1e6;
	cpu = (double)(cpu1 - cpu0) / sysconf(_SC_CLK_TCK);
	printf("relay forwarding, %d-byte data datagrams on loopback, %.1f "
	    "s: %.0f packets/s and %.0f Mbit/s delivered (%.0f packets/s "
	    "forwarded), relay CPU %.2f s: %.6f CPU s per Mbit\n", DATA_LEN,
	    secs, got / secs, mbit / secs,
	    (counters.forwarded - fwd0) / secs, cpu,
	    mbit > 0 ? cpu / mbit : 0.0);
	stop_relay();
}

/* One pair for real WireGuard ends, until standard input ends. */
static void
serve(char *argv[])
{
	struct imsg_relay_open	 ro;
	struct imsg_relay_opened ok;
	struct pollfd		 pfd = { 0, POLLIN, 0 };
	char			 buf[64];
	FILE			*fp;
	int			 i;

	logfile = argv[1];
	memset(&ro, 0, sizeof(ro));
	ro.id = 1;
	for (i = 0; i < 2; i++) {
		if (key_from_base64(ro.public_key[i], argv[2 + i]) == -1)
			fatalx("bad key %s", argv[2 + i]);
		ro.expect[i].af = AF_INET;
		if (inet_pton(AF_INET, argv[4 + i], ro.expect[i].addr) != 1)
			fatalx("bad address %s", argv[4 + i]);
	}
	start_relay(argv[0], "51900-51905", MAX_PAIRS, "1000", "100000");
	compose(IMSG_RELAY_OPEN, &ro, sizeof(ro));
	if (wait_imsg(IMSG_RELAY_OPENED, &ok, sizeof(ok), 2000) == -1 ||
	    ok.error != 0)
		fatalx("no pair");
	if ((fp = fopen(argv[6], "w")) == NULL)
		fatal("%s", argv[6]);
	fprintf(fp, "%u %u\n", ok.port[0], ok.port[1]);
	fclose(fp);
	for (;;) {
		wait_imsg(IMSG_NONE, NULL, 0, 200);
		if (poll(&pfd, 1, 0) == 1 && read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	have_counters = 0;
	wait_imsg(IMSG_NONE, NULL, 0, 1200);
	printf("forwarded %llu latched %llu junk %llu wrong_peer %llu "
	    "unexpected %llu replay %llu unlatched %llu rate %llu\n",
	    (unsigned long long)counters.forwarded,
	    (unsigned long long)counters.latched,
	    (unsigned long long)counters.drop_junk,
	    (unsigned long long)counters.drop_wrong_peer,
	    (unsigned long long)counters.drop_unexpected,
	    (unsigned long long)counters.drop_replay,
	    (unsigned long long)counters.drop_unlatched,
	    (unsigned long long)counters.drop_rate);
	stop_relay();
}

int
main(int argc, char *argv[])
{
	int	 i;

	log_init(1, 0);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 32; i++) {
		key[0][i] = (uint8_t)(i * 7 + 1);
		key[1][i] = (uint8_t)(0x80 + i * 3);
	}
	if (argc == 9 && strcmp(argv[1], "-w") == 0) {
		serve(argv + 2);
		return (0);
	}
	if (argc == 5 && strcmp(argv[1], "-b") == 0) {
		logfile = argv[3];
		bench(argv[2], atoi(argv[4]));
		return (0);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: relay_test [-b] wgmeshd logfile "
		    "[seconds]\n");
		return (2);
	}
	logfile = argv[2];
	test(argv[1]);
	return (regress_end());
}
