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

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"
#include "conf.h"

static int	 key_dir_ensure(const char *);
static int	 fsync_dir(const char *);
static int	 secret_file_check(const char *, const char *, const char *,
		    int);
static int	 self_check(const struct iface_conf *, int);

/*
 * Reads a key file holding one base64 key (as wg genkey writes it).  The
 * file must be a regular file owned by root or us and readable by nobody
 * else, in directories nobody else may write.  Returns 0,
 * KEY_FILE_MISSING without a message when the file does not exist, or -1
 * after saying what is wrong.
 */
int
key_file_read(const char *path, uint8_t key[WG_KEY_LEN])
{
	char		 buf[128];
	struct stat	 st;
	ssize_t		 n;
	size_t		 len;
	int		 fd, ret = -1;

	/* O_NONBLOCK: a FIFO put in the key's place must not hang us */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return (KEY_FILE_MISSING);
		if (errno == ELOOP)
			log_warnx("%s: a symbolic link; name the file itself",
			    path);
		else
			log_warn("%s", path);
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s: fstat", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", path);
		goto done;
	}
	if (file_check_secrecy(fd, path) == -1 || file_check_dirs(path) == -1)
		goto done;
	if ((n = read(fd, buf, sizeof(buf) - 1)) == -1) {
		log_warn("%s: read", path);
		goto done;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	if (buf[len] != '\0' && buf[len + strspn(buf + len, "\r\n")] != '\0') {
		log_warnx("%s: more than one line", path);
		goto done;
	}
	buf[len] = '\0';
	if (key_from_base64(key, buf) == -1) {
		log_warnx("%s: not a base64 WireGuard key", path);
		goto done;
	}
	ret = 0;
 done:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return (ret);
}

/* A key directory that is missing is made, for root only (0700). */
static int
key_dir_ensure(const char *path)
{
	char		 dir[PATH_MAX];
	struct stat	 st;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		log_warnx("%s: path too long", path);
		return (-1);
	}
	dirname(dir);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			log_warnx("%s: not a directory", dir);
			return (-1);
		}
		return (file_check_dirs(path));
	}
	if (errno != ENOENT || mkdir(dir, 0700) == -1) {
		log_warn("cannot create key directory %s", dir);
		return (-1);
	}
	return (0);
}

static int
fsync_dir(const char *path)
{
	char	dir[PATH_MAX];
	int	fd, ret;

	strlcpy(dir, path, sizeof(dir));
	dirname(dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	ret = fsync(fd);
	close(fd);
	return (ret);
}

/*
 * Writes a key or secret to a new file, mode 0600 whatever the umask.
 * It is written to a temporary file that is then linked into place:
 * link(2), unlike rename(2), never replaces a file that appeared in the
 * meantime, so an existing key or secret is never overwritten.
 */
int
key_file_write(const char *path, const uint8_t key[WG_KEY_LEN])
{
	char	 tmp[PATH_MAX], b64[WG_KEY_B64_LEN + 1];
	int	 fd, ret = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		log_warnx("%s: path too long", path);
		return (-1);
	}
	if (key_dir_ensure(path) == -1)
		return (-1);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("cannot create %s", tmp);
		return (-1);
	}
	key_to_base64(b64, key);
	b64[WG_KEY_B64_LEN - 1] = '\n';
	b64[WG_KEY_B64_LEN] = '\0';
	if (fchmod(fd, 0600) == -1) {
		log_warn("%s: fchmod", tmp);
		goto fail;
	}
	if (write(fd, b64, WG_KEY_B64_LEN) != WG_KEY_B64_LEN) {
		log_warn("%s: write", tmp);
		goto fail;
	}
	if (fsync(fd) == -1) {
		log_warn("%s: fsync", tmp);
		goto fail;
	}
	if (link(tmp, path) == -1) {
		log_warn("cannot create %s", path);
		goto fail;
	}
	if (fsync_dir(path) == -1)
		log_warn("%s: fsync of its directory", path);
	ret = 0;
 fail:
	if (unlink(tmp) == -1)
		log_warn("%s: unlink", tmp);
	close(fd);
	sodium_memzero(b64, sizeof(b64));
	return (ret);
}

/* Creates a new private key file (key_file_write()) with a new key. */
int
key_file_create(const char *path, uint8_t key[WG_KEY_LEN])
{
	randombytes_buf(key, WG_KEY_LEN);
	key_clamp(key);
	if (key_file_write(path, key) == -1) {
		sodium_memzero(key, WG_KEY_LEN);
		return (-1);
	}
	return (0);
}

/*
 * A preshared key or gossip secret: must exist, be private and hold a
 * key.  The value is only checked here; the parent reads it again when
 * it needs it.
 */
