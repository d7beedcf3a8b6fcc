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
 * The wgmeshd.conf grammar, its lexer, and the checks that need the
 * whole file.  Everything the parser builds hangs off one struct
 * wgmeshd_conf; a parse that reported an error frees it and returns
 * NULL, so the caller never sees half a configuration.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wgmeshd.h"
#include "conf.h"
#include "relay.h"

#define MAXINCLUDEDEPTH	8		/* files open at once */
#define MAXINCLUDES	64		/* include statements in one parse */
#define MAXTOKENLEN	8192		/* one word or quoted string */
#define MAXEXPANSION	(1024 * 1024)	/* macro bytes expanded per parse */
#define MAXBRACES	8		/* open braces remembered per file */
#define UNGETMAX	8

struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 owned;		/* we opened it, we close it */
	int			 atbol;		/* last token was a newline */
	int			 ungetbuf[UNGETMAX];
	size_t			 nunget;
	int			 braces[MAXBRACES];	/* lines of open '{' */
	int			 nbraces;
};
TAILQ_HEAD(file_list, file);

struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 persist;	/* from -D, kept between parses */
	char			*name;
	char			*val;
};
TAILQ_HEAD(sym_list, sym);

/*
 * Strings made by the lexer live in a pool until the parse ends, so that
 * tokens thrown away by error recovery are freed too.  Actions copy what
 * they keep.
 */
struct pstr {
	TAILQ_ENTRY(pstr)	 entry;
	char			 s[];
};
TAILQ_HEAD(pstr_list, pstr);

/* a NUMBER has its text in v.string too */
typedef struct {
	struct {
		int64_t		 number;
		char		*string;
	} v;
	int lineno;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED 1

/* free byacc's stack after each parse: the fuzzer parses millions */
#define YY_NO_LEAKS		1

/* byacc reports its own errors through here, see parse_syntax_error() */
#define YYERROR_CALL(msg)	parse_syntax_error(msg)

int			 yylex(void);
int			 yyerror(const char *, ...)
			    __attribute__((__format__ (printf, 1, 2)));

static void		 parse_syntax_error(const char *);
static void		 conf_verror(const char *, int, const char *, va_list)
			    __attribute__((__format__ (printf, 3, 0)));
static void		 line_error(int, const char *, ...)
			    __attribute__((__format__ (printf, 2, 3)));

static int		 kw_cmp(const void *, const void *);
static int		 lookup(const char *);
static int		 lgetc(void);
static void		 lungetc(int);
static int		 findeol(void);
static int		 lex_error(void);
static int		 word_char(int);
static int		 number_parse(const char *, int64_t *);
static int		 word_token(const char *);
static void		 lex_settext(const char *);
static int		 macro_token(void);
static int		 quoted_token(void);

static struct file	*file_new(FILE *, const char *, int);
static void		 file_close(struct file *);
static void		 popfile(void);
static void		 include_file(const char *, int);
static const char	*file_check_reason(int, int);
static const char	*dir_check_reason(const char *, char *, size_t);

static char		*pool_strdup(const char *);
static void		 pool_release(char *);
static void		 pool_clear(void);
static char		*pool_concat(char *, char *);

static int		 macro_name_valid(const char *);
static int		 symset(const char *, const char *, int);
static const char	*symget(const char *);
static void		 symclear(void);

static struct wgmeshd_conf *conf_new(void);
static void		 copy_name(char *, size_t, const char *);
static char		*xstrdup(const char *);
static int		 set_once(int *, int, const char *);
static int		 in_range(int, const char *, int64_t, int64_t, int64_t);
static int		 path_valid(int, const char *, const char *);
static void		 set_path(char **, int, const char *, const char *);
static void		 set_user(int, const char *);
static void		 set_control_socket(int, const char *);
static void		 set_node_name(int, const char *);
static void		 set_upnp(int, int, int64_t);
static void		 set_relay_ports(int, const char *);
static void		 relay_check(void);
static void		 set_backend(int, const char *);
static void		 iface_begin(const char *, int);
static void		 iface_end(void);
static void		 peer_begin(const char *, int);
static void		 peer_end(void);
static void		 iface_add_address(int, const char *);
static void		 peer_add_allowed(int, const char *);
static void		 peer_set_public_key(int, const char *);
static void		 peer_set_endpoint(int, const char *);
static struct wgmeshd_conf *parse_run(struct file *);

static struct file_list	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file	*file, *topfile;
static int		 nincludes;
static struct sym_list	 symhead = TAILQ_HEAD_INITIALIZER(symhead);
static struct pstr_list	 pool = TAILQ_HEAD_INITIALIZER(pool);

/* lexer state */
static size_t		 exp_total;	/* macro bytes expanded in this parse */
static int		 lex_line;	/* line of the last token */
static int		 lex_errtok;	/* last token was an error, reported */
static char		 lex_text[72];	/* last token, for syntax errors */
static int		 lex_ntok;	/* tokens so far on this line */
static char		 lex_word[72];	/* first one, if a word but no keyword */
static int		 top_line;	/* last line with a token in topfile */

/* what is being built */
static struct wgmeshd_conf *conf;
static struct iface_conf *cur_iface;
static struct peer_conf	*cur_peer;
static int		 errors;
static int		 ifaces_seen;	/* "interface" keywords, even bad ones */

/* line on which each setting was given, 0 while unset */
static struct {
	int	 user, state_dir, control_socket;
	int	 relay_ports, relay_max_pairs, relay_rate, relay_packet_rate;
} topset;
static struct {
	int	 name, private_key, psk, gossip_secret, listen_port, fwmark;
	int	 address, gossip_port, lan_discovery, upnp, keepalive;
	int	 relay_offer, relay_use;
	int	 backend;
} ifset;
static struct {
	int	 public_key, psk, endpoint, allowed, keepalive, relay_use;
} peerset;
%}

%token	ADDRESS ALLOWEDIPS AUTO BACKEND CONTROLSOCKET ENDPOINT EXTERNALPORT FWMARK
%token	GOSSIPPORT GOSSIPSECRETFILE INCLUDE INTERFACE LANDISCOVERY LISTENPORT
%token	NAME NATPMP NO PCP PEER PERSISTENTKEEPALIVE PORTMAPPING
%token	PRESHAREDKEYFILE PRIVATEKEYFILE PUBLICKEY RELAYMAXPAIRS RELAYOFFER
%token	RELAYPACKETRATE RELAYPORTS RELAYRATE RELAYUSE STATEDIRECTORY UPNP USER
%token	YES
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.string>	word string include
%type	<v.number>	yesno extport offer portmap

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include '\n'		{
			/* after the newline, so the next token is the file's */
			include_file($2, $<lineno>2);
		}
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{ yyerrok; }
		;

