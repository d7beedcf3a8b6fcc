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


#ifndef WGM_PROTO_H
#define WGM_PROTO_H

#include <stdint.h>

/*
 * Every message that crosses a process boundary, in one place: between
 * the parent, the engine and the storage process, and between wgmeshctl
 * and the engine.  Payload structs follow the enum as the messages are
 * implemented; each handler checks the exact size before use.
 */
enum imsg_type {
	IMSG_NONE,
	/* wgmeshctl <-> engine */
	IMSG_CTL_SHOW_PEERS,
	IMSG_CTL_SHOW_INTERFACES,
	IMSG_CTL_SHOW_SELF,
	IMSG_CTL_RELOAD,
	IMSG_CTL_LOG_VERBOSE,
	IMSG_CTL_RESULT,
	IMSG_CTL_END,
	/* parent -> children: a new configuration, as a transaction */
	IMSG_RECONF_BEGIN,
	IMSG_RECONF_IFACE,
	IMSG_RECONF_PEER,
	IMSG_RECONF_END,
	/* parent -> engine */
	IMSG_SOCKET_CONTROL,
	IMSG_DEVICE_PEER,
	IMSG_PAIR_KEY,
	/* engine -> parent: the one request the engine may make */
	IMSG_SET_ENDPOINT,
	/* storage <-> engine */
	IMSG_STATE_ENTRY,
	IMSG_STATE_LOADED,
	IMSG_STATE_SAVE,
	IMSG_TYPE_MAX
};

const char	*imsg_type_name(uint32_t);

#endif /* WGM_PROTO_H */
