#!/usr/bin/env python3
"""Servers and clients for Hush's end-to-end relay tests.

Run inside the lab's namespaces by tests/e2e_relay.rs. Every loop is bounded
in count and time, and every socket has a timeout: nothing here can hang a
test run or reach past the namespaces (the lab gives them no other route).

Servers (run until killed):
  record  ADDR PORT LOG IDLE TCP: read until EOF or IDLE seconds idle, append
                             "<bytes>\n" to LOG, reply with the sha256 of what
                             was read, close.
  reset   ADDR PORT          TCP: send 64 KiB, then reset the connection.
  udp     ADDR PORT LOG      UDP: echo each datagram, append "<bytes>\n" to LOG.

Clients (exit 0 on success, 1 with a reason on stderr otherwise):
  upload   HOST PORT MIB     send MIB MiB, half-close, check the sha256 reply.
  parallel HOST PORT COUNT   COUNT connections at once, 64 KiB each, as upload.
  expect-reset HOST PORT     read until the server's reset; fail on a timeout.
  udp-echo HOST PORT COUNT   COUNT datagrams, each echoed back.
  udp-replay HOST PORT FILE  send the datagrams in FILE (2-byte big-endian
                             length, then the bytes), report "sent N refused R".
  udp-steady HOST PORT SECONDS INTERVAL_MS
                             one socket, a numbered datagram every INTERVAL_MS
                             for SECONDS (at most 60); print "reply N SENT_NS
                             RECEIVED_NS" per echo (CLOCK_MONOTONIC), then
                             "sent COUNT". Errors on the socket are counted, not
                             fatal: the flow is meant to outlive them.
"""

import hashlib
import select
import socket
import sys
import threading
import time

TIMEOUT = 20


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve_forever(sock, handler):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def listener(addr, port):
    sock = socket.socket(family(addr), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, int(port)))
    sock.listen(1024)
    return sock


def record(addr, port, log, idle):
    lock = threading.Lock()

    def handle(conn):
        digest = hashlib.sha256()
        total = 0
        conn.settimeout(float(idle))
        try:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    break
                total += len(data)
                digest.update(data)
        except (socket.timeout, ConnectionError):
            pass
        with lock, open(log, "a") as out:
            out.write(f"{total}\n")
        try:
            conn.sendall(digest.hexdigest().encode() + b"\n")
        except OSError:
            pass
        conn.close()

    serve_forever(listener(addr, port), handle)


def reset(addr, port):
    def handle(conn):
        try:
            conn.sendall(b"x" * 65536)
            time.sleep(0.2)
        except OSError:
            pass
        # SO_LINGER with a zero timeout: close() sends a RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    serve_forever(listener(addr, port), handle)


def udp(addr, port, log):
    sock = socket.socket(family(addr), socket.SOCK_DGRAM)
    sock.bind((addr, int(port)))
    # UDP has no connect to wait on: the tests wait for this file instead.
    open(f"{log}.{port}.ready", "w").close()
    while True:
        data, peer = sock.recvfrom(65535)
        with open(log, "a") as out:
            out.write(f"{len(data)}\n")
        sock.sendto(data, peer)


def pattern(size, seed):
    block = hashlib.sha256(seed.encode()).digest() * 2048  # 64 KiB
    whole, rest = divmod(size, len(block))
    return block, whole, rest


def upload_one(host, port, size, seed):
    block, whole, rest = pattern(size, seed)
    digest = hashlib.sha256()
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as conn:
        for _ in range(whole):
            conn.sendall(block)
            digest.update(block)
        conn.sendall(block[:rest])
        digest.update(block[:rest])
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            data = conn.recv(128)
            if not data:
                break
            reply += data
    if reply.strip().decode() != digest.hexdigest():
        raise RuntimeError(f"sha256 mismatch after {size} bytes: got {reply!r}")


def upload(host, port, mib):
    upload_one(host, port, int(mib) << 20, "upload")
    print("ok")


def parallel(host, port, count):
    errors = []
    slowest = [0.0]

    def one(i):
        try:
            started = time.monotonic()
            upload_one(host, port, 65536, f"parallel-{i}")
            slowest[0] = max(slowest[0], time.monotonic() - started)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            errors.append(f"{i}: {error!r}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(int(count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    if errors or any(t.is_alive() for t in threads):
        sys.exit(f"{len(errors)} of {count} failed: {errors[:5]}")
    print(f"ok\nslowest {slowest[0]:.3f} s")


def expect_reset(host, port):
    received = 0
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        try:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    sys.exit(f"orderly close after {received} bytes, expected a reset")
                received += len(data)
        except ConnectionResetError:
            print(f"reset after {received} bytes in {time.monotonic() - started:.3f} s")
        except socket.timeout:
            sys.exit(f"timed out after {received} bytes, expected a reset")


def udp_echo(host, port, count):
    with socket.socket(family(host), socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect((host, int(port)))
        for i in range(int(count)):
            payload = f"datagram {i} ".encode() * 20
            sock.send(payload)
            if sock.recv(65535) != payload:
                sys.exit(f"datagram {i}: wrong echo")
    print("ok")


def udp_replay(host, port, path):
    data = open(path, "rb").read()
    datagrams = []
    while data:
        size = int.from_bytes(data[:2], "big")
        datagrams.append(data[2:2 + size])
        data = data[2 + size:]
    sent = refused = 0
    with socket.socket(family(host), socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.connect((host, int(port)))
        for datagram in datagrams:
            try:
                sock.send(datagram)
                sent += 1
                sock.recv(65535)
            except socket.timeout:
                pass
            except OSError:
                # An ICMP error for an earlier datagram surfaces on this socket.
                refused += 1
    print(f"sent {sent} refused {refused}")


def udp_steady(host, port, seconds, interval_ms):
    seconds = min(float(seconds), 60.0)
    interval = max(int(interval_ms), 1) / 1000
    sent = {}
    errors = 0
    with socket.socket(family(host), socket.SOCK_DGRAM) as sock:
        sock.connect((host, int(port)))
        sock.setblocking(False)
        start = time.monotonic()
        next_send = start
        count = 0
        while time.monotonic() - start < seconds:
            if time.monotonic() >= next_send:
                sent[count] = time.monotonic_ns()
                try:
                    sock.send(str(count).encode())
                except OSError:
                    errors += 1
                count += 1
                next_send += interval
            wait = max(0.0, min(next_send, start + seconds) - time.monotonic())
            readable, _, _ = select.select([sock], [], [], wait)
            while readable:
                try:
                    data = sock.recv(2048)
                except BlockingIOError:
                    break
                except OSError:
                    # An ICMP error for an earlier datagram.
                    errors += 1
                    break
                received = time.monotonic_ns()
                try:
                    number = int(data)
                except ValueError:
                    continue
                if number in sent:
                    print(f"reply {number} {sent[number]} {received}")
    print(f"sent {count} errors {errors}")


COMMANDS = {
    "record": record,
    "reset": reset,
    "udp": udp,
    "upload": upload,
    "parallel": parallel,
    "expect-reset": expect_reset,
    "udp-echo": udp_echo,
    "udp-replay": udp_replay,
    "udp-steady": udp_steady,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