word		: STRING
		| NUMBER			{ $$ = $<v.string>1; }
		;

/*
 * Adjacent strings are joined, so that $dir "/wg0.key" is one path.
 * Names are single words: "interface wg0 x {" is a mistake, not "wg0x".
 */
string		: word
		| string word			{ $$ = pool_concat($1, $2); }
		;

include		: INCLUDE string		{ $$ = $2; }
		;

varset		: STRING '=' string		{
			if (!macro_name_valid($1))
				line_error($<lineno>1, "invalid macro name "
				    "\"%s\": use letters, digits and \"_\"",
				    printable($1));
			else if (symset($1, $3, 0) == -1)
				fatal("symset");
		}
		;

optnl		: /* empty */
		| optnl '\n'
		;

yesno		: YES				{ $$ = 1; }
		| NO				{ $$ = 0; }
		;

offer		: yesno			{
			$$ = $1 ? RELAY_OFFER_YES : RELAY_OFFER_NO;
		}
		| AUTO				{ $$ = RELAY_OFFER_AUTO; }
		;

main		: USER string			{
			if (set_once(&topset.user, $<lineno>1, "user") == 0)
				set_user($<lineno>1, $2);
		}
		| STATEDIRECTORY string		{
			if (set_once(&topset.state_dir, $<lineno>1,
			    "state-directory") == 0)
				set_path(&conf->state_dir, $<lineno>1,
				    "state-directory", $2);
		}
		| CONTROLSOCKET string		{
			if (set_once(&topset.control_socket, $<lineno>1,
			    "control-socket") == 0)
				set_control_socket($<lineno>1, $2);
		}
		| RELAYPORTS word		{
			if (set_once(&topset.relay_ports, $<lineno>1,
			    "relay-ports") == 0)
				set_relay_ports($<lineno>1, $2);
		}
		| RELAYMAXPAIRS NUMBER		{
			if (set_once(&topset.relay_max_pairs, $<lineno>1,
			    "relay-max-pairs") == 0 &&
			    in_range($<lineno>1, "relay-max-pairs", $2, 1,
			    RELAY_PAIRS_MAX))
				conf->relay_max_pairs = $2;
		}
		| RELAYRATE NUMBER		{
			if (set_once(&topset.relay_rate, $<lineno>1,
			    "relay-rate") == 0 &&
			    in_range($<lineno>1, "relay-rate", $2, 1,
			    RELAY_RATE_MBIT_MAX))
				conf->relay_rate_mbit = $2;
		}
		| RELAYPACKETRATE NUMBER	{
			if (set_once(&topset.relay_packet_rate, $<lineno>1,
			    "relay-packet-rate") == 0 &&
			    in_range($<lineno>1, "relay-packet-rate", $2, 1,
			    RELAY_PACKET_RATE_MAX))
				conf->relay_packet_rate = $2;
		}
		| INTERFACE word		{
			iface_begin($2, $<lineno>1);
		} ifblock			{
			iface_end();
		}
		;

/*
 * Blocks end their lines like the top level does, so that yyerrok runs
 * before the next line is read and its mistake is reported too.
 */
ifblock		: optnl '{' ifbody '}'
		| optnl '{' ifbody ifopt '}'
		;

/*
 * An include inside a block reads its file as lines of that block: a
 * list of peers shared by the whole mesh can be one file.
 */
ifbody		: /* empty */
		| ifbody '\n'
		| ifbody ifopt '\n'
		| ifbody include '\n'		{
			include_file($2, $<lineno>2);
		}
		| ifbody error '\n'		{ yyerrok; }
		;

ifopt		: NAME word			{
			if (set_once(&ifset.name, $<lineno>1, "name") == 0)
				set_node_name($<lineno>1, $2);
		}
		| PRIVATEKEYFILE string		{
			if (set_once(&ifset.private_key, $<lineno>1,
			    "private-key-file") == 0)
				set_path(&cur_iface->private_key_file,
				    $<lineno>1, "private-key-file", $2);
		}
		| PRESHAREDKEYFILE string	{
			if (set_once(&ifset.psk, $<lineno>1,
			    "preshared-key-file") == 0)
				set_path(&cur_iface->psk_file, $<lineno>1,
				    "preshared-key-file", $2);
			cur_iface->psk_lineno = $<lineno>1;
		}
		| GOSSIPSECRETFILE string	{
			if (set_once(&ifset.gossip_secret, $<lineno>1,
			    "gossip-secret-file") == 0)
				set_path(&cur_iface->gossip_secret_file,
				    $<lineno>1, "gossip-secret-file", $2);
			cur_iface->gossip_secret_lineno = $<lineno>1;
		}
		| LISTENPORT NUMBER		{
			if (set_once(&ifset.listen_port, $<lineno>1,
			    "listen-port") == 0 &&
			    in_range($<lineno>1, "listen-port", $2, 1, 65535))
				cur_iface->listen_port = $2;
		}
		| FWMARK NUMBER			{
			if (set_once(&ifset.fwmark, $<lineno>1, "fwmark") == 0 &&
			    in_range($<lineno>1, "fwmark", $2, 0, UINT32_MAX))
				cur_iface->fwmark = $2;
		}
		| ADDRESS AUTO			{
			if (ifset.address == 0)
				ifset.address = $<lineno>1;
			cur_iface->address_auto = 1;
		}
		| ADDRESS string		{
			if (ifset.address == 0)
				ifset.address = $<lineno>1;
			iface_add_address($<lineno>1, $2);
		}
		| GOSSIPPORT NUMBER		{
			if (set_once(&ifset.gossip_port, $<lineno>1,
			    "gossip-port") == 0 &&
			    in_range($<lineno>1, "gossip-port", $2, 1, 65535))
				cur_iface->gossip_port = $2;
		}
		| LANDISCOVERY yesno		{
			if (set_once(&ifset.lan_discovery, $<lineno>1,
			    "lan-discovery") == 0)
				cur_iface->lan_discovery = $2;
		}
		| LANDISCOVERY word		{
			line_error($<lineno>1, "lan-discovery \"%s\": say yes "
			    "or no", printable($2));
		}
		| UPNP yesno extport		{
			/* the older spelling of "port-mapping auto" */
			if (set_once(&ifset.upnp, $<lineno>1, "port mapping") ==
			    0)
				set_upnp($<lineno>1, $2 ? PORTMAP_ALL : 0, $3);
		}
		| PORTMAPPING portmap extport	{
			if (set_once(&ifset.upnp, $<lineno>1, "port mapping") ==
			    0)
				set_upnp($<lineno>1, $2, $3);
		}
		| UPNP word extport		{
			line_error($<lineno>1, "upnp \"%s\": say yes or no",
			    printable($2));
		}
		| PERSISTENTKEEPALIVE NUMBER	{
			if (set_once(&ifset.keepalive, $<lineno>1,
			    "persistent-keepalive") == 0 &&
			    in_range($<lineno>1, "persistent-keepalive", $2,
			    0, 65535))
				cur_iface->keepalive = $2;
		}
		| RELAYOFFER offer		{
			if (set_once(&ifset.relay_offer, $<lineno>1,
			    "relay-offer") == 0)
				cur_iface->relay_offer = $2;
		}
		| RELAYUSE yesno		{
			if (set_once(&ifset.relay_use, $<lineno>1,
			    "relay-use") == 0)
				cur_iface->relay_use = $2;
		}
		| BACKEND AUTO			{
			if (set_once(&ifset.backend, $<lineno>1,
			    "backend") == 0)
				cur_iface->backend = WG_BACKEND_AUTO;
		}
		| BACKEND word			{
			if (set_once(&ifset.backend, $<lineno>1,
			    "backend") == 0)
				set_backend($<lineno>1, $2);
		}
		| PEER word			{
			peer_begin($2, $<lineno>1);
		} peerblock			{
			peer_end();
		}
		;

