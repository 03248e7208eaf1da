#!/usr/bin/env python3
"""Connection workloads for tests/bench/relay.sh. Every loop is bounded.

  server PORT              accept on every address; a client that sends a
                           byte gets b"k" and the server closes first (so no
                           TIME_WAIT piles up on the client side); a client
                           that sends nothing is held until it closes.
  latency HOST PORT N      N sequential connects; prints median and p99 of
                           connect() in microseconds.
  hold HOST PORT N SECS    opens N connections at once, prints "held N" when
                           all are up, keeps them SECS seconds, closes.
  churn HOST PORT N [END]  N short connections one after another (connect,
                           send, read to EOF, close), stopping early at END
                           (Unix time; default 30 minutes from now); prints
                           the counts done and failed.
  push PORT                accept on every address and send to each client
                           as fast as it takes, never reading: a server
                           whose client never reads fills every buffer on
                           the way.
  flood HOST PORT N SECS   a hostile app: opens N connections as fast as it
                           can (60 s at most), never reads, prints "flood up
                           U failed F pending P", keeps them SECS seconds.

For tests/bench/hostile.sh (the issue 14 scenario):

  sink PORT                accept on every address, read and throw away,
                           hold each connection until its client closes.
  hosthold HOST PORT N SECS [HOSTLEN]
                           opens N connections at once (60 s at most for
                           them to come up), sends on each a request whose
                           Host header is HOSTLEN bytes (default 16,384)
                           and no blank line after it, so the head never
                           ends; prints "hosthold up U sent S failed F
                           pending P", holds them SECS seconds watching for
                           closes, prints "hosthold end open O closed C".
  synflood HOST PORT COUNT SECS
                           COUNT raw TCP SYNs (needs CAP_NET_RAW), paced
                           over SECS seconds (stops at 2 x SECS), half to
                           PORT and half to random ports on HOST, from
                           198.18.0.1 or a spoofed 198.18.0.0/16 source
                           (half each), random source ports; nothing
                           answers them.
  udpflood HOST COUNT SECS COUNT datagrams of 0 to 1,400 random bytes to
                           random ports of HOST from one socket, paced over
                           SECS seconds (stops at 2 x SECS).
  tunbytes IFACE BYTES SECS
                           BYTES random bytes written as packets of 1 to
                           1,500 bytes onto the tun IFACE with an AF_PACKET
                           socket (needs CAP_NET_RAW), which hands them to
                           the tun's reader as they are; paced over SECS
                           seconds (stops at 3 x SECS). A third are random
                           from the first byte, a third have IPv4's version
                           nibble, a third sit behind a valid IPv4 header
                           (checksum right, protocol TCP, UDP, ICMP or any,
                           to 198.19.0.0/24) so ports, flags and payloads
                           reach the transport parsers.
"""

import errno
import os
import random
import selectors
import socket
import statistics
import struct
import sys
import time


def listening(port):
    """A selector holding non-blocking listeners on every IPv4 and IPv6
    address at PORT, each registered for reading with the data "listen"."""
    sel = selectors.DefaultSelector()
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((addr, int(port)))
        sock.listen(4096)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, "listen")
    return sel


def serve(port, readable):
    """Accepts every connection on PORT and calls readable(conn) whenever
    one has something to read (or has closed); a true answer closes it."""
    sel = listening(port)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError as error:
                    # Out of descriptors: the listener stays readable, so
                    # wait rather than spin.
                    if error.errno in (errno.EMFILE, errno.ENFILE):
                        time.sleep(0.05)
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "conn")
                continue
            if readable(sock):
                sel.unregister(sock)
                sock.close()


def server(port):
    def answer_once(sock):
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if data:
            try:
                sock.send(b"k")
            except OSError:
                pass
        return True

    serve(port, answer_once)


def latency(host, port, count):
    times = []
    for _ in range(int(count)):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.settimeout(5)
        started = time.perf_counter_ns()
        sock.connect((host, int(port)))
        times.append((time.perf_counter_ns() - started) / 1000)
        sock.close()
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"median_us {statistics.median(times):.1f} p99_us {p99:.1f} n {len(times)}")


