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


#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "conf.h"
#include "regress.h"

static char	 tmpdir[] = "/tmp/wgmeshd-test-keys.XXXXXX";

static void	 path(char *, size_t, const char *);
static void	 put(const char *, const char *, mode_t);
static struct wgmeshd_conf *conf_from(const char *);
static void	 test_create(void);
static void	 test_read(void);
static void	 test_conf(void);
static int	 read_bounded(const char *);
static void	 test_special(void);
static void	 test_write(void);
static void	 test_self(void);
static void	 test_overlay(void);
static void	 cleanup(void);

static void
path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void
put(const char *name, const char *content, mode_t mode)
{
	char	p[256];
	FILE	*fp;

	path(p, sizeof(p), name);
	unlink(p);
	if ((fp = fopen(p, "w")) == NULL || fputs(content, fp) == EOF ||
	    fclose(fp) == EOF || chmod(p, mode) == -1) {
		printf("cannot write %s\n", p);
		exit(2);
	}
}

static struct wgmeshd_conf *
conf_from(const char *text)
{
	struct wgmeshd_conf	*conf;
	FILE			*fp;

	if ((fp = fmemopen((void *)text, strlen(text), "r")) == NULL) {
		printf("fmemopen failed\n");
		exit(2);
	}
	conf = parse_config_stream("test.conf", fp);
	fclose(fp);
	return (conf);
}