/* the protocols tried: PCP, NAT-PMP, UPnP, in that order (upnp.c) */
portmap		: AUTO				{ $$ = PORTMAP_ALL; }
		| NO				{ $$ = 0; }
		| UPNP				{ $$ = PORTMAP_UPNP; }
		| NATPMP			{ $$ = PORTMAP_NATPMP; }
		| PCP				{ $$ = PORTMAP_PCP; }
		;

/* -1: none given, 0: given but out of range, already reported */
extport		: /* empty */			{ $$ = -1; }
		| EXTERNALPORT NUMBER		{
			$$ = in_range($<lineno>1, "external-port", $2, 1,
			    65535) ? $2 : 0;
		}
		;

peerblock	: optnl '{' peerbody '}'
		| optnl '{' peerbody peeropt '}'
		;

peerbody	: /* empty */
		| peerbody '\n'
		| peerbody peeropt '\n'
		| peerbody error '\n'		{ yyerrok; }
		;

peeropt		: PUBLICKEY string		{
			if (set_once(&peerset.public_key, $<lineno>1,
			    "public-key") == 0)
				peer_set_public_key($<lineno>1, $2);
		}
		| PRESHAREDKEYFILE string	{
			if (set_once(&peerset.psk, $<lineno>1,
			    "preshared-key-file") == 0)
				set_path(&cur_peer->psk_file, $<lineno>1,
				    "preshared-key-file", $2);
			cur_peer->psk_lineno = $<lineno>1;
		}
		| ENDPOINT string		{
			if (set_once(&peerset.endpoint, $<lineno>1,
			    "endpoint") == 0)
				peer_set_endpoint($<lineno>1, $2);
		}
		| ALLOWEDIPS AUTO		{
			if (peerset.allowed == 0)
				peerset.allowed = $<lineno>1;
			cur_peer->allowed_auto = 1;
		}
		| ALLOWEDIPS string		{
			if (peerset.allowed == 0)
				peerset.allowed = $<lineno>1;
			peer_add_allowed($<lineno>1, $2);
		}
		| PERSISTENTKEEPALIVE NUMBER	{
			if (set_once(&peerset.keepalive, $<lineno>1,
			    "persistent-keepalive") == 0 &&
			    in_range($<lineno>1, "persistent-keepalive", $2,
			    0, 65535))
				cur_peer->keepalive = $2;
		}
		| RELAYUSE yesno		{
			if (set_once(&peerset.relay_use, $<lineno>1,
			    "relay-use") == 0)
				cur_peer->relay_use = $2;
		}
		;

%%

/* Kept sorted: lookup() searches it with bsearch, regress checks it. */
static const struct keyword {
	const char	*k_name;
	int		 k_val;
} keywords[] = {
	{ "address",			ADDRESS },
	{ "allowed-ips",		ALLOWEDIPS },
	{ "auto",			AUTO },
	{ "backend",			BACKEND },
	{ "control-socket",		CONTROLSOCKET },
	{ "endpoint",			ENDPOINT },
	{ "external-port",		EXTERNALPORT },
	{ "fwmark",			FWMARK },
	{ "gossip-port",		GOSSIPPORT },
	{ "gossip-secret-file",		GOSSIPSECRETFILE },
	{ "include",			INCLUDE },
	{ "interface",			INTERFACE },
	{ "lan-discovery",		LANDISCOVERY },
	{ "listen-port",		LISTENPORT },
	{ "name",			NAME },
	{ "nat-pmp",			NATPMP },
	{ "no",				NO },
	{ "pcp",			PCP },
	{ "peer",			PEER },
	{ "persistent-keepalive",	PERSISTENTKEEPALIVE },
	{ "port-mapping",		PORTMAPPING },
	{ "preshared-key-file",		PRESHAREDKEYFILE },
	{ "private-key-file",		PRIVATEKEYFILE },
	{ "public-key",			PUBLICKEY },
	{ "relay-max-pairs",		RELAYMAXPAIRS },
	{ "relay-offer",		RELAYOFFER },
	{ "relay-packet-rate",		RELAYPACKETRATE },
	{ "relay-ports",		RELAYPORTS },
	{ "relay-rate",			RELAYRATE },
	{ "relay-use",			RELAYUSE },
	{ "state-directory",		STATEDIRECTORY },
	{ "upnp",			UPNP },
	{ "user",			USER },
	{ "yes",			YES },
};

/* Errors: "file:line: message", counted, every one of them printed. */
static void
conf_verror(const char *name, int line, const char *fmt, va_list ap)
{
	char	*msg;

	errors++;
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s", __func__);
	log_warnx("%s:%d: %s", name, line, msg);
	free(msg);
}

void
conf_error(const char *name, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_verror(name, line, fmt, ap);
	va_end(ap);
}

static void
line_error(int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_verror(file->name, line, fmt, ap);
	va_end(ap);
}

int
yyerror(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_verror(file->name, lex_line, fmt, ap);
	va_end(ap);
	return (0);
}

