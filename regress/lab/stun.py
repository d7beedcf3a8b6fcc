#!/usr/bin/env python3
# A minimal STUN server (RFC 5389) for the lab: every Binding request is
# answered, from the one socket it came to, with a Binding success
# response carrying XOR-MAPPED-ADDRESS, the request's source.  That is
# all miniupnpd's ext_perform_stun check needs to see its own address
# and ports unchanged.  CHANGE-REQUEST is ignored (no second address).
#
#	stun.py ADDRESS [PORT [SECONDS]]	port 3478, runs for SECONDS
#						(default 600), then exits
#
# Copyright (c) 2026 The wgmeshd authors
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.

import socket
import struct
import sys
import time

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
XOR_MAPPED_ADDRESS = 0x0020
HEADER = struct.Struct(">HHI12s")


def answer(request, addr):
    """The response to one datagram, or None if it is no Binding request."""
    if len(request) < HEADER.size:
        return None
    mtype, length, cookie, txid = HEADER.unpack_from(request)
    # the two top bits of a STUN message are zero; a request's length
    # counts its attributes, in 4-byte units
    if mtype != BINDING_REQUEST or cookie != MAGIC or length % 4 != 0 or \
            HEADER.size + length != len(request):
        return None
    host, port = addr[0], addr[1]
    packed = socket.inet_aton(host)
    xaddr = struct.unpack(">I", packed)[0] ^ MAGIC
    attr = struct.pack(">HHBBHI", XOR_MAPPED_ADDRESS, 8, 0, 1,
                       port ^ (MAGIC >> 16), xaddr)
    return HEADER.pack(BINDING_SUCCESS, len(attr), MAGIC, txid) + attr


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: stun.py ADDRESS [PORT [SECONDS]]")
    host = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 3478
    end = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) > 3
                              else 600)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    print("stun: listening on %s:%d" % (host, port), flush=True)
    answered = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(min(left, 1.0))
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        out = answer(data, addr)
        if out is None:
            continue
        s.sendto(out, addr)
        answered += 1
        print("stun: %s:%d" % addr, flush=True)
    print("stun: %d answered; exiting" % answered, flush=True)


if __name__ == "__main__":
    main()
