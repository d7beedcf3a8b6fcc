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

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "wgmeshd.h"

static __dead void	usage(void);

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
	struct wgmeshd_conf	*conf;
	const char		*conffile = WGMESHD_CONF;
	int			 ch, debug = 0, noaction = 0, verbose = 0;

	log_init(1, LOG_DAEMON);

	while ((ch = getopt(argc, argv, "dD:f:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (cmdline_symset(optarg) < 0)
				fatalx("could not parse macro definition %s",
				    optarg);
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
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
	if (argc > 0)
		usage();

	if (sodium_init() == -1)
		fatalx("libsodium initialisation failed");
	log_setverbose(verbose);

	if ((conf = parse_config(conffile)) == NULL)
		exit(1);

	/*
	 * A check never writes: a missing private key is reported in the
	 * -v output and created when the daemon starts.
	 */
	if (conf_load_keys(conf, noaction ? 0 : KEYS_CREATE) == -1) {
		conf_free(conf);
		exit(1);
	}

	if (noaction) {
		/* silent when all is well, as sshd -t is */
		if (verbose > 0)
			conf_print(stdout, conf);
		conf_free(conf);
		exit(0);
	}

	(void)debug;
	conf_free(conf);
	fatalx("running the daemon is not implemented yet; use -n to check "
	    "the configuration");
}