static void
parse_syntax_error(const char *msg)
{
	/* the lexer has already said what is wrong with this token */
	if (lex_errtok)
		return;
	if (strcmp(msg, "syntax error") != 0)
		yyerror("%s", msg);
	else if (file != topfile)
		/* an included file may hold secrets: none of it is quoted */
		yyerror("syntax error (an included file's text is not "
		    "quoted)");
	else if (lex_word[0] != '\0' && lex_ntok <= 2)
		/* a line's first word may only be a macro name before "=" */
		yyerror("syntax error: unknown keyword \"%s\"", lex_word);
	else if (lex_text[0] == '\0')
		yyerror("syntax error at end of file");
	else if (strcmp(lex_text, "\n") == 0)
		yyerror("syntax error at end of line");
	else if (strcmp(lex_text, "=") == 0 && lex_ntok > 2)
		/* base64 ends in "=": the usual unquoted key */
		yyerror("syntax error near \"=\": quote keys and other values "
		    "that hold \"=\", as in public-key \"...=\"");
	else
		yyerror("syntax error near \"%s\"", lex_text);
}

/*
 * Configuration text quoted in a message: short, and without control
 * characters that a terminal would act on.  A few rotating buffers let
 * one message quote several strings.
 */
const char *
printable(const char *s)
{
	static char	 bufs[4][72];
	static int	 n;
	char		*buf;
	size_t		 i;

	buf = bufs[n];
	n = (n + 1) % 4;
	for (i = 0; s[i] != '\0' && i < 64; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i] != '\0')
		memcpy(&buf[i], "...", 4);
	else
		buf[i] = '\0';
	return (buf);
}

/* "line 7" within the file being reported on, else "file:7" */
const char *
where(const char *curname, const char *name, int line)
{
	static char	 buf[2][PATH_MAX + 32];
	static int	 n;
	char		*p;

	p = buf[n];
	n = (n + 1) % 2;
	if (strcmp(curname, name) == 0)
		snprintf(p, sizeof(buf[0]), "line %d", line);
	else
		snprintf(p, sizeof(buf[0]), "%s:%d", printable(name), line);
	return (p);
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keyword *)e)->k_name));
}

static int
lookup(const char *s)
{
	const struct keyword	*kw;

	kw = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	return (kw != NULL ? kw->k_val : STRING);
}

static int
lgetc(void)
{
	if (file->nunget > 0)
		return (file->ungetbuf[--file->nunget]);
	return (getc(file->stream));
}

static void
lungetc(int c)
{
	if (c == EOF)
		return;
	if (file->nunget >= UNGETMAX)
		fatalx("%s: too many characters pushed back", __func__);
	file->ungetbuf[file->nunget++] = c;
}

/* Skip the rest of the line, leaving the newline for the grammar. */
static int
findeol(void)
{
	int	 c;

	while ((c = lgetc()) != '\n' && c != EOF)
		;
	lungetc(c);
	return (lex_error());
}

static int
lex_error(void)
{
	lex_errtok = 1;
	return (ERROR);
}

static int
word_char(int c)
{
	if (c == EOF || c == '\0')
		return (0);
	return (isalnum(c) || strchr("!%&*+,-./:;?@[]^_|~", c) != NULL);
}

/* 1: not a number, -1: too large, 0: *np is set */
static int
number_parse(const char *s, int64_t *np)
{
	uint64_t	 n = 0, limit;
	int		 neg = 0, base = 10, d;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return (1);
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			return (1);
		if (n > (limit - d) / base)
			n = limit + 1;	/* keep scanning: "1x" is a word */
		else
			n = n * base + d;
	}
	if (n > limit)
		return (-1);
	if (neg)
		*np = n == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n;
	else
		*np = n;
	return (0);
}

/*
 * A bare word or a macro's value is a number, a keyword or a string.
 * Numbers keep their text: a name may well be "1".
 */
static int
word_token(const char *buf)
{
	int64_t	 n;
	int	 tok;

	yylval.v.string = NULL;
	switch (number_parse(buf, &n)) {
	case 0:
		yylval.v.number = n;
		yylval.v.string = pool_strdup(buf);
		return (NUMBER);
	case -1:
		if (file != topfile)
			yyerror("number too large");
		else
			yyerror("number \"%s\" is too large", lex_text);
		return (findeol());
	}
	if ((tok = lookup(buf)) == STRING)
		yylval.v.string = pool_strdup(buf);
	return (tok);
}

static void
lex_settext(const char *s)
{
	copy_name(lex_text, sizeof(lex_text),
	    strcmp(s, "\n") == 0 ? s : printable(s));
}

/*
 * "$name" becomes one token, the macro's value taken as a bare word
 * would be but whole: values hold keys ending in "=" and paths with
 * spaces.  Nothing is read again, so values cannot recurse.
 */
static int
macro_token(void)
{
	char		 name[128], dollar[sizeof(name) + 1];
	const char	*val;
	size_t		 len = 0;
	int		 c;

	while ((c = lgetc()) != EOF && (isalnum(c) || c == '_')) {
		if (len >= sizeof(name) - 1) {
			yyerror("macro name too long");
			return (findeol());
		}
		name[len++] = c;
	}
	lungetc(c);
	name[len] = '\0';
	snprintf(dollar, sizeof(dollar), "$%s", name);
	lex_settext(dollar);
	if (len == 0) {
		yyerror("missing macro name after \"$\"");
		return (findeol());
	}
	if ((val = symget(name)) == NULL) {
		yyerror("macro \"%s\" not defined", printable(name));
		return (findeol());
	}
	/* "b = $a $a" doubles: keep the total bounded */
	exp_total += strlen(val);
	if (exp_total > MAXEXPANSION) {
		yyerror("macros expand to more than %d bytes", MAXEXPANSION);
		return (findeol());
	}
	/* a macro may hold a secret: errors quote its name, not its value */
	lex_settext(dollar);
	return (word_token(val));
}