static void
test_create(void)
{
	uint8_t		 key[WG_KEY_LEN], back[WG_KEY_LEN], zero[WG_KEY_LEN];
	char		 p[256], buf[128];
	struct stat	 st;
	int		 fd;
	ssize_t		 n;

	TEST("private key files are created 0600, atomically");
	path(p, sizeof(p), "sub/wg0.key");
	CHECK(key_file_create(p, key) == 0, "create in a missing directory");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "mode %04o", (unsigned)(st.st_mode & 07777));
	path(buf, sizeof(buf), "sub");
	CHECK(stat(buf, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "directory mode %04o", (unsigned)(st.st_mode & 07777));
	CHECK((key[0] & 7) == 0 && (key[31] & 0xc0) == 0x40, "clamped");
	memset(zero, 0, sizeof(zero));
	CHECK(memcmp(key, zero, sizeof(zero)) != 0, "not zero");
	fd = open(p, O_RDONLY);
	n = fd == -1 ? -1 : read(fd, buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	CHECK(n == 45 && buf[44] == '\n', "file is one base64 line (%zd)", n);
	CHECK(key_file_read(p, back) == 0 && memcmp(key, back, 32) == 0,
	    "reads back");
	CHECK(key_file_create(p, back) == -1, "an existing key is replaced");
	CHECK(key_file_read(p, back) == 0 && memcmp(key, back, 32) == 0,
	    "the existing key changed");
	path(buf, sizeof(buf), "sub");
	CHECK(access(buf, F_OK) == 0, "directory gone");
	path(p, sizeof(p), "missing/deeper/wg0.key");
	CHECK(key_file_create(p, key) == -1, "created two directory levels");
}

static void
test_read(void)
{
	uint8_t	key[WG_KEY_LEN], want[WG_KEY_LEN];
	char	p[256], q[256];

	TEST("private key files are checked before use");
	key_from_base64(want, "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=");
	path(p, sizeof(p), "none.key");
	CHECK(key_file_read(p, key) == KEY_FILE_MISSING, "missing file");
	put("ok.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\n", 0600);
	path(p, sizeof(p), "ok.key");
	CHECK(key_file_read(p, key) == 0 && memcmp(key, want, 32) == 0,
	    "good key");
	put("nonl.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=", 0400);
	path(p, sizeof(p), "nonl.key");
	CHECK(key_file_read(p, key) == 0, "no newline, mode 0400");
	put("crlf.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\r\n",
	    0600);
	path(p, sizeof(p), "crlf.key");
	CHECK(key_file_read(p, key) == 0, "CRLF");
	put("world.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\n",
	    0644);
	path(p, sizeof(p), "world.key");
	CHECK(key_file_read(p, key) == -1, "world-readable accepted");
	put("group.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\n",
	    0640);
	path(p, sizeof(p), "group.key");
	CHECK(key_file_read(p, key) == -1, "group-readable accepted");
	put("short.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0h\n", 0600);
	path(p, sizeof(p), "short.key");
	CHECK(key_file_read(p, key) == -1, "short key accepted");
	put("two.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\n"
	    "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\n", 0600);
	path(p, sizeof(p), "two.key");
	CHECK(key_file_read(p, key) == -1, "two lines accepted");
	put("empty.key", "", 0600);
	path(p, sizeof(p), "empty.key");
	CHECK(key_file_read(p, key) == -1, "empty file accepted");
	path(p, sizeof(p), "ok.key");
	path(q, sizeof(q), "link.key");
	CHECK(symlink(p, q) == 0 && key_file_read(q, key) == -1,
	    "symbolic link followed");
	CHECK(key_file_read(tmpdir, key) == -1, "directory accepted");
}

/*
 * key_file_read() in a child that SIGALRM ends after 5 s: the exit
 * status is 0 for a key read, 1 for a refusal, and 2 if it hung.
 */
static int
read_bounded(const char *p)
{
	uint8_t	 key[WG_KEY_LEN];
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		exit(2);
	if (pid == 0) {
		alarm(5);
		_exit(key_file_read(p, key) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid)
		exit(2);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 2);
}

static void
test_special(void)
{
	struct wgmeshd_conf	*conf;
	uint8_t			 key[WG_KEY_LEN];
	char			 p[256], d[256], text[1024];
	int			 r;

	TEST("key files: FIFOs, and the directories above them");
	path(p, sizeof(p), "fifo.key");
	CHECK(mkfifo(p, 0600) == 0, "mkfifo %s", p);
	r = read_bounded(p);
	CHECK(r == 1, "a FIFO as key file: %s", r == 2 ? "hung" : "read");

	/* a directory others may write: they could swap the key */
	path(d, sizeof(d), "gw");
	CHECK(mkdir(d, 0700) == 0 && chmod(d, 0770) == 0, "mkdir %s", d);
	put("gw/wg0.key", "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\n",
	    0600);
	path(p, sizeof(p), "gw/wg0.key");
	CHECK(key_file_read(p, key) == -1, "a key in a group-writable "
	    "directory accepted");
	CHECK(chmod(d, 0703) == 0 && key_file_read(p, key) == -1,
	    "a key in a world-writable directory accepted");
	CHECK(chmod(d, 01777) == 0 && key_file_read(p, key) == 0,
	    "a key in a sticky directory (as /tmp) refused");
	CHECK(chmod(d, 0700) == 0 && chown(d, 65534, 65534) == 0 &&
	    key_file_read(p, key) == -1,
	    "a key in a directory of uid 65534 accepted");
	path(p, sizeof(p), "gw/new.key");
	CHECK(key_file_create(p, key) == -1 && access(p, F_OK) == -1,
	    "a key created in a directory of uid 65534");
	CHECK(chown(d, 0, 0) == 0 && chmod(d, 0770) == 0 &&
	    key_file_create(p, key) == -1 && access(p, F_OK) == -1,
	    "a key created in a group-writable directory");

	/* an include, likewise */
	put("gw/inc.conf", "# nothing\n", 0600);
	path(p, sizeof(p), "gw/inc.conf");
	snprintf(text, sizeof(text), "include \"%s\"\n"
	    "interface wg0 {\n\tname \"bernard\"\n"
	    "\tprivate-key-file \"/nonexistent/wg0.key\"\n}\n", p);
	CHECK((conf = conf_from(text)) == NULL,
	    "an include in a group-writable directory accepted");
	conf_free(conf);
	CHECK(chmod(d, 0700) == 0 && (conf = conf_from(text)) != NULL,
	    "an include in a private directory refused");
	conf_free(conf);
}

/* what the parent refuses as an endpoint: the mesh's own addresses */
static void
test_overlay(void)
{
	static const struct {
		const char	*addr;
		int		 in;
	} t[] = {
		{ "fd00:1c86:78d4:dcef::1", 1 },	/* bernard, derived */
		{ "fd00:1c86:78d4:dcef:1::9", 1 },
		{ "fd00:cac2:10cb:6ee9::1", 1 },	/* edgeworth */
		{ "fd00:cac2:10cb:6eea::1", 0 },
		{ "198.18.0.7", 1 },			/* an address's /24 */
		{ "fd00:198:18::2", 1 },
		{ "198.18.1.200", 1 },			/* allowed-ips */
		{ "198.18.3.1", 0 },			/* under 0.0.0.0/0 */
		{ "2001:db8::1", 0 },
		{ "fd00::9e02:62c:24f9:2411", 1 },	/* edgeworth's control */
		{ "fd00::1", 0 },	/* a router's ULA: not ours */
	};
	struct wgmeshd_conf	*conf;
	struct imsg_addr	 a;
	size_t			 i;

	TEST("conf_endpoint_in_overlay");
	conf = conf_from("interface testwg {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"/nonexistent/wg0.key\"\n"
	    "\taddress auto\n"
	    "\taddress \"198.18.0.1/24\"\n"
	    "\taddress \"fd00:198:18::1/64\"\n"
	    "\tpeer edgeworth {\n"
	    "\t\tpublic-key \"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\"\n"
	    "\t\tallowed-ips auto\n"
	    "\t\tallowed-ips \"198.18.1.0/24\"\n"
	    "\t\tallowed-ips \"0.0.0.0/0\"\n"
	    "\t}\n"
	    "}\n");
	if (conf == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.port = 51820;
		if (inet_pton(AF_INET, t[i].addr, a.addr) == 1)
			a.af = AF_INET;
		else if (inet_pton(AF_INET6, t[i].addr, a.addr) == 1)
			a.af = AF_INET6;
		CHECK(a.af != 0 && conf_endpoint_in_overlay(conf, &a) ==
		    t[i].in, "%s: %s the overlay", t[i].addr,
		    t[i].in ? "not in" : "in");
	}
	conf_free(conf);
}

static void
test_conf(void)
{
	struct wgmeshd_conf	*conf;
	struct iface_conf	*iface;
	char			 text[2048], p[256], b64[WG_KEY_B64_LEN];
	uint8_t			 key[WG_KEY_LEN];

	TEST("conf_load_keys");
	path(p, sizeof(p), "conf/wg0.key");
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"%s\"\n"
	    "\tpeer edgeworth {\n"
	    "\t\tpublic-key \"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\"\n"
	    "\t}\n"
	    "}\n", p);
	if ((conf = conf_from(text)) == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	iface = TAILQ_FIRST(&conf->ifaces);
	CHECK(conf_load_keys(conf, 0) == 0 && !iface->has_public_key,
	    "a missing key is fine for a check");
	CHECK(access(p, F_OK) == -1 && errno == ENOENT,
	    "a check created the key");
	CHECK(conf_load_keys(conf, KEYS_CREATE) == 0 && iface->has_public_key,
	    "key not created");
	CHECK(key_file_read(p, key) == 0, "created key unreadable");
	CHECK(conf_load_keys(conf, 0) == 0 && iface->has_public_key,
	    "existing key not read");
	conf_free(conf);

	/* this node's own key among its peers */
	key_public_from_private(key, key);
	key_to_base64(b64, key);
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"%s\"\n"
	    "\tpeer edgeworth {\n"
	    "\t\tpublic-key \"%s\"\n"
	    "\t}\n"
	    "}\n", p, b64);
	if ((conf = conf_from(text)) == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	CHECK(conf_load_keys(conf, 0) == -1, "own key among peers accepted");
	conf_free(conf);

	/* secret files must exist and be private */
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"%s\"\n"
	    "\tpreshared-key-file \"%s/missing.psk\"\n"
	    "}\n", p, tmpdir);
	if ((conf = conf_from(text)) == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	CHECK(conf_load_keys(conf, 0) == -1, "missing psk accepted");
	conf_free(conf);
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"%s\"\n"
	    "\tgossip-secret-file \"%s/world.key\"\n"
	    "}\n", p, tmpdir);
	if ((conf = conf_from(text)) == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	CHECK(conf_load_keys(conf, 0) == -1,
	    "world-readable gossip secret accepted");
	conf_free(conf);
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"%s\"\n"
	    "\tgossip-secret-file \"%s/ok.key\"\n"
	    "\tpreshared-key-file \"%s/ok.key\"\n"
	    "}\n", p, tmpdir, tmpdir);
	if ((conf = conf_from(text)) == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	CHECK(conf_load_keys(conf, 0) == 0, "good secret files refused");
	conf_free(conf);
}

/* wgmeshgen's secrets: 0600 whatever the umask, never replaced */
static void
test_write(void)
{
	uint8_t		 key[WG_KEY_LEN], back[WG_KEY_LEN];
	char		 p[256];
	struct stat	 st;
	mode_t		 old;

	TEST("key_file_write: 0600 under umask 022, an existing file kept");
	path(p, sizeof(p), "write/mesh.psk");
	memset(key, 0xa5, sizeof(key));
	old = umask(022);
	CHECK(key_file_write(p, key) == 0, "write in a missing directory");
	umask(old);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "mode %04o", (unsigned)(st.st_mode & 07777));
	CHECK(key_file_read(p, back) == 0 && memcmp(key, back, 32) == 0,
	    "not clamped, reads back");
	memset(key, 0x5a, sizeof(key));
	CHECK(key_file_write(p, key) == -1, "an existing secret is replaced");
	CHECK(key_file_read(p, back) == 0 && back[0] == 0xa5,
	    "the existing secret changed");
}

