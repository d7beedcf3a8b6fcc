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
 * startcheck.c: what "wgmeshd -n" and the start say when the host lacks
 * something, word for word, against directories of the test's own (the
 * machine's /var/empty, /sys/module and /lib/modules are never looked
 * at).  Needs no root: the cases that would (a root directory owned by
 * another user) are covered by sandbox.c's own message.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wgmeshd.h"
#include "regress.h"

static void	 test_user(void);
static void	 test_chroot(const char *);
static void	 test_dirs(const char *);
static void	 test_backend(const char *);
static void	 put_file(const char *, const char *);
static void	 put_socket(const char *);

static char	 why[8192], want[8192];

static void
put_file(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
put_socket(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void
test_user(void)
{
	TEST("the user");
	CHECK(startcheck_user("wgmeshd-regress-no-such-user", why,
	    sizeof(why)) == -1, "a missing user passes");
	CHECK(strcmp(why, "user wgmeshd-regress-no-such-user does not "
	    "exist; create it with: useradd -r -d /var/empty -s "
	    "/usr/sbin/nologin wgmeshd-regress-no-such-user") == 0,
	    "got \"%s\"", why);
	CHECK(startcheck_user("root", why, sizeof(why)) == -1,
	    "root passes");
	CHECK(strcmp(why, "user root has uid 0; the engine and the storage "
	    "process must not run as root: name another user") == 0,
	    "got \"%s\"", why);
	CHECK(startcheck_user("nobody", why, sizeof(why)) == 0,
	    "nobody fails: %s", why);
}

static void
test_chroot(const char *tmp)
{
	char	 dir[512];

	TEST("the engine's root");
	snprintf(dir, sizeof(dir), "%s/empty", tmp);
	CHECK(startcheck_chroot(dir, why, sizeof(why)) == -1,
	    "a missing root passes");
	snprintf(want, sizeof(want), "%s (the engine's root) does not exist; "
	    "create it with: mkdir -m 0755 %s", dir, dir);
	CHECK(strcmp(why, want) == 0, "got \"%s\"", why);

	put_file(dir, "");
	CHECK(startcheck_chroot(dir, why, sizeof(why)) == -1,
	    "a file passes");
	snprintf(want, sizeof(want), "%s (the engine's root): not a "
	    "directory; it must be an empty directory owned by root", dir);
	CHECK(strcmp(why, want) == 0, "got \"%s\"", why);
	unlink(dir);

	if (mkdir(dir, 0755) == -1 || chmod(dir, 01777) == -1) {
		perror(dir);
		exit(1);
	}
	if (geteuid() == 0) {
		CHECK(startcheck_chroot(dir, why, sizeof(why)) == -1,
		    "a world-writable root passes");
		snprintf(want, sizeof(want), "%s: writable by group or "
		    "others (mode 1777); fix with: chmod go-w %s", dir, dir);
		CHECK(strcmp(why, want) == 0, "got \"%s\"", why);
		chmod(dir, 0755);
		CHECK(startcheck_chroot(dir, why, sizeof(why)) == 0,
		    "a good root fails: %s", why);
	} else {
		/* owned by us, not root: that comes first */
		CHECK(startcheck_chroot(dir, why, sizeof(why)) == -1,
		    "a root owned by uid %u passes", (unsigned)geteuid());
		snprintf(want, sizeof(want), "%s: owned by uid %u, not root; "
		    "fix with: chown root %s", dir, (unsigned)geteuid(), dir);
		CHECK(strcmp(why, want) == 0, "got \"%s\"", why);
	}
	rmdir(dir);
}

static void
test_dirs(const char *tmp)
{
	char	 dir[512];

	TEST("the state directory");
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	CHECK(startcheck_dir("state-directory", dir, why, sizeof(why)) == 0,
	    "one the daemon can make fails: %s", why);
	snprintf(dir, sizeof(dir), "%s/no/state", tmp);
	CHECK(startcheck_dir("state-directory", dir, why, sizeof(why)) == -1,
	    "one under a missing directory passes");
	snprintf(want, sizeof(want), "state-directory %s: %s/no does not "
	    "exist; create it with: mkdir -p %s/no", dir, tmp, tmp);
	CHECK(strcmp(why, want) == 0, "got \"%s\"", why);
	snprintf(dir, sizeof(dir), "%s/plain", tmp);
	put_file(dir, "");
	CHECK(startcheck_dir("state-directory", dir, why, sizeof(why)) == -1,
	    "a file passes");
	snprintf(want, sizeof(want), "state-directory %s: not a directory",
	    dir);
	CHECK(strcmp(why, want) == 0, "got \"%s\"", why);
	unlink(dir);
}

static void
test_backend(const char *tmp)
{
	struct startcheck_paths	 p;
	char			 sys[512], mods[512], run[512];
	char			 path[1024];

	snprintf(sys, sizeof(sys), "%s/sys-module", tmp);
	snprintf(mods, sizeof(mods), "%s/lib-modules", tmp);
	snprintf(run, sizeof(run), "%s/run-wireguard", tmp);
	if (mkdir(sys, 0755) == -1 || mkdir(mods, 0755) == -1 ||
	    mkdir(run, 0755) == -1) {
		perror(tmp);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/6.1.0-test", mods);
	mkdir(path, 0755);
	memset(&p, 0, sizeof(p));
	p.sys_module = sys;
	p.modules = mods;
	p.uapi_dir = run;
	p.release = "6.1.0-test";

	TEST("no backend at all");
	CHECK(startcheck_backend("wg0", WG_BACKEND_AUTO, &p, why,
	    sizeof(why)) == -1, "auto passes without either");
	snprintf(want, sizeof(want), "wg0: no WireGuard: no kernel module "
	    "(looked in %s/wireguard, %s/6.1.0-test/modules.dep) and no UAPI "
	    "socket %s/wg0.sock; install the running kernel's modules, or "
	    "start wireguard-go wg0 before wgmeshd (\"backend userspace\" "
	    "makes that the only choice)", sys, mods, run);
	CHECK(strcmp(why, want) == 0, "got \"%s\"\nwant \"%s\"", why, want);
	CHECK(startcheck_backend("wg0", WG_BACKEND_USERSPACE, &p, why,
	    sizeof(why)) == -1, "userspace passes without a socket");
	snprintf(want, sizeof(want), "wg0: backend userspace: no UAPI "
	    "socket %s/wg0.sock; start wireguard-go wg0 (or boringtun) "
	    "before wgmeshd", run);
	CHECK(strcmp(why, want) == 0, "got \"%s\"\nwant \"%s\"", why, want);
	CHECK(startcheck_backend("wg0", WG_BACKEND_KERNEL, &p, why,
	    sizeof(why)) == -1, "kernel passes without a module");
	snprintf(want, sizeof(want), "wg0: backend kernel: no wireguard "
	    "kernel module (looked in %s/wireguard, "
	    "%s/6.1.0-test/modules.dep); install the running kernel's "
	    "modules, or start wireguard-go wg0 and say \"backend "
	    "userspace\"", sys, mods);
	CHECK(strcmp(why, want) == 0, "got \"%s\"\nwant \"%s\"", why, want);

	TEST("a module that modprobe would find");
	snprintf(path, sizeof(path), "%s/6.1.0-test/modules.dep", mods);
	put_file(path, "kernel/drivers/net/wireguardx.ko.xz:\n"
	    "kernel/net/ipv4/udp_tunnel.ko.xz:\n");
	CHECK(startcheck_backend("wg0", WG_BACKEND_KERNEL, &p, why,
	    sizeof(why)) == -1, "wireguardx.ko taken for wireguard.ko");
	put_file(path, "kernel/net/ipv4/udp_tunnel.ko.xz:\n"
	    "kernel/drivers/net/wireguard/wireguard.ko.xz: "
	    "kernel/net/ipv4/udp_tunnel.ko.xz\n");
	CHECK(startcheck_backend("wg0", WG_BACKEND_KERNEL, &p, why,
	    sizeof(why)) == 0, "modules.dep's wireguard.ko.xz: %s", why);
	CHECK(startcheck_backend("wg0", WG_BACKEND_AUTO, &p, why,
	    sizeof(why)) == 0, "auto with the module: %s", why);
	CHECK(startcheck_backend("wg0", WG_BACKEND_USERSPACE, &p, why,
	    sizeof(why)) == -1, "userspace passes with a module only");
	unlink(path);

	TEST("a built-in or loaded module");
	snprintf(path, sizeof(path), "%s/6.1.0-test/modules.builtin", mods);
	put_file(path, "kernel/drivers/net/wireguard/wireguard.ko\n");
	CHECK(startcheck_backend("wg0", WG_BACKEND_KERNEL, &p, why,
	    sizeof(why)) == 0, "modules.builtin: %s", why);
	unlink(path);
	snprintf(path, sizeof(path), "%s/wireguard", sys);
	mkdir(path, 0755);
	CHECK(startcheck_backend("wg0", WG_BACKEND_KERNEL, &p, why,
	    sizeof(why)) == 0, "/sys/module/wireguard: %s", why);
	rmdir(path);

	TEST("a UAPI socket");
	snprintf(path, sizeof(path), "%s/wg0.sock", run);
	put_socket(path);
	CHECK(startcheck_backend("wg0", WG_BACKEND_USERSPACE, &p, why,
	    sizeof(why)) == 0, "userspace with a socket: %s", why);
	CHECK(startcheck_backend("wg0", WG_BACKEND_AUTO, &p, why,
	    sizeof(why)) == 0, "auto with a socket: %s", why);
	CHECK(startcheck_backend("wg1", WG_BACKEND_AUTO, &p, why,
	    sizeof(why)) == -1, "wg0's socket taken for wg1's");
	unlink(path);
	put_file(path, "");
	CHECK(startcheck_backend("wg0", WG_BACKEND_USERSPACE, &p, why,
	    sizeof(why)) == -1, "a plain file taken for a socket");
	unlink(path);
	snprintf(path, sizeof(path), "%s/6.1.0-test", mods);
	rmdir(path);
	rmdir(sys);
	rmdir(mods);
	rmdir(run);
}

int
main(void)
{
	char	 tmp[] = "/tmp/test_startcheck.XXXXXX";

	log_init(1, 0);
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_user();
	test_chroot(tmp);
	test_dirs(tmp);
	test_backend(tmp);
	if (rmdir(tmp) == -1)
		printf("FAIL: %s left behind: %s\n", tmp, strerror(errno));
	return (regress_end());
}