static int
quoted_token(void)
{
	char	 buf[MAXTOKENLEN];
	size_t	 len = 0;
	int	 c, next;

	for (;;) {
		c = lgetc();
		if (c == EOF || c == '\n') {
			lungetc(c);
			buf[len] = '\0';
			lex_settext(buf);
			yyerror("unterminated quoted string");
			return (lex_error());
		}
		if (c == '"')
			break;
		if (c == '\\') {
			next = lgetc();
			if (next == '"' || next == '\\')
				c = next;
			else if (next == '\n') {
				file->lineno++;
				continue;
			} else
				lungetc(next);
		}
		if (c == '\0') {
			yyerror("quoted string contains a NUL byte");
			return (findeol());
		}
		if (len >= sizeof(buf) - 1) {
			yyerror("quoted string too long");
			return (findeol());
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	lex_settext(buf);
	yylval.v.string = pool_strdup(buf);
	return (STRING);
}

int
yylex(void)
{
	char	 buf[MAXTOKENLEN];
	size_t	 len;
	int	 c, next, tok, line;

	lex_errtok = 0;
	yylval.v.string = NULL;
	for (;;) {
		c = lgetc();
		if (c == ' ' || c == '\t')
			continue;
		if (c == '\\') {
			/* a backslash at the end of a line continues it */
			if ((next = lgetc()) == '\n') {
				file->lineno++;
				continue;
			}
			lungetc(next);
		}
		break;
	}
	yylval.lineno = lex_line = file->lineno;
	if (file->atbol) {
		lex_ntok = 0;
		lex_word[0] = '\0';
	}
	lex_ntok++;

	if (c == '#')
		while ((c = lgetc()) != '\n' && c != EOF)
			;

	if (c == EOF) {
		lex_text[0] = '\0';
		if (!file->atbol) {
			/* a last line without a newline still ends */
			file->atbol = 1;
			lex_settext("\n");
			return ('\n');
		}
		if (file->nbraces > 0) {
			line = file->braces[file->nbraces > MAXBRACES ?
			    MAXBRACES - 1 : file->nbraces - 1];
			conf_error(file->name, line,
			    "block is not closed (missing \"}\")");
			file->nbraces = 0;
			/* end the parse: the rest would not make sense */
			lex_errtok = 1;
			return (0);
		}
		if (file == topfile)
			return (0);
		popfile();
		return (yylex());
	}

	if (file == topfile)
		top_line = lex_line;
	if (c == '\n') {
		file->lineno++;
		file->atbol = 1;
		lex_settext("\n");
		return ('\n');
	}
	file->atbol = 0;

	if (c == '$')
		tok = macro_token();
	else if (c == '"')
		tok = quoted_token();
	else if (word_char(c)) {
		len = 0;
		do {
			if (len >= sizeof(buf) - 1) {
				yyerror("word too long");
				return (findeol());
			}
			buf[len++] = c;
		} while (word_char(c = lgetc()));
		lungetc(c);
		buf[len] = '\0';
		lex_settext(buf);
		tok = word_token(buf);
		if (tok == STRING && lex_ntok == 1)
			copy_name(lex_word, sizeof(lex_word), lex_text);
	} else {
		buf[0] = c;
		buf[1] = '\0';
		lex_settext(buf);
		if (c < 0x20 || c >= 0x7f) {
			yyerror("invalid character 0x%02x", c);
			return (findeol());
		}
		tok = c;
	}

	switch (tok) {
	case '{':
		if (file->nbraces < MAXBRACES)
			file->braces[file->nbraces] = lex_line;
		file->nbraces++;
		break;
	case '}':
		if (file->nbraces > 0)
			file->nbraces--;
		else if (file != topfile) {
			/* an included file ends no block of its includer's */
			yyerror("\"}\" closes a block that this file did not "
			    "open");
			return (findeol());
		}
		break;
	}
	return (tok);
}

static struct file *
file_new(FILE *stream, const char *name, int owned)
{
	struct file	*nfile;

	if ((nfile = calloc(1, sizeof(*nfile))) == NULL)
		fatal("%s", __func__);
	nfile->stream = stream;
	nfile->name = xstrdup(name);
	nfile->lineno = 1;
	nfile->owned = owned;
	nfile->atbol = 1;
	return (nfile);
}

static void
file_close(struct file *f)
{
	if (f->owned)
		fclose(f->stream);
	free(f->name);
	free(f);
}

static void
popfile(void)
{
	struct file	*prev;

	if (ferror(file->stream))
		conf_error(file->name, file->lineno, "read error");
	prev = TAILQ_PREV(file, file_list, entry);
	TAILQ_REMOVE(&files, file, entry);
	file_close(file);
	file = prev;
}

/*
 * Why a file must not be read: NULL if it is fine.  Configuration
 * files must be regular, owned by root or the caller and not writable
 * by others; files that may hold secrets must not be readable either.
 */
static const char *
file_check_reason(int fd, int secret)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return (strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ("not a regular file");
	if (st.st_uid != 0 && st.st_uid != getuid())
		return ("owner must be root or you");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return ("group- or world-writable, refusing (chmod go-w it)");
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)))
		return ("group or world readable (chmod 600 it)");
	return (NULL);
}

/*
 * Why the directories above a file that may hold secrets are not safe:
 * NULL if each, from the file's own up to /, is owned by root or the
 * caller and writable by nobody else, or sticky (as /tmp is: nobody
 * else may rename what is in it).  Whoever may write such a directory
 * may put a file of their own in the secret's place.  The directory at
 * fault goes in dir.
 */
static const char *
dir_check_reason(const char *path, char *dir, size_t dirlen)
{
	char		 buf[PATH_MAX], *real, *p;
	struct stat	 st;
	const char	*reason = NULL;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		strlcpy(dir, path, dirlen);
		return ("path too long");
	}
	if ((p = strrchr(buf, '/')) == NULL)
		strlcpy(buf, ".", sizeof(buf));
	else if (p == buf)
		buf[1] = '\0';
	else
		*p = '\0';
	strlcpy(dir, buf, dirlen);
	if ((real = realpath(buf, NULL)) == NULL)
		return (strerror(errno));
	for (;;) {
		strlcpy(dir, real, dirlen);
		if (stat(real, &st) == -1) {
			reason = strerror(errno);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			reason = "not a directory";
			break;
		}
		if (st.st_uid != 0 && st.st_uid != getuid()) {
			reason = "owner must be root or you";
			break;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
		    (st.st_mode & S_ISVTX) == 0) {
			reason = "group- or world-writable, refusing (chmod "
			    "go-w it, or +t as /tmp is)";
			break;
		}
		if (strcmp(real, "/") == 0)
			break;
		p = strrchr(real, '/');
		if (p == real)
			p[1] = '\0';
		else
			*p = '\0';
	}
	free(real);
	return (reason);
}

int
file_check_dirs(const char *name)
{
	char		 dir[PATH_MAX];
	const char	*reason;

	if ((reason = dir_check_reason(name, dir, sizeof(dir))) != NULL) {
		log_warnx("%s: directory %s: %s", name, dir, reason);
		return (-1);
	}
	return (0);
}

int
file_check_secrecy(int fd, const char *name)
{
	const char	*reason;

	if ((reason = file_check_reason(fd, 1)) != NULL) {
		log_warnx("%s: %s", name, reason);
		return (-1);
	}
	return (0);
}

