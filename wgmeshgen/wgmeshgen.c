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
 * wgmeshgen: a whole mesh made offline, on the operator's machine: every
 * host's private key, one preshared key, one gossip secret and the one
 * configuration file that every host is given (wgmeshd.conf(5): ONE FILE
 * FOR EVERY NODE).  It is a program of its own, as ssh-keygen is beside
 * ssh: wgmeshctl only talks to a running daemon, and this needs none.
 *
 * What it must never do is replace a secret: a key that exists is read
 * and kept, new ones are linked into place (key_file_write() in
 * wgmeshd/keys.c, the daemon's own code), and the configuration, which
 * holds no secret, is made again from what it held and the command line.
 * Everything is read and checked before anything is written.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "conf.h"

#define HOSTS_MAX	4096		/* nodes in one mesh */
#define CONF_NAME	"wgmeshd.conf"

struct host {
	char		 name[NODE_NAME_MAX];
	char		 endpoint[ENDPOINT_STR_MAX];	/* "": none */
	uint8_t		 public_key[WG_KEY_LEN];
	int		 has_key;	/* known: from the file or a key file */
	int		 named;		/* on the command line */
	char		 where[PATH_MAX + 16];	/* that entry: file:line */
	int		 key_missing;	/* no key file: to be made */
};

static __dead void	 usage(void);
static int		 host_cmp(const void *, const void *);
static struct host	*host_find(const char *);
static struct host	*host_add(const char *);
static void		 hosts_from_conf(const char *, const char *);
static void		 host_from_arg(const char *);
static void		 hosts_check(const char *);
static void		 path_join(char *, size_t, const char *, const char *);
static int		 conf_header_ok(const char *, const char *);
static int		 secret_read(const char *);
static void		 secret_make(const char *, const char *, int);
static void		 host_keys_read(const char *, const char *);
static void		 host_keys_make(const char *, const char *);
static char		*conf_text(const char *, const char *, const char *,
			    size_t *);
static void		 conf_write(const char *, const char *, const char *,
			    size_t);
static void		 print_quoted(FILE *, const char *);

static struct host	*hosts;
static size_t		 nhosts;
static int		 errors;

extern char		*__progname;

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-k keydir] -i interface -o directory "
	    "host[=endpoint] ...\n", __progname);
	exit(1);
}

static int
host_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct host *)a)->name,
	    ((const struct host *)b)->name));
}

static struct host *
host_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nhosts; i++)
		if (strcmp(hosts[i].name, name) == 0)
			return (&hosts[i]);
	return (NULL);
}

static struct host *
host_add(const char *name)
{
	struct host	*h;

	if (nhosts >= HOSTS_MAX)
		errx(1, "more than %d hosts", HOSTS_MAX);
	/* a host's name is its key's directory: nothing outside DIR */
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		errx(1, "\"%s\" cannot be a host's name here", name);
	h = &hosts[nhosts++];
	memset(h, 0, sizeof(*h));
	strlcpy(h->name, name, sizeof(h->name));
	return (h);
}

/*
 * The hosts of a file made before, read with wgmeshd's own parser: their
 * public keys are kept (a host whose key file was deleted after it was
 * copied keeps its key), and so are their endpoints unless the command
 * line names them.  The parser takes the entry with this machine's host
 * name as "this node": it is one of the hosts all the same.
 */
static void
hosts_from_conf(const char *path, const char *ifname)
{
	struct wgmeshd_conf	*conf;
	struct iface_conf	*ifc;
	struct peer_conf	*p;
	struct host		*h;
	char			 buf[ENDPOINT_STR_MAX];

	if ((conf = parse_config(path)) == NULL)
		errx(1, "%s: cannot be read again; mend it or move it away",
		    path);
	ifc = TAILQ_FIRST(&conf->ifaces);
	if (conf->nifaces != 1 || strcmp(ifc->ifname, ifname) != 0)
		errx(1, "%s: not a mesh on interface %s alone", path, ifname);
	if (ifc->self != NULL)
		TAILQ_INSERT_HEAD(&ifc->peers, ifc->self, entry);
	TAILQ_FOREACH(p, &ifc->peers, entry) {
		h = host_add(p->name);
		memcpy(h->public_key, p->public_key, WG_KEY_LEN);
		h->has_key = 1;
		snprintf(h->where, sizeof(h->where), "%s:%d", p->file,
		    p->lineno);
		if (p->has_endpoint)
			strlcpy(h->endpoint, endpoint_ntop(&p->endpoint, buf,
			    sizeof(buf)), sizeof(h->endpoint));
	}
	/* among the peers now, conf_free() frees it once */
	ifc->self = NULL;
	conf_free(conf);
}

