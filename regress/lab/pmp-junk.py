#!/usr/bin/env python3
# A hostile PCP and NAT-PMP gateway for the lab: it answers every request
# on its port 5351 with a burst of datagrams of which none may be taken
# for a mapping: short, long, cut, of another version or opcode, for
# another nonce, protocol or internal port, with an external address that
# is no IPv4 one.  NAT-PMP's external address request is answered
# correctly (so that the mapping request is sent too), the mapping
# request only with junk.  Each request is logged as "request VERSION
# LENGTH" and each burst as "answered N".
#
#	pmp-junk.py ADDRESS [SECONDS]	port 5351, runs for SECONDS
#					(default 600), then exits
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

PORT = 5351
EPOCH = 1000
EXTERNAL = bytes([198, 18, 0, 12])
MAPPED4 = bytes(10) + b"\xff\xff"


def pcp_map(request, result=0, version=2, opcode=0x81, nonce=None,
            proto=17, int_port=None, ext_addr=None):
    """A MAP answer built from the request, with one field spoiled."""
    nonce = request[24:36] if nonce is None else nonce
    int_port = request[40:42] if int_port is None else int_port
    ext_addr = MAPPED4 + EXTERNAL if ext_addr is None else ext_addr
    head = struct.pack(">BBBBII12x", version, opcode, 0, result, 3600,
                       EPOCH)
    body = nonce + struct.pack(">B3x", proto) + int_port + \
        request[42:44] + ext_addr
    return head + body


def pcp_junk(request):
    """Nothing a client may take for its mapping."""
    good = pcp_map(request)
    other = bytes(b ^ 0x55 for b in request[24:36])
    port = struct.pack(">H", (struct.unpack(">H", request[40:42])[0] + 1)
                       & 0xffff)
    return [
        b"\x02",
        bytes(12),
        good[:24],                              # success, no MAP fields
        good[:56],                              # cut
        good + b"\x00",                         # not a multiple of 4
        good + bytes(1200),                     # longer than 1100 bytes
        pcp_map(request, version=1),
        pcp_map(request, opcode=0x01),          # no R bit
        pcp_map(request, opcode=0x82),          # PEER
        pcp_map(request, nonce=other),
        pcp_map(request, proto=6),
        pcp_map(request, int_port=port),
        pcp_map(request, ext_addr=b"\x20\x01\x0d\xb8" + bytes(11) + b"\x01"),
    ]


def natpmp_answers(request):
    """The external address right; the mapping only junk."""
    if len(request) == 2 and request[1] == 0:
        return [struct.pack(">BBHI", 0, 128, 0, EPOCH) + EXTERNAL]
    if len(request) != 12 or request[1] != 1:
        return []
    private = struct.unpack(">H", request[4:6])[0]

    def mapping(version=0, opcode=129, port=private, size=16):
        return struct.pack(">BBHIHHI", version, opcode, 0, EPOCH, port,
                           40000, 3600)[:size]
    return [
        mapping(size=15),
        mapping() + b"\x00",
        mapping(version=1),
        mapping(opcode=128),                    # an address, 16 bytes
        mapping(opcode=130),                    # TCP
        mapping(port=(private + 1) & 0xffff),   # another internal port
    ]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: pmp-junk.py ADDRESS [SECONDS]")
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], PORT))
    sock.settimeout(1.0)
    print("listening on %s:%d" % (sys.argv[1], PORT), flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            request, addr = sock.recvfrom(2048)
        except socket.timeout:
            continue
        print("request %d %d" % (request[0] if request else -1,
                                 len(request)), flush=True)
        if len(request) == 60 and request[0] == 2:
            answers = pcp_junk(request)
        elif request and request[0] == 0:
            answers = natpmp_answers(request)
        else:
            answers = []
        for a in answers:
            sock.sendto(a, addr)
        print("answered %d" % len(answers), flush=True)


if __name__ == "__main__":
    main()