/* Paths are used as written: relative ones are relative to the cwd. */
static void
include_file(const char *name, int line)
{
	struct file	*nfile;
	const char	*reason;
	char		 dir[PATH_MAX];
	FILE		*stream;
	int		 depth = 0, fd;

	TAILQ_FOREACH(nfile, &files, entry)
		depth++;
	if (depth >= MAXINCLUDEDEPTH) {
		line_error(line, "include \"%s\": nested too deeply",
		    printable(name));
		return;
	}
	if (++nincludes > MAXINCLUDES) {
		line_error(line, "include \"%s\": more than %d includes",
		    printable(name), MAXINCLUDES);
		return;
	}
	/*
	 * O_NONBLOCK: a FIFO or a device must not hang the parser.  An
	 * included file may hold secrets: it is named itself, not through
	 * a symbolic link, and nobody else may write on its way.
	 */
	fd = open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY);
	if (fd == -1) {
		if (errno == ELOOP)
			line_error(line, "include \"%s\": a symbolic link; "
			    "name the file itself", printable(name));
		else
			line_error(line, "include \"%s\": %s",
			    printable(name), strerror(errno));
		return;
	}
	if ((reason = file_check_reason(fd, 1)) != NULL) {
		line_error(line, "%s: %s", printable(name), reason);
		close(fd);
		return;
	}
	if ((reason = dir_check_reason(name, dir, sizeof(dir))) != NULL) {
		line_error(line, "%s: directory %s: %s", printable(name),
		    printable(dir), reason);
		close(fd);
		return;
	}
	if ((stream = fdopen(fd, "r")) == NULL)
		fatal("%s: fdopen", __func__);
	nfile = file_new(stream, name, 1);
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	file = nfile;
}

static char *
pool_strdup(const char *s)
{
	struct pstr	*ps;
	size_t		 len;

	len = strlen(s) + 1;
	if ((ps = malloc(sizeof(*ps) + len)) == NULL)
		fatal("%s", __func__);
	memcpy(ps->s, s, len);
	TAILQ_INSERT_TAIL(&pool, ps, entry);
	return (ps->s);
}

static void
pool_release(char *s)
{
	struct pstr	*ps;

	ps = (struct pstr *)(void *)(s - offsetof(struct pstr, s));
	TAILQ_REMOVE(&pool, ps, entry);
	free(ps);
}

static void
pool_clear(void)
{
	struct pstr	*ps;

	while ((ps = TAILQ_FIRST(&pool)) != NULL) {
		TAILQ_REMOVE(&pool, ps, entry);
		free(ps);
	}
}

static char *
pool_concat(char *a, char *b)
{
	char	*s;
	size_t	 alen, blen;

	alen = strlen(a);
	blen = strlen(b);
	if (alen + blen >= MAXTOKENLEN) {
		yyerror("string too long");
		pool_release(b);
		return (a);
	}
	if ((s = malloc(alen + blen + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(s, a, alen);
	memcpy(s + alen, b, blen + 1);
	pool_release(a);
	pool_release(b);
	a = pool_strdup(s);
	free(s);
	return (a);
}

static int
macro_name_valid(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return (0);
	return (1);
}

/* A macro from the command line wins over one from the file. */
static int
symset(const char *name, const char *val, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(sym->name, name) == 0)
			break;
	if (sym != NULL) {
		if (sym->persist && !persist)
			return (0);
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->name);
		free(sym->val);
		free(sym);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return (-1);
	sym->name = strdup(name);
	sym->val = strdup(val);
	if (sym->name == NULL || sym->val == NULL) {
		free(sym->name);
		free(sym->val);
		free(sym);
		return (-1);
	}
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return (0);
}

static const char *
symget(const char *name)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(sym->name, name) == 0)
			return (sym->val);
	return (NULL);
}

/* Forget the file's macros; -D ones stay for the next parse. */
static void
symclear(void)
{
	struct sym	*sym, *next;

	for (sym = TAILQ_FIRST(&symhead); sym != NULL; sym = next) {
		next = TAILQ_NEXT(sym, entry);
		if (sym->persist)
			continue;
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->name);
		free(sym->val);
		free(sym);
	}
}

int
cmdline_symset(const char *s)
{
	const char	*eq;
	char		*name;
	int		 ret;

	if ((eq = strchr(s, '=')) == NULL)
		return (-1);
	if ((name = strndup(s, eq - s)) == NULL)
		return (-1);
	/* a value is read again as configuration text, one line of it */
	if (!macro_name_valid(name) || strchr(eq + 1, '\n') != NULL ||
	    strlen(eq + 1) >= MAXTOKENLEN) {
		free(name);
		return (-1);
	}
	ret = symset(name, eq + 1, 1);
	free(name);
	return (ret);
}

static char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("%s", __func__);
	return (p);
}

static void
copy_name(char *dst, size_t len, const char *src)
{
	size_t	 n;

	n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
set_once(int *slot, int line, const char *what)
{
	if (*slot != 0) {
		line_error(line, "%s already set", what);
		return (-1);
	}
	*slot = line;
	return (0);
}

static int
in_range(int line, const char *what, int64_t n, int64_t min, int64_t max)
{
	if (n < min || n > max) {
		line_error(line, "%s %lld is out of range (%lld to %lld)",
		    what, (long long)n, (long long)min, (long long)max);
		return (0);
	}
	return (1);
}

/* The daemon's cwd is "/": a relative path would only surprise. */
static int
path_valid(int line, const char *what, const char *path)
{
	if (path[0] != '/') {
		line_error(line, "%s \"%s\" is not an absolute path", what,
		    printable(path));
		return (0);
	}
	if (strlen(path) >= PATH_MAX) {
		line_error(line, "%s is too long", what);
		return (0);
	}
	return (1);
}

static void
set_path(char **dst, int line, const char *what, const char *path)
{
	if (!path_valid(line, what, path))
		return;
	free(*dst);
	*dst = xstrdup(path);
}

static void
set_user(int line, const char *user)
{
	if (user[0] == '\0') {
		line_error(line, "user must not be empty");
		return;
	}
	free(conf->user);
	conf->user = xstrdup(user);
}

static void
set_control_socket(int line, const char *path)
{
	struct sockaddr_un	 sun;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		line_error(line, "control-socket \"%s\" is too long (at most "
		    "%zu bytes)", printable(path), sizeof(sun.sun_path) - 1);
		return;
	}
	set_path(&conf->control_socket, line, "control-socket", path);
}

static void
set_node_name(int line, const char *name)
{
	if (!node_name_valid(name)) {
		line_error(line, "invalid name \"%s\": use 1 to 63 letters, "
		    "digits, \".\", \"_\" or \"-\"", printable(name));
		return;
	}
	copy_name(cur_iface->node_name, sizeof(cur_iface->node_name), name);
}

