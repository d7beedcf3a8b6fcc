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
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "util.h"

#define WGMESHD_SOCKET	"/run/wgmeshd.sock"

/* The commands wgmeshctl knows; each word may be abbreviated. */
struct command {
	const char	*words[3];
	uint32_t	 type;
	int		 takes_arg;	/* an optional trailing argument */
};

static const struct command commands[] = {
	{ { "show", "peers", NULL },		IMSG_CTL_SHOW_PEERS,	1 },
	{ { "show", "interfaces", NULL },	IMSG_CTL_SHOW_INTERFACES, 0 },
	{ { "show", "self", NULL },		IMSG_CTL_SHOW_SELF,	0 },
	{ { "reload", NULL, NULL },		IMSG_CTL_RELOAD,	0 },
	{ { "log", "verbose", NULL },		IMSG_CTL_LOG_VERBOSE,	0 },
	{ { "log", "brief", NULL },		IMSG_CTL_LOG_VERBOSE,	0 },
};

static __dead void	 usage(void);
static const struct command *command_match(int, char *[]);
static int		 word_match(const char *, const char *);

extern char	*__progname;

static __dead void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument]\n",
	    __progname);
	fprintf(stderr, "valid commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "\t%s%s%s%s\n", commands[i].words[0],
		    commands[i].words[1] != NULL ? " " : "",
		    commands[i].words[1] != NULL ? commands[i].words[1] : "",
		    commands[i].takes_arg ? " [name]" : "");
	exit(1);
}

static int
word_match(const char *typed, const char *word)
{
	size_t	len = strlen(typed);

	return (len > 0 && strncmp(typed, word, len) == 0);
}

/* Prefix matching, as in OpenBSD's control tools; ambiguity is an error. */
static const struct command *
command_match(int argc, char *argv[])
{
	const struct command	*match = NULL;
	size_t			 i;
	int			 w, nmatch = 0, nwords;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		for (nwords = 0; nwords < 3 &&
		    commands[i].words[nwords] != NULL; nwords++)
			;
		if (argc < nwords ||
		    argc > nwords + (commands[i].takes_arg ? 1 : 0))
			continue;
		for (w = 0; w < nwords; w++)
			if (!word_match(argv[w], commands[i].words[w]))
				break;
		if (w == nwords) {
			match = &commands[i];
			nmatch++;
		}
	}
	if (nmatch > 1) {
		warnx("ambiguous command");
		usage();
	}
	return (match);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	const struct command	*cmd;
	const char		*sockpath = WGMESHD_SOCKET;
	int			 ch, fd, json = 0;

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (cmd = command_match(argc, argv)) == NULL)
		usage();

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long: %s", sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		errx(1, "cannot connect to %s: %s (is wgmeshd running?)",
		    sockpath, strerror(errno));

	/* The daemon's side of the control protocol is not there yet. */
	(void)json;
	close(fd);
	errx(1, "%s: not implemented yet", imsg_type_name(cmd->type));
}
