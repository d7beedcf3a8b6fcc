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
 * The configuration printed back (wgmeshd -n -v): what the parent will
 * apply, in wgmeshd.conf(5)'s grammar.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>

#include "wgmeshd.h"
#include "conf.h"

static void	 print_string(FILE *, const char *);
static void	 print_peer(FILE *, const struct iface_conf *,
		    const struct peer_conf *);

static void
print_string(FILE *fp, const char *s)
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
 * A peer block.  This node's own entry, in a file for the whole mesh,
 * is printed first and as it was given, with where it was found: the
 * output is such a file again.
 */
static void
print_peer(FILE *fp, const struct iface_conf *ifc, const struct peer_conf *p)
{
	struct prefix	 pfx;
	char		 buf[ENDPOINT_STR_MAX];
	char		 key[WG_KEY_B64_LEN];
	size_t		 i;

	fprintf(fp, "\n\tpeer ");
	print_string(fp, p->name);
	fprintf(fp, " {\n");
	if (p == ifc->self)
		fprintf(fp, "\t\t# this node's own entry (%s:%d), not a "
		    "peer\n", p->file, p->lineno);
	fprintf(fp, "\t\t# address: %s\n",
	    prefix_ntop(&p->derived, buf, sizeof(buf)));
	if (p->has_public_key) {
		key_to_base64(key, p->public_key);
		fprintf(fp, "\t\tpublic-key \"%s\"\n", key);
	}
	if (p->psk_file != NULL) {
		fprintf(fp, "\t\tpreshared-key-file ");
		print_string(fp, p->psk_file);
		fprintf(fp, "\n");
	} else if (ifc->psk_file != NULL) {
		fprintf(fp, "\t\t# preshared-key-file ");
		print_string(fp, ifc->psk_file);
		fprintf(fp, " (from the interface)\n");
	}
	if (p->has_endpoint) {
		fprintf(fp, "\t\tendpoint ");
		print_string(fp, endpoint_ntop(&p->endpoint,
		    buf, sizeof(buf)));
		fprintf(fp, "\n");
	}
	for (i = 0; i < peer_allowed_count(p); i++) {
		peer_allowed_get(p, i, &pfx);
		prefix_ntop(&pfx, buf, sizeof(buf));
		if (i == 0 && p->allowed_auto)
			fprintf(fp, "\t\tallowed-ips auto  "
			    "# %s\n", buf);
		else
			fprintf(fp, "\t\tallowed-ips \"%s\"\n",
			    buf);
	}
	if (p->keepalive != KEEPALIVE_INHERIT)
		fprintf(fp, "\t\tpersistent-keepalive %d\n",
		    p->keepalive);
	else
		fprintf(fp, "\t\t# persistent-keepalive %u "
		    "(from the interface)\n", ifc->keepalive);
	if (p->relay_use != RELAY_USE_INHERIT)
		fprintf(fp, "\t\trelay-use %s\n", p->relay_use ? "yes" : "no");
	else
		fprintf(fp, "\t\t# relay-use %s (from the interface)\n",
		    ifc->relay_use ? "yes" : "no");
	fprintf(fp, "\t}\n");
}

/*
 * The effective configuration in the grammar above: defaults spelled
 * out, derived values and inherited ones as comments.  Key files are
 * named, their contents never printed.
 */
void
conf_print(FILE *fp, const struct wgmeshd_conf *c)
{
	struct iface_conf	*ifc;
	struct peer_conf	*p;
	char			 buf[ENDPOINT_STR_MAX];
	char			 key[WG_KEY_B64_LEN];
	size_t			 i;

	fprintf(fp, "user ");
	print_string(fp, c->user);
	fprintf(fp, "\nstate-directory ");
	print_string(fp, c->state_dir);
	fprintf(fp, "\ncontrol-socket ");
	print_string(fp, c->control_socket);
	fprintf(fp, "\nrelay-ports %u-%u\n", c->relay_port_low,
	    c->relay_port_high);
	fprintf(fp, "relay-max-pairs %u\n", c->relay_max_pairs);
	fprintf(fp, "relay-rate %u\n", c->relay_rate_mbit);
	fprintf(fp, "relay-packet-rate %u\n", c->relay_packet_rate);

	TAILQ_FOREACH(ifc, &c->ifaces, entry) {
		fprintf(fp, "\ninterface ");
		print_string(fp, ifc->ifname);
		fprintf(fp, " {\n\tname ");
		print_string(fp, ifc->node_name);
		fprintf(fp, "\n");
		if (ifc->has_public_key) {
			key_to_base64(key, ifc->public_key);
			fprintf(fp, "\t# public key: %s\n", key);
		} else
			fprintf(fp, "\t# public key: unknown (private-key-file "
			    "missing; created at start)\n");
		fprintf(fp, "\tprivate-key-file ");
		print_string(fp, ifc->private_key_file);
		fprintf(fp, "\n");
		if (ifc->psk_file != NULL) {
			fprintf(fp, "\tpreshared-key-file ");
			print_string(fp, ifc->psk_file);
			fprintf(fp, "\n");
		}
		if (ifc->gossip_secret_file != NULL) {
			fprintf(fp, "\tgossip-secret-file ");
			print_string(fp, ifc->gossip_secret_file);
			fprintf(fp, "\n");
		}
		fprintf(fp, "\tlisten-port %u\n", ifc->listen_port);
		if (ifc->fwmark != 0)
			fprintf(fp, "\tfwmark 0x%x\n", ifc->fwmark);
		else
			fprintf(fp, "\tfwmark 0\n");
		if (ifc->address_auto)
			fprintf(fp, "\taddress auto  # %s\n",
			    prefix_ntop(&ifc->derived, buf, sizeof(buf)));
		for (i = 0; i < ifc->naddresses; i++)
			fprintf(fp, "\taddress \"%s\"\n",
			    prefix_ntop(&ifc->addresses[i], buf, sizeof(buf)));
		fprintf(fp, "\tgossip-port %u\n", ifc->gossip_port);
		fprintf(fp, "\tlan-discovery %s\n",
		    ifc->lan_discovery ? "yes" : "no");
		if (ifc->upnp != 0)
			fprintf(fp, "\tport-mapping %s external-port %u\n",
			    ifc->upnp == PORTMAP_ALL ? "auto" :
			    ifc->upnp == PORTMAP_PCP ? "pcp" :
			    ifc->upnp == PORTMAP_NATPMP ? "nat-pmp" : "upnp",
			    ifc->upnp_external_port != 0 ?
			    ifc->upnp_external_port : ifc->listen_port);
		else
			fprintf(fp, "\tport-mapping no\n");
		fprintf(fp, "\tpersistent-keepalive %u\n", ifc->keepalive);
		fprintf(fp, "\trelay-offer %s\n",
		    ifc->relay_offer == RELAY_OFFER_NO ? "no" :
		    ifc->relay_offer == RELAY_OFFER_YES ? "yes" : "auto");
		fprintf(fp, "\trelay-use %s\n", ifc->relay_use ? "yes" : "no");
		fprintf(fp, "\tbackend %s\n",
		    ifc->backend == WG_BACKEND_KERNEL ? "kernel" :
		    ifc->backend == WG_BACKEND_USERSPACE ? "userspace" : "auto");

		if (ifc->self != NULL)
			print_peer(fp, ifc, ifc->self);
		TAILQ_FOREACH(p, &ifc->peers, entry)
			print_peer(fp, ifc, p);
		fprintf(fp, "}\n");
	}
}