/*
 * protos: PORTMAP_* bits, 0 for none; extport is -1 when none was given,
 * 0 when it was out of range
 */
static void
set_upnp(int line, int protos, int64_t extport)
{
	if (protos == 0 && extport != -1) {
		line_error(line, "external-port needs a port mapping "
		    "protocol (\"port-mapping auto\" or \"upnp yes\")");
		return;
	}
	cur_iface->upnp = protos;
	cur_iface->upnp_external_port = extport > 0 ? extport : 0;
}

/* "LOW-HIGH": at least two ports, none below 1024 */
static void
set_relay_ports(int line, const char *s)
{
	const char	*errstr = NULL;
	long long	 low = -1, high = -1;
	char		*dash, *end;

	if ((dash = strchr(s, '-')) != NULL && dash != s &&
	    isdigit((unsigned char)s[0]) && isdigit((unsigned char)dash[1])) {
		errno = 0;
		low = strtoll(s, &end, 10);
		if (errno != 0 || end != dash)
			low = -1;
		high = strtoll(dash + 1, &end, 10);
		if (errno != 0 || *end != '\0')
			high = -1;
	}
	if (low == -1 || high == -1)
		errstr = "is not a range of ports, such as 51900-51931";
	else if (low < 1024 || high > 65535)
		errstr = "goes outside 1024 to 65535";
	else if (high <= low)
		errstr = "has fewer than two ports";
	else if (high - low + 1 > RELAY_PORTS_MAX) {
		line_error(line, "relay-ports \"%s\" has more than %d ports",
		    printable(s), RELAY_PORTS_MAX);
		return;
	}
	if (errstr != NULL) {
		line_error(line, "relay-ports \"%s\" %s", printable(s),
		    errstr);
		return;
	}
	conf->relay_port_low = low;
	conf->relay_port_high = high;
}

/*
 * Once the file is read: the pairs must fit the ports, two each, and
 * relay-ports must not take the ports of an interface that may relay.
 */
static void
relay_check(void)
{
	struct iface_conf	*ifc;
	unsigned int		 fit;
	int			 line;

	fit = (conf->relay_port_high - conf->relay_port_low + 1) / 2;
	/* the default is only as many as fit */
	if (topset.relay_max_pairs == 0 && conf->relay_max_pairs > fit)
		conf->relay_max_pairs = fit;
	if (conf->relay_max_pairs > fit) {
		line = topset.relay_max_pairs;
		line_error(line, "relay-max-pairs %u needs %u relay ports; "
		    "relay-ports %u-%u has %u", conf->relay_max_pairs,
		    conf->relay_max_pairs * 2, conf->relay_port_low,
		    conf->relay_port_high,
		    conf->relay_port_high - conf->relay_port_low + 1);
	}
	TAILQ_FOREACH(ifc, &conf->ifaces, entry) {
		if (ifc->relay_offer == RELAY_OFFER_NO)
			continue;
		if ((ifc->listen_port >= conf->relay_port_low &&
		    ifc->listen_port <= conf->relay_port_high) ||
		    (ifc->gossip_port >= conf->relay_port_low &&
		    ifc->gossip_port <= conf->relay_port_high))
			conf_error(ifc->file, ifc->lineno, "interface %s: "
			    "its listen-port or gossip-port is one of "
			    "relay-ports %u-%u", printable(ifc->ifname),
			    conf->relay_port_low, conf->relay_port_high);
	}
}

static void
set_backend(int line, const char *name)
{
	if (strcmp(name, "kernel") == 0)
		cur_iface->backend = WG_BACKEND_KERNEL;
	else if (strcmp(name, "userspace") == 0)
		cur_iface->backend = WG_BACKEND_USERSPACE;
	else
		line_error(line, "backend \"%s\": say kernel, userspace or "
		    "auto", printable(name));
}

static struct wgmeshd_conf *
conf_new(void)
{
	struct wgmeshd_conf	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->user = xstrdup(WGMESHD_USER);
	c->state_dir = xstrdup(WGMESHD_STATEDIR);
	c->control_socket = xstrdup(WGMESHD_SOCKET);
	c->relay_port_low = RELAY_PORT_LOW_DEFAULT;
	c->relay_port_high = RELAY_PORT_HIGH_DEFAULT;
	c->relay_max_pairs = RELAY_MAX_PAIRS_DEFAULT;
	c->relay_rate_mbit = RELAY_RATE_MBIT_DEFAULT;
	c->relay_packet_rate = RELAY_PACKET_RATE_DEFAULT;
	TAILQ_INIT(&c->ifaces);
	return (c);
}

static void
iface_begin(const char *name, int line)
{
	/* a block that error recovery left behind */
	peer_free(cur_peer);
	cur_peer = NULL;
	iface_free(cur_iface);

	ifaces_seen++;
	if (!ifname_valid(name))
		line_error(line, "invalid interface name \"%s\"",
		    printable(name));
	if ((cur_iface = calloc(1, sizeof(*cur_iface))) == NULL)
		fatal("%s", __func__);
	copy_name(cur_iface->ifname, sizeof(cur_iface->ifname), name);
	TAILQ_INIT(&cur_iface->peers);
	cur_iface->listen_port = DEFAULT_LISTEN_PORT;
	cur_iface->gossip_port = DEFAULT_GOSSIP_PORT;
	cur_iface->lan_discovery = 1;
	cur_iface->keepalive = DEFAULT_KEEPALIVE;
	cur_iface->relay_offer = RELAY_OFFER_AUTO;
	cur_iface->relay_use = 1;
	cur_iface->file = xstrdup(file->name);
	cur_iface->lineno = line;
	memset(&ifset, 0, sizeof(ifset));
}

static void
iface_end(void)
{
	struct iface_conf	*ifc = cur_iface;
	char			 host[256];
	int			 line;

	peer_free(cur_peer);
	cur_peer = NULL;

	if (ifset.name == 0) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		if (!node_name_valid(host))
			line_error(ifc->lineno, "interface %s: host name "
			    "\"%s\" is not a valid node name; set \"name\"",
			    printable(ifc->ifname), printable(host));
		else
			copy_name(ifc->node_name, sizeof(ifc->node_name),
			    host);
	}
	if (ifc->private_key_file == NULL &&
	    asprintf(&ifc->private_key_file, "%s/%s.key", WGMESHD_KEYDIR,
	    ifc->ifname) == -1)
		fatal("%s", __func__);
	if (ifset.address == 0)
		ifc->address_auto = 1;
	address_derive(&ifc->derived, ifc->node_name, ifc->ifname);
	if (ifc->gossip_port == ifc->listen_port) {
		line = ifset.gossip_port > ifset.listen_port ?
		    ifset.gossip_port : ifset.listen_port;
		line_error(line != 0 ? line : ifc->lineno,
		    "gossip-port %u is the same as listen-port",
		    ifc->gossip_port);
	}

	TAILQ_INSERT_TAIL(&conf->ifaces, ifc, entry);
	conf->nifaces++;
	cur_iface = NULL;
}