/* "name" or "name=endpoint"; the command line is the truth for a name. */
static void
host_from_arg(const char *arg)
{
	struct endpoint	 ep;
	struct host	*h;
	const char	*eq, *errstr = NULL;
	char		 name[NODE_NAME_MAX], buf[ENDPOINT_STR_MAX];
	size_t		 len;

	eq = strchr(arg, '=');
	len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (len >= sizeof(name)) {
		log_warnx("%s: host name too long", printable(arg));
		errors++;
		return;
	}
	memcpy(name, arg, len);
	name[len] = '\0';
	if (!node_name_valid(name)) {
		log_warnx("invalid host name \"%s\": use 1 to 63 letters, "
		    "digits, \".\", \"_\" or \"-\"", printable(name));
		errors++;
		return;
	}
	if (eq != NULL && endpoint_parse(eq + 1, &ep, &errstr) == -1) {
		log_warnx("%s: endpoint \"%s\": %s", name, printable(eq + 1),
		    errstr != NULL ? errstr : "invalid");
		errors++;
		return;
	}
	if ((h = host_find(name)) == NULL)
		h = host_add(name);
	else if (h->named) {
		log_warnx("%s: named twice", name);
		errors++;
		return;
	}
	h->named = 1;
	if (eq != NULL)
		strlcpy(h->endpoint, endpoint_ntop(&ep, buf, sizeof(buf)),
		    sizeof(h->endpoint));
	else
		h->endpoint[0] = '\0';
}

/* What every node would refuse: derived addresses that collide. */
static void
hosts_check(const char *ifname)
{
	struct prefix	*d;
	char		 buf[PREFIX_STR_MAX];
	size_t		 i, j;

	if ((d = calloc(nhosts, sizeof(*d))) == NULL)
		err(1, "%s", __func__);
	for (i = 0; i < nhosts; i++) {
		address_derive(&d[i], hosts[i].name, ifname);
		for (j = 0; j < i; j++) {
			if (!address_collides(&d[i], &d[j]))
				continue;
			log_warnx("hosts \"%s\" and \"%s\" derive the same "
			    "address %s on %s: rename one", hosts[j].name,
			    hosts[i].name, prefix_ntop(&d[i], buf, sizeof(buf)),
			    ifname);
			errors++;
		}
	}
	free(d);
}

static void
path_join(char *buf, size_t len, const char *dir, const char *name)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		errx(1, "%s/%s: path too long", dir, name);
}

/*
 * The first line says which program made the file, for which interface:
 * a file that is not ours is never replaced.  1: ours, 0: no file.
 */
static int
conf_header_ok(const char *path, const char *header)
{
	char	 line[256];
	FILE	*fp;
	int	 ok;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return (0);
		err(1, "%s", path);
	}
	ok = fgets(line, sizeof(line), fp) != NULL &&
	    strcmp(line, header) == 0;
	fclose(fp);
	if (!ok)
		errx(1, "%s: not made by %s for this interface (its first line "
		    "is not \"%.*s\"); move it away", path, __progname,
		    (int)strcspn(header, "\n"), header);
	return (1);
}

/*
 * A preshared key or gossip secret that exists must be readable as the
 * daemon would read it: 1 if it is, 0 if there is none, -1 (said why).
 */
static int
secret_read(const char *path)
{
	uint8_t	 key[WG_KEY_LEN];
	int	 r;

	r = key_file_read(path, key);
	sodium_memzero(key, sizeof(key));
	if (r == -1)
		errors++;
	return (r == 0 ? 1 : r == KEY_FILE_MISSING ? 0 : -1);
}

/* A preshared key or gossip secret: kept if it exists, else made. */
static void
secret_make(const char *path, const char *what, int exists)
{
	uint8_t	 key[WG_KEY_LEN];

	if (exists) {
		printf("%s: kept (%s)\n", path, what);
		return;
	}
	randombytes_buf(key, sizeof(key));
	if (key_file_write(path, key) == -1)
		exit(1);
	sodium_memzero(key, sizeof(key));
	printf("%s: created (%s, mode 0600)\n", path, what);
}

/*
 * Every host's existing key is read before anything is written: a key
 * file that is unreadable, or that another entry of the file contradicts,
 * stops everything.
 */