def hold(host, port, count, seconds):
    count = int(count)
    socks = []
    deadline = time.monotonic() + 120
    for _ in range(count):
        sock = socket.socket(socket.AF_INET)
        sock.setblocking(False)
        try:
            sock.connect((host, int(port)))
        except BlockingIOError:
            pass
        socks.append(sock)
    sel = selectors.DefaultSelector()
    for sock in socks:
        sel.register(sock, selectors.EVENT_WRITE)
    up = 0
    errors = {}
    while up < count and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            sel.unregister(key.fileobj)
            error = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error == 0:
                up += 1
            else:
                count -= 1
                name = errno.errorcode.get(error, str(error))
                errors[name] = errors.get(name, 0) + 1
    pending = len(sel.get_map())
    failed = ", ".join(f"{n} {name}" for name, n in sorted(errors.items()))
    note = f" (of {len(socks)}; failed: {failed or 'none'}; still connecting: {pending})"
    print(f"held {up}" + (note if up < len(socks) else ""), flush=True)
    time.sleep(float(seconds))
    for sock in socks:
        sock.close()


def churn(host, port, count, end=None):
    done = failed = 0
    deadline = float(end) if end else time.time() + 1800
    for _ in range(int(count)):
        if time.time() > deadline:
            break
        try:
            with socket.create_connection((host, int(port)), timeout=15) as sock:
                sock.sendall(b"x")
                while sock.recv(16):
                    pass
            done += 1
        except OSError:
            failed += 1
    print(f"done {done} failed {failed}")


def push(port):
    sel = listening(port)
    chunk = bytes(64 * 1024)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_WRITE, "conn")
                continue
            try:
                sock.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(sock)
                sock.close()


def flood(host, port, count, seconds):
    """Connects like hold(), but without waiting for one batch: a hostile
    app does not pace itself, and each refused connection is counted."""
    socks = []
    sel = selectors.DefaultSelector()
    errors = {}
    for _ in range(int(count)):
        sock = socket.socket(socket.AF_INET)
        sock.setblocking(False)
        try:
            sock.connect((host, int(port)))
        except BlockingIOError:
            pass
        except OSError as error:
            name = errno.errorcode.get(error.errno, str(error.errno))
            errors[name] = errors.get(name, 0) + 1
            sock.close()
            continue
        socks.append(sock)
        sel.register(sock, selectors.EVENT_WRITE)
    up = 0
    deadline = time.monotonic() + 60
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            sel.unregister(key.fileobj)
            error = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error == 0:
                up += 1
            else:
                name = errno.errorcode.get(error, str(error))
                errors[name] = errors.get(name, 0) + 1
    failed = sum(errors.values())
    detail = ", ".join(f"{n} {name}" for name, n in sorted(errors.items()))
    print(f"flood up {up} failed {failed} pending {len(sel.get_map())} ({detail or 'no errors'})",
          flush=True)
    time.sleep(float(seconds))
    for sock in socks:
        sock.close()


def sink(port):
    def read_and_hold(sock):
        try:
            return not sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            return True

    serve(port, read_and_hold)


LETTERS = bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(256))


def long_host(length):
    """A host name of `length` bytes: random 63-letter labels, dotted."""
    name = bytearray(os.urandom(length).translate(LETTERS))
    name[63::64] = b"." * len(name[63::64])
    if name.endswith(b"."):
        name[-1:] = b"a"
    return bytes(name)


