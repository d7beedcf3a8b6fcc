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
 * What the start needs of this host, beyond the configuration file: the
 * user the children run as, the engine's empty root, the state directory
 * and the key directories, and a WireGuard implementation for each
 * interface.  "wgmeshd -n" and the parent's start run the same checks,
 * so a unit's "ExecStartPre=wgmeshd -n" fails with the line that the
 * start would have failed with, and each line says how to fix it.
 *
 * Each check writes why it fails into a buffer (the unit test compares
 * the texts) and takes the paths it looks at from a startcheck_paths,
 * so that a test can point it at directories of its own.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wgmeshd.h"
#include "conf.h"

#define STARTCHECK_LINE_MAX	1024	/* a line of modules.dep */

const struct startcheck_paths startcheck_system = {
	.chroot = WGMESHD_CHROOT,
	.sys_module = "/sys/module",
	.modules = "/lib/modules",
	.uapi_dir = "/var/run/wireguard",
	.release = NULL,
};

static int	 dir_parent(const char *, char *, size_t);
static int	 modules_list(const char *);
static int	 kernel_has_module(const struct startcheck_paths *, char *,
		    size_t);
static int	 uapi_present(const char *, const char *, char *, size_t);

int
startcheck_user(const char *user, char *why, size_t len)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0 && errno != ENOENT && errno != ESRCH)
			snprintf(why, len, "user %s: %s", user,
			    strerror(errno));
		else
			snprintf(why, len, "user %s does not exist; create it "
			    "with: useradd -r -d %s -s /usr/sbin/nologin %s",
			    user, WGMESHD_CHROOT, user);
		endpwent();
		return (-1);
	}
	if (pw->pw_uid == 0) {
		snprintf(why, len, "user %s has uid 0; the engine and the "
		    "storage process must not run as root: name another "
		    "user", user);
		endpwent();
		return (-1);
	}
	endpwent();
	return (0);
}

/*
 * The engine's root: a directory owned by root that nobody else may
 * write (sandbox.c's privdrop() refuses anything else).
 */
int
startcheck_chroot(const char *dir, char *why, size_t len)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			snprintf(why, len, "%s (the engine's root) does not "
			    "exist; create it with: mkdir -m 0755 %s", dir,
			    dir);
		else
			snprintf(why, len, "%s (the engine's root): %s", dir,
			    strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s (the engine's root): not a directory; "
		    "it must be an empty directory owned by root", dir);
		return (-1);
	}
	if (st.st_uid != 0) {
		snprintf(why, len, "%s: owned by uid %u, not root; fix with: "
		    "chown root %s", dir, (unsigned int)st.st_uid, dir);
		return (-1);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, len, "%s: writable by group or others (mode "
		    "%04o); fix with: chmod go-w %s", dir,
		    (unsigned int)(st.st_mode & 07777), dir);
		return (-1);
	}
	return (0);
}

/* The directory that holds path, in buf: "." for a relative name. */
static int
dir_parent(const char *path, char *buf, size_t len)
{
	char	*p;

	if (strlcpy(buf, path, len) >= len)
		return (-1);
	/* "/a/b/" names /a/b */
	while ((p = strrchr(buf, '/')) != NULL && p != buf && p[1] == '\0')
		*p = '\0';
	if ((p = strrchr(buf, '/')) == NULL)
		strlcpy(buf, ".", len);
	else if (p == buf)
		buf[1] = '\0';
	else
		*p = '\0';
	return (0);
}

/*
 * A directory the parent creates when it is missing (the state
 * directory, a private key's): it must be a directory if it exists, and
 * the one above it must exist if it does not.
 */
int
startcheck_dir(const char *what, const char *dir, char *why, size_t len)
{
	char		 up[PATH_MAX];
	struct stat	 st;

	if (lstat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return (0);
		snprintf(why, len, "%s %s: not a directory", what, dir);
		return (-1);
	}
	if (errno != ENOENT) {
		snprintf(why, len, "%s %s: %s", what, dir, strerror(errno));
		return (-1);
	}
	if (dir_parent(dir, up, sizeof(up)) == -1) {
		snprintf(why, len, "%s %s: path too long", what, dir);
		return (-1);
	}
	if (stat(up, &st) == 0 && S_ISDIR(st.st_mode))
		return (0);	/* the daemon makes it (0700) */
	snprintf(why, len, "%s %s: %s does not exist; create it with: "
	    "mkdir -p %s", what, dir, up, up);
	return (-1);
}

