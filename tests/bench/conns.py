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
"""

import errno
import selectors
import socket
import statistics
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


def server(port):
    sel = listening(port)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "conn")
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if data:
                try:
                    sock.send(b"k")
                except OSError:
                    pass
            sel.unregister(sock)
            sock.close()


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


COMMANDS = {"server": server, "latency": latency, "hold": hold, "churn": churn,
            "push": push, "flood": flood}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