static void
peer_begin(const char *name, int line)
{
	peer_free(cur_peer);

	if (!node_name_valid(name))
		line_error(line, "invalid peer name \"%s\": use 1 to 63 "
		    "letters, digits, \".\", \"_\" or \"-\"", printable(name));
	if ((cur_peer = calloc(1, sizeof(*cur_peer))) == NULL)
		fatal("%s", __func__);
	copy_name(cur_peer->name, sizeof(cur_peer->name), name);
	cur_peer->keepalive = KEEPALIVE_INHERIT;
	cur_peer->relay_use = RELAY_USE_INHERIT;
	cur_peer->file = xstrdup(file->name);
	cur_peer->lineno = line;
	memset(&peerset, 0, sizeof(peerset));
}

static void
peer_end(void)
{
	struct peer_conf	*p = cur_peer;

	/* a bad public-key line has been reported already */
	if (peerset.public_key == 0)
		line_error(p->lineno, "peer \"%s\": no public-key",
		    printable(p->name));
	if (peerset.allowed == 0)
		p->allowed_auto = 1;
	address_derive(&p->derived, p->name, cur_iface->ifname);

	TAILQ_INSERT_TAIL(&cur_iface->peers, p, entry);
	cur_iface->npeers++;
	cur_peer = NULL;
}

static void
iface_add_address(int line, const char *s)
{
	struct prefix	 pfx, *a;

	if (prefix_parse(s, &pfx) == -1) {
		line_error(line, "address \"%s\" is not an address or prefix",
		    printable(s));
		return;
	}
	a = reallocarray(cur_iface->addresses, cur_iface->naddresses + 1,
	    sizeof(*a));
	if (a == NULL)
		fatal("%s", __func__);
	a[cur_iface->naddresses++] = pfx;
	cur_iface->addresses = a;
}

static void
peer_add_allowed(int line, const char *s)
{
	struct prefix	 pfx, masked, *a;
	char		 b1[PREFIX_STR_MAX], b2[PREFIX_STR_MAX];

	if (prefix_parse(s, &pfx) == -1) {
		line_error(line, "allowed-ips \"%s\" is not a prefix",
		    printable(s));
		return;
	}
	if (prefix_has_host_bits(&pfx)) {
		masked = pfx;
		prefix_mask(&masked);
		line_error(line, "allowed-ips %s has host bits set (%s?)",
		    prefix_ntop(&pfx, b1, sizeof(b1)),
		    prefix_ntop(&masked, b2, sizeof(b2)));
		return;
	}
	a = reallocarray(cur_peer->allowed, cur_peer->nallowed + 1,
	    sizeof(*a));
	if (a == NULL)
		fatal("%s", __func__);
	a[cur_peer->nallowed++] = pfx;
	cur_peer->allowed = a;
}

static void
peer_set_public_key(int line, const char *s)
{
	if (key_from_base64(cur_peer->public_key, s) == -1) {
		line_error(line, "public-key \"%s\" is not a key (44 "
		    "characters of base64)", printable(s));
		return;
	}
	if (key_is_zero(cur_peer->public_key)) {
		line_error(line, "public-key is all zeros");
		return;
	}
	cur_peer->has_public_key = 1;
}

static void
peer_set_endpoint(int line, const char *s)
{
	const char	*errstr = NULL;

	if (endpoint_parse(s, &cur_peer->endpoint, &errstr) == -1) {
		line_error(line, "endpoint \"%s\": %s", printable(s),
		    errstr != NULL ? errstr : "invalid");
		return;
	}
	cur_peer->has_endpoint = 1;
}

static struct wgmeshd_conf *
parse_run(struct file *top)
{
	struct wgmeshd_conf	*c;

	errors = 0;
	ifaces_seen = 0;
	nincludes = 0;
	exp_total = 0;
	lex_line = 1;
	lex_errtok = 0;
	lex_text[0] = '\0';
	lex_ntok = 0;
	lex_word[0] = '\0';
	top_line = 1;
	memset(&topset, 0, sizeof(topset));
	conf = conf_new();

	file = topfile = top;
	TAILQ_INSERT_TAIL(&files, top, entry);
	yyparse();

	/* an aborted parse leaves files open and blocks unfinished */
	while ((file = TAILQ_LAST(&files, file_list)) != NULL) {
		if (file != topfile) {
			popfile();
			continue;
		}
		if (ferror(file->stream))
			conf_error(file->name, file->lineno, "read error");
		TAILQ_REMOVE(&files, file, entry);
		break;
	}
	peer_free(cur_peer);
	cur_peer = NULL;
	iface_free(cur_iface);
	cur_iface = NULL;

	if (ifaces_seen == 0)
		conf_error(topfile->name, top_line, "no interface defined");
	relay_check();
	conf_check(conf);

	file_close(topfile);
	file = topfile = NULL;
	symclear();
	pool_clear();

	c = conf;
	conf = NULL;
	if (errors > 0) {
		conf_free(c);
		return (NULL);
	}
	return (c);
}

struct wgmeshd_conf *
parse_config(const char *path)
{
	const char	*reason;
	FILE		*stream;
	int		 fd;

	/* O_NONBLOCK: a FIFO must not hang wgmeshd -n */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 && errno == ENOENT) {
		/* a first run: where to start from */
		log_warnx("%s: %s; start from %s/wgmeshd.conf.example (or "
		    "the EXAMPLES in wgmeshd.conf(5)), then check it with: "
		    "wgmeshd -n", path, strerror(ENOENT), WGMESHD_EXAMPLES);
		return (NULL);
	}
	if (fd == -1) {
		log_warn("%s", path);
		return (NULL);
	}
	if ((reason = file_check_reason(fd, 0)) != NULL) {
		log_warnx("%s: %s", path, reason);
		close(fd);
		return (NULL);
	}
	if ((stream = fdopen(fd, "r")) == NULL)
		fatal("%s: fdopen", __func__);
	return (parse_run(file_new(stream, path, 1)));
}

struct wgmeshd_conf *
parse_config_stream(const char *name, FILE *stream)
{
	return (parse_run(file_new(stream, name, 0)));
}