def hosthold(host, port, count, seconds, hostlen=16384):
    count, seconds = int(count), float(seconds)
    socks = []
    sel = selectors.DefaultSelector()
    errors = {}

    def fail(sock, error):
        name = errno.errorcode.get(error, str(error))
        errors[name] = errors.get(name, 0) + 1
        try:
            sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    for _ in range(count):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setblocking(False)
        try:
            sock.connect((host, int(port)))
        except BlockingIOError:
            pass
        except OSError as error:
            fail(sock, error.errno)
            continue
        socks.append(sock)
        sel.register(sock, selectors.EVENT_WRITE, None)
    # Each connection's request, sent as far as the window lets it.
    pending = {}
    up = sent = 0
    deadline = time.monotonic() + 60
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            sock = key.fileobj
            if key.data is None:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    fail(sock, error)
                    continue
                up += 1
                request = (b"GET / HTTP/1.1\r\nHost: " + long_host(int(hostlen))
                           + b"\r\nUser-Agent: hostile\r\n")
                pending[sock] = request
                sel.modify(sock, selectors.EVENT_WRITE, "send")
            try:
                done = sock.send(pending[sock])
            except BlockingIOError:
                continue
            except OSError as error:
                del pending[sock]
                fail(sock, error.errno)
                continue
            pending[sock] = pending[sock][done:]
            if not pending[sock]:
                del pending[sock]
                sent += 1
                sel.unregister(sock)
    still = len(sel.get_map())
    failed = sum(errors.values())
    detail = ", ".join(f"{n} {name}" for name, n in sorted(errors.items()))
    print(f"hosthold up {up} sent {sent} failed {failed} pending {still} of {count}"
          f" ({detail or 'no errors'})", flush=True)
    # Hold: whatever the server or Hush closes is counted, nothing is sent.
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
    alive = [s for s in socks if s.fileno() >= 0]
    for sock in alive:
        sel.register(sock, selectors.EVENT_READ)
    closed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and sel.get_map():
        for key, _ in sel.select(timeout=min(1.0, max(0.0, end - time.monotonic()))):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed += 1
                sel.unregister(key.fileobj)
    print(f"hosthold end open {len(sel.get_map())} closed {closed}", flush=True)
    for sock in socks:
        sock.close()


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src, dst, proto, payload_len, ident):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0x4000, 64,
                         proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def paced(count, seconds, limit):
    """Yields 0..count-1 at an even pace over `seconds`, as fast as the
    machine allows when behind; stops at `limit` seconds whatever the count."""
    started = time.monotonic()
    step = seconds / count if count else 0
    for i in range(count):
        now = time.monotonic()
        if now - started > limit:
            return
        ahead = started + i * step - now
        if ahead > 0.002:
            time.sleep(ahead)
        yield i


def synflood(host, port, count, seconds):
    count, seconds = int(count), float(seconds)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    dst = socket.inet_aton(host)
    own = socket.inet_aton("198.18.0.1")
    sent = errors = 0
    started = time.monotonic()
    for i in paced(count, seconds, 2 * seconds):
        src = own if i % 2 else bytes([198, 18, random.randrange(1, 256), random.randrange(1, 255)])
        dport = int(port) if i % 4 < 2 else random.randrange(1, 65536)
        tcp = struct.pack("!HHIIBBHHH", random.randrange(1024, 65536), dport,
                          random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
        try:
            sock.sendto(ipv4_header(src, dst, 6, len(tcp), i & 0xFFFF) + tcp, (host, 0))
            sent += 1
        except OSError:
            errors += 1
    print(f"synflood sent {sent} errors {errors} in {time.monotonic() - started:.1f} s", flush=True)


def udpflood(host, count, seconds):
    count, seconds = int(count), float(seconds)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sent = errors = 0
    started = time.monotonic()
    for _ in paced(count, seconds, 2 * seconds):
        try:
            sock.sendto(os.urandom(random.randrange(0, 1401)), (host, random.randrange(1, 65536)))
            sent += 1
        except OSError:
            # ICMP errors from earlier datagrams come back as errors here.
            errors += 1
    print(f"udpflood sent {sent} errors {errors} in {time.monotonic() - started:.1f} s", flush=True)


def tunbytes(iface, total, seconds):
    total, seconds = int(total), float(seconds)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    src = socket.inet_aton("198.18.0.1")
    # Packets average 750 bytes; the pace is by bytes, checked each packet.
    written = packets = errors = 0
    started = time.monotonic()
    rate = total / seconds
    while written < total:
        now = time.monotonic()
        if now - started > 3 * seconds:
            break
        ahead = started + written / rate - now
        if ahead > 0.002:
            time.sleep(ahead)
        size = min(random.randrange(1, 1501), total - written)
        kind = packets % 3
        if kind == 2 and size > 20:
            proto = random.choice((6, 17, 1, random.randrange(0, 256)))
            dst = bytes([198, 19, 0, random.randrange(1, 255)])
            packet = ipv4_header(src, dst, proto, size - 20, packets & 0xFFFF) + os.urandom(size - 20)
        else:
            packet = os.urandom(size)
            if kind == 1:
                packet = bytes([0x40 | packet[0] & 0x0F]) + packet[1:]
        try:
            sock.sendto(packet, (iface, 0x0800))
            written += len(packet)
        except OSError:
            errors += 1
        packets += 1
    print(f"tunbytes written {written} packets {packets} errors {errors}"
          f" in {time.monotonic() - started:.1f} s", flush=True)


COMMANDS = {"server": server, "latency": latency, "hold": hold, "churn": churn,
            "push": push, "flood": flood, "sink": sink, "hosthold": hosthold,
            "synflood": synflood, "udpflood": udpflood, "tunbytes": tunbytes}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