static int
secret_file_check(const char *path, const char *what, const char *file,
    int lineno)
{
	uint8_t	key[WG_KEY_LEN];
	int	r;

	r = key_file_read(path, key);
	sodium_memzero(key, sizeof(key));
	if (r == KEY_FILE_MISSING) {
		log_warnx("%s:%d: %s %s does not exist; copy it from another "
		    "node, or make one with: head -c 32 /dev/urandom | "
		    "base64 > %s", file, lineno, what, path, path);
		return (-1);
	}
	return (r);
}

/*
 * One file for every node: the entry that names this node must carry the
 * public key of this node's private key.  Both public keys are said, so
 * that the operator can see which of the two files is not this node's.
 * A missing private key is not created for such a node: a new key could
 * never match its entry, and what the operator has forgotten is to copy
 * the key that was made with the file (wgmeshgen(8)).
 */
static int
self_check(const struct iface_conf *iface, int key_missing)
{
	const struct peer_conf	*self = iface->self;
	char			 want[WG_KEY_B64_LEN], have[WG_KEY_B64_LEN];

	if (self == NULL || !self->has_public_key)
		return (0);
	key_to_base64(want, self->public_key);
	if (key_missing) {
		log_warnx("%s:%d: peer \"%s\" is this node, but "
		    "private-key-file %s does not exist: copy this node's key "
		    "there (a new key would not match public-key %s)",
		    self->file, self->lineno, self->name,
		    iface->private_key_file, want);
		return (-1);
	}
	if (!iface->has_public_key)
		return (0);	/* the key file's problem is said already */
	key_to_base64(have, iface->public_key);
	if (sodium_memcmp(self->public_key, iface->public_key,
	    WG_KEY_LEN) != 0) {
		log_warnx("%s:%d: peer \"%s\" is this node, but its "
		    "public-key %s is not the public key of private-key-file "
		    "%s, which is %s", self->file, self->lineno, self->name,
		    want, iface->private_key_file, have);
		return (-1);
	}
	return (0);
}

/*
 * Reads each interface's private key (creating it when asked to), derives
 * the public key, checks that no peer carries it, and checks the other
 * secret files.  Every problem is reported before returning -1.
 */
int
conf_load_keys(struct wgmeshd_conf *conf, int flags)
{
	struct iface_conf	*iface;
	struct peer_conf	*peer;
	uint8_t			 priv[WG_KEY_LEN];
	int			 r, errors = 0;

	TAILQ_FOREACH(iface, &conf->ifaces, entry) {
		iface->has_public_key = 0;
		r = key_file_read(iface->private_key_file, priv);
		if (r == KEY_FILE_MISSING && (flags & KEYS_CREATE) != 0 &&
		    iface->self == NULL) {
			r = key_file_create(iface->private_key_file, priv);
			if (r == 0)
				log_info("%s: created private key %s",
				    iface->ifname, iface->private_key_file);
		}
		if (r == 0) {
			if (key_public_from_private(iface->public_key,
			    priv) == -1) {
				log_warnx("%s: private key is not usable",
				    iface->private_key_file);
				errors++;
			} else
				iface->has_public_key = 1;
		} else if (r == -1)
			errors++;
		sodium_memzero(priv, sizeof(priv));
		if (self_check(iface, r == KEY_FILE_MISSING) == -1)
			errors++;
		else if (iface->self != NULL && (flags & KEYS_CREATE) != 0)
			/* the daemon starts or reloads: the journal says it */
			log_info("%s: this node is peer \"%s\" at %s:%d",
			    iface->ifname, iface->self->name,
			    iface->self->file, iface->self->lineno);

		if (iface->psk_file != NULL && secret_file_check(
		    iface->psk_file, "preshared-key-file", iface->file,
		    iface->psk_lineno) == -1)
			errors++;
		if (iface->gossip_secret_file != NULL && secret_file_check(
		    iface->gossip_secret_file, "gossip-secret-file",
		    iface->file, iface->gossip_secret_lineno) == -1)
			errors++;
		TAILQ_FOREACH(peer, &iface->peers, entry) {
			if (iface->has_public_key && sodium_memcmp(
			    peer->public_key, iface->public_key,
			    WG_KEY_LEN) == 0) {
				log_warnx("%s:%d: peer \"%s\" has this node's "
				    "own public key (from %s)", peer->file,
				    peer->lineno, peer->name,
				    iface->private_key_file);
				errors++;
			}
			if (peer->psk_file != NULL && secret_file_check(
			    peer->psk_file, "preshared-key-file", peer->file,
			    peer->psk_lineno) == -1)
				errors++;
		}
	}
	return (errors == 0 ? 0 : -1);
}