static void
host_keys_read(const char *dir, const char *ifname)
{
	struct host	*h;
	uint8_t		 priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char		 path[PATH_MAX], key[NODE_NAME_MAX + IFNAMSIZ + 8], b64[WG_KEY_B64_LEN];
	char		 had[WG_KEY_B64_LEN];
	size_t		 i;
	int		 r;

	for (i = 0; i < nhosts; i++) {
		h = &hosts[i];
		snprintf(key, sizeof(key), "%s/%s.key", h->name, ifname);
		path_join(path, sizeof(path), dir, key);
		r = key_file_read(path, priv);
		if (r == KEY_FILE_MISSING) {
			/* a key that was copied, then deleted here, is kept */
			h->key_missing = !h->has_key;
			continue;
		}
		if (r == -1 || key_public_from_private(pub, priv) == -1) {
			if (r == 0)
				log_warnx("%s: not a usable private key",
				    path);
			errors++;
		} else if (h->has_key && sodium_memcmp(pub, h->public_key,
		    WG_KEY_LEN) != 0) {
			key_to_base64(b64, pub);
			key_to_base64(had, h->public_key);
			log_warnx("%s: its public key %s is not %s, which the "
			    "entry at %s carries", path, b64, had, h->where);
			errors++;
		} else {
			memcpy(h->public_key, pub, WG_KEY_LEN);
			h->has_key = 1;
		}
		sodium_memzero(priv, sizeof(priv));
	}
}

/* Says for every host what became of its key. */
static void
host_keys_make(const char *dir, const char *ifname)
{
	struct host	*h;
	uint8_t		 priv[WG_KEY_LEN];
	char		 path[PATH_MAX], key[NODE_NAME_MAX + IFNAMSIZ + 8], b64[WG_KEY_B64_LEN];
	size_t		 i;

	for (i = 0; i < nhosts; i++) {
		h = &hosts[i];
		snprintf(key, sizeof(key), "%s/%s.key", h->name, ifname);
		path_join(path, sizeof(path), dir, key);
		if (h->key_missing) {
			if (key_file_create(path, priv) == -1 ||
			    key_public_from_private(h->public_key,
			    priv) == -1)
				errx(1, "%s: could not make a key", path);
			sodium_memzero(priv, sizeof(priv));
			h->has_key = 1;
			key_to_base64(b64, h->public_key);
			printf("%s: created (private key of %s, mode 0600; "
			    "public key %s)\n", path, h->name, b64);
		} else if (access(path, F_OK) == -1) {
			key_to_base64(b64, h->public_key);
			printf("%s: absent; %s keeps public key %s from %s\n",
			    path, h->name, b64, h->where);
		} else {
			key_to_base64(b64, h->public_key);
			printf("%s: kept (private key of %s; public key %s)\n",
			    path, h->name, b64);
		}
	}
}