/*
 * One file for every node: the entry with this node's name is taken out
 * of the peers, its key held against the private key, and a missing
 * private key is not created for it (a new one could never match).
 */
static void
test_self(void)
{
	struct wgmeshd_conf	*conf;
	struct iface_conf	*iface;
	char			 text[2048], p[256], b64[WG_KEY_B64_LEN];
	uint8_t			 key[WG_KEY_LEN];
	int			 i;

	TEST("this node's own entry");
	path(p, sizeof(p), "self/wg0.key");
	for (i = 0; i < 2; i++) {
		if (i == 0)	/* the key of a file that does not exist yet */
			strlcpy(b64, "QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=",
			    sizeof(b64));
		else {		/* the key of the file that exists now */
			CHECK(key_file_create(p, key) == 0, "no key made");
			key_public_from_private(key, key);
			key_to_base64(b64, key);
		}
		snprintf(text, sizeof(text),
		    "interface wg0 {\n"
		    "\tname \"bernard\"\n"
		    "\tprivate-key-file \"%s\"\n"
		    "\tpeer bernard {\n"
		    "\t\tpublic-key \"%s\"\n"
		    "\t\tendpoint \"198.18.0.1:51820\"\n"
		    "\t}\n"
		    "\tpeer edgeworth {\n"
		    "\t\tpublic-key \"8UOJSwRQ5fKN+l4dPuBwOL7Z/8J/WsuYgN/4kATt/R0=\"\n"
		    "\t}\n"
		    "}\n", p, b64);
		if ((conf = conf_from(text)) == NULL) {
			CHECK(0, "test configuration refused");
			return;
		}
		iface = TAILQ_FIRST(&conf->ifaces);
		CHECK(iface->self != NULL && iface->npeers == 1 &&
		    strcmp(TAILQ_FIRST(&iface->peers)->name, "edgeworth") == 0,
		    "the entry is not taken out of the peers");
		CHECK(iface->self != NULL && iface->self->has_endpoint,
		    "its endpoint is not kept");
		if (i == 0) {
			CHECK(conf_load_keys(conf, KEYS_CREATE) == -1,
			    "missing key accepted");
			CHECK(access(p, F_OK) == -1,
			    "a key that could not match was made");
		} else
			CHECK(conf_load_keys(conf, KEYS_CREATE) == 0 &&
			    iface->has_public_key, "the matching key refused");
		conf_free(conf);
	}
	/* a key that exists, an entry that names another */
	snprintf(text, sizeof(text),
	    "interface wg0 {\n"
	    "\tname \"bernard\"\n"
	    "\tprivate-key-file \"%s\"\n"
	    "\tpeer bernard {\n"
	    "\t\tpublic-key \"QgERRQnE+blQaVNMNiQZ+uk+HEOFKVTmvg4O+MqQ0hA=\"\n"
	    "\t}\n"
	    "}\n", p);
	if ((conf = conf_from(text)) == NULL) {
		CHECK(0, "test configuration refused");
		return;
	}
	CHECK(conf_load_keys(conf, 0) == -1, "another node's key accepted");
	CHECK(key_file_read(p, key) == 0, "the key was touched");
	conf_free(conf);
}

static void
cleanup(void)
{
	char	cmd[512];

	/* tmpdir is ours and made by mkdtemp above */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("could not remove %s\n", tmpdir);
}

int
main(void)
{
	if (sodium_init() == -1 || mkdtemp(tmpdir) == NULL) {
		printf("set-up failed\n");
		return (1);
	}
	test_create();
	test_read();
	test_conf();
	test_special();
	test_overlay();
	test_write();
	test_self();
	cleanup();
	return (regress_end());
}