/* Whether the modules list at path names wireguard.ko (maybe compressed). */
static int
modules_list(const char *path)
{
	char	 line[STARTCHECK_LINE_MAX], *p;
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(path, "re")) == NULL)
		return (0);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		/* modules.dep: "kernel/…/wireguard.ko.xz: deps" */
		if ((p = strchr(line, ':')) != NULL)
			*p = '\0';
		line[strcspn(line, "\n")] = '\0';
		if ((p = strrchr(line, '/')) == NULL)
			p = line;
		else
			p++;
		if (strncmp(p, "wireguard.ko", 12) == 0 &&
		    (p[12] == '\0' || p[12] == '.'))
			found = 1;
	}
	fclose(f);
	return (found);
}

/*
 * The kernel's WireGuard: loaded (or built in, with a /sys/module entry),
 * or listed where modprobe and the kernel's module loader find it.  The
 * places looked at go in where, for the message.
 */
static int
kernel_has_module(const struct startcheck_paths *paths, char *where,
    size_t len)
{
	struct utsname	 u;
	struct stat	 st;
	const char	*release = paths->release;
	char		 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/wireguard", paths->sys_module);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return (1);
	if (release == NULL) {
		if (uname(&u) == -1)
			return (0);
		release = u.release;
	}
	snprintf(path, sizeof(path), "%s/%s/modules.dep", paths->modules,
	    release);
	snprintf(where, len, "%s/wireguard, %s", paths->sys_module, path);
	if (modules_list(path))
		return (1);
	snprintf(path, sizeof(path), "%s/%s/modules.builtin",
	    paths->modules, release);
	return (modules_list(path));
}

/* A UAPI socket for ifname: a userspace implementation runs it. */
static int
uapi_present(const char *dir, const char *ifname, char *path, size_t len)
{
	struct stat	 st;

	snprintf(path, len, "%s/%s.sock", dir, ifname);
	return (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
}

int
startcheck_backend(const char *ifname, int backend,
    const struct startcheck_paths *paths, char *why, size_t len)
{
	char	 sock[PATH_MAX], where[2 * PATH_MAX];
	int	 kernel, user;

	where[0] = '\0';
	user = uapi_present(paths->uapi_dir, ifname, sock, sizeof(sock));
	switch (backend) {
	case WG_BACKEND_USERSPACE:
		if (user)
			return (0);
		snprintf(why, len, "%s: backend userspace: no UAPI socket %s; "
		    "start wireguard-go %s (or boringtun) before wgmeshd",
		    ifname, sock, ifname);
		return (-1);
	case WG_BACKEND_KERNEL:
		if (kernel_has_module(paths, where, sizeof(where)))
			return (0);
		snprintf(why, len, "%s: backend kernel: no wireguard kernel "
		    "module (looked in %s); install the running kernel's "
		    "modules, or start wireguard-go %s and say \"backend "
		    "userspace\"", ifname, where, ifname);
		return (-1);
	default:
		if (user)
			return (0);
		kernel = kernel_has_module(paths, where, sizeof(where));
		if (kernel)
			return (0);
		snprintf(why, len, "%s: no WireGuard: no kernel module (looked "
		    "in %s) and no UAPI socket %s; install the running "
		    "kernel's modules, or start wireguard-go %s before "
		    "wgmeshd (\"backend userspace\" makes that the only "
		    "choice)", ifname, where, sock, ifname);
		return (-1);
	}
}

/*
 * Every check, each failure logged on a line of its own; returns the
 * number of failures.
 */
int
startcheck(const struct wgmeshd_conf *conf,
    const struct startcheck_paths *paths)
{
	const struct iface_conf	*iface;
	char			 why[3 * PATH_MAX], dir[PATH_MAX];
	int			 failed = 0;

	if (startcheck_user(conf->user, why, sizeof(why)) == -1) {
		log_warnx("%s", why);
		failed++;
	}
	if (startcheck_chroot(paths->chroot, why, sizeof(why)) == -1) {
		log_warnx("%s", why);
		failed++;
	}
	if (startcheck_dir("state-directory", conf->state_dir, why,
	    sizeof(why)) == -1) {
		log_warnx("%s", why);
		failed++;
	}
	TAILQ_FOREACH(iface, &conf->ifaces, entry) {
		if (dir_parent(iface->private_key_file, dir,
		    sizeof(dir)) == 0 && startcheck_dir("the directory of "
		    "private-key-file", dir, why, sizeof(why)) == -1) {
			log_warnx("%s: %s", iface->ifname, why);
			failed++;
		}
		if (startcheck_backend(iface->ifname, iface->backend, paths,
		    why, sizeof(why)) == -1) {
			log_warnx("%s", why);
			failed++;
		}
	}
	return (failed);
}