/* A string as the grammar reads it back. */
static void
print_quoted(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

/*
 * The file every node is given.  The same hosts and keys give the same
 * bytes (hosts sorted by name, no dates), so a second run changes
 * nothing.
 */
static char *
conf_text(const char *header, const char *ifname, const char *keydir,
    size_t *lenp)
{
	FILE		*fp;
	struct host	*h;
	char		*text = NULL, b64[WG_KEY_B64_LEN];
	char		 path[PATH_MAX];
	size_t		 i;

	if ((fp = open_memstream(&text, lenp)) == NULL)
		err(1, "%s", __func__);
	fputs(header, fp);
	fprintf(fp, "#\n"
	    "# The same file on every node: each finds its own entry by its "
	    "name (its\n"
	    "# host name unless \"name\" is set) and takes the others as its "
	    "peers.\n"
	    "# To add a host, run wgmeshgen again: it rewrites this file "
	    "with the\n"
	    "# entries it holds and the hosts it is given, and keeps every "
	    "key.\n\n");
	fprintf(fp, "interface %s {\n", ifname);
	fprintf(fp, "\tprivate-key-file ");
	snprintf(path, sizeof(path), "%s/%s.key", keydir, ifname);
	print_quoted(fp, path);
	fprintf(fp, "\n\tpreshared-key-file ");
	snprintf(path, sizeof(path), "%s/%s.psk", keydir, ifname);
	print_quoted(fp, path);
	fprintf(fp, "\n\tgossip-secret-file ");
	snprintf(path, sizeof(path), "%s/%s.gossip", keydir, ifname);
	print_quoted(fp, path);
	fprintf(fp, "\n");
	for (i = 0; i < nhosts; i++) {
		h = &hosts[i];
		key_to_base64(b64, h->public_key);
		fprintf(fp, "\n\tpeer ");
		print_quoted(fp, h->name);
		fprintf(fp, " {\n\t\tpublic-key \"%s\"\n", b64);
		if (h->endpoint[0] != '\0') {
			fprintf(fp, "\t\tendpoint ");
			print_quoted(fp, h->endpoint);
			fprintf(fp, "\n");
		}
		fprintf(fp, "\t}\n");
	}
	fprintf(fp, "}\n");
	if (fclose(fp) == EOF)
		err(1, "%s", __func__);
	return (text);
}

/* Written beside, then renamed over: no node is given half a file. */
static void
conf_write(const char *dir, const char *path, const char *text, size_t len)
{
	char		 tmp[PATH_MAX], *old = NULL;
	struct stat	 st;
	FILE		*fp;
	size_t		 oldlen = 0;
	int		 fd, dfd;

	if ((fp = fopen(path, "r")) != NULL) {
		if (fstat(fileno(fp), &st) == 0 && st.st_size >= 0 &&
		    (size_t)st.st_size == len &&
		    (old = malloc(len + 1)) != NULL)
			oldlen = fread(old, 1, len + 1, fp);
		fclose(fp);
		if (old != NULL && oldlen == len &&
		    memcmp(old, text, len) == 0) {
			free(old);
			printf("%s: unchanged (%zu hosts)\n", path, nhosts);
			return;
		}
		free(old);
	}
	path_join(tmp, sizeof(tmp), dir, "." CONF_NAME ".XXXXXX");
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		err(1, "cannot create %s", tmp);
	/* no secret in it: readable by all, as /etc/wgmeshd.conf may be */
	if (fchmod(fd, 0644) == -1 ||
	    write(fd, text, len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("%s", tmp);
		unlink(tmp);
		exit(1);
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	printf("%s: written (%zu hosts)\n", path, nhosts);
}

int
main(int argc, char *argv[])
{
	const char	*ifname = NULL, *dir = NULL, *keydir = WGMESHD_KEYDIR;
	char		 conf[PATH_MAX], psk[PATH_MAX], gossip[PATH_MAX];
	char		 name[IFNAMSIZ + 16];
	char		 header[128], *text;
	size_t		 len, i, before;
	int		 ch, had_conf, had_psk, had_gossip;

	/* the daemon's code that it shares says what is wrong on stderr */
	log_init(1, LOG_USER);
	log_procinit(__progname);
	while ((ch = getopt(argc, argv, "i:k:o:")) != -1) {
		switch (ch) {
		case 'i':
			ifname = optarg;
			break;
		case 'k':
			keydir = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (ifname == NULL || dir == NULL || argc == 0)
		usage();
	if (!ifname_valid(ifname))
		errx(1, "invalid interface name \"%s\"", printable(ifname));
	/* the hosts' path, written into the file: as the grammar wants it */
	if (keydir[0] != '/' || strlen(keydir) > PATH_MAX - IFNAMSIZ - 16 ||
	    strcspn(keydir, "\n\"\\") != strlen(keydir))
		errx(1, "-k %s: not an absolute path of plain characters",
		    printable(keydir));
	if (sodium_init() == -1)
		errx(1, "libsodium initialisation failed");
	if ((hosts = calloc(HOSTS_MAX, sizeof(*hosts))) == NULL)
		err(1, "calloc");

	snprintf(header, sizeof(header), "# " CONF_NAME " for interface %s, "
	    "made by wgmeshgen(8)\n", ifname);
	path_join(conf, sizeof(conf), dir, CONF_NAME);
	if ((had_conf = conf_header_ok(conf, header)) == 1)
		hosts_from_conf(conf, ifname);
	before = nhosts;
	for (i = 0; i < (size_t)argc; i++)
		host_from_arg(argv[i]);
	if (errors > 0)
		exit(1);
	qsort(hosts, nhosts, sizeof(*hosts), host_cmp);
	hosts_check(ifname);
	host_keys_read(dir, ifname);
	snprintf(name, sizeof(name), "%s.psk", ifname);
	path_join(psk, sizeof(psk), dir, name);
	had_psk = secret_read(psk);
	snprintf(name, sizeof(name), "%s.gossip", ifname);
	path_join(gossip, sizeof(gossip), dir, name);
	had_gossip = secret_read(gossip);
	if (errors > 0) {
		log_warnx("nothing written");
		exit(1);
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		err(1, "%s", dir);

	secret_make(psk, "preshared key", had_psk);
	secret_make(gossip, "gossip secret", had_gossip);
	host_keys_make(dir, ifname);

	text = conf_text(header, ifname, keydir, &len);
	conf_write(dir, conf, text, len);
	free(text);
	if (had_conf && nhosts > before)
		printf("new hosts: copy their keys and the secrets to them, "
		    "%s to every host, start them and reload the others\n",
		    conf);
	free(hosts);
	return (0);
}
