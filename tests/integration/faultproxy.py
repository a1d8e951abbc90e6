#!/usr/bin/env python3
"""faultproxy.py - a reverse proxy for the object-store integration tests.

Sits between walden and a local S3 (Swift) or Azure (Azurite) server on
127.0.0.1 and injects faults, one per request, from a queue file:

    faultproxy.py LISTEN_PORT UPSTREAM_PORT CONTROL_FILE LOG_FILE

CONTROL_FILE holds one fault per line, consumed in order; "PUT:fault"
applies to the next PUT only (any method name works); an empty file means
"pass everything". Faults:
    503           answer 503 without forwarding
    500           answer 500 without forwarding
    drop-before   close the connection without forwarding the request
    drop-after    forward (the server does the work), then close without
                  answering
    stall         accept the request, then send nothing for 30 s
    truncate      forward, then send the headers and half the body, close
    always-503    (sticky, never consumed) every request gets 503
LOG_FILE gets one line per request: "METHOD PATH cl=N te=X fault=F range=R"
(R: the Range / x-ms-range header, empty without one); the
tests check from it that every upload had a Content-Length and none was
chunked. The Host header and the body pass unchanged, so signatures hold.
"""
import os
import socket
import socketserver
import sys
import threading
import time

LISTEN, UPSTREAM, CONTROL, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()


def next_fault(method):
    """The first queued fault that applies to this request, consumed: a line
    "METHOD:fault" applies to that method only, "fault" to any request."""
    with lock:
        try:
            with open(CONTROL) as f:
                lines = [l.strip() for l in f if l.strip()]
        except FileNotFoundError:
            return "pass"
        for i, line in enumerate(lines):
            m, _, fault = line.rpartition(":")
            if m and m != method:
                continue
            if fault == "always-503":
                return "503"
            with open(CONTROL + ".tmp", "w") as f:
                f.write("".join(l + "\n" for l in lines[:i] + lines[i + 1:]))
            os.replace(CONTROL + ".tmp", CONTROL)
            return fault
        return "pass"


def log(line):
    with lock:
        with open(LOG, "a") as f:
            f.write(line + "\n")


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            if k.strip().lower() == name:
                return v.strip().decode()
    return None


def simple(status):
    body = b"<Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>"
    return (b"HTTP/1.1 %d Injected\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
            % (status, len(body)) + body)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        buf = b""
        while True:
            head, buf = read_head(c, buf)
            if head is None:
                return
            method, path = head.split(b" ")[:2]
            cl = header(head, b"content-length")
            te = header(head, b"transfer-encoding")
            n = int(cl) if cl else 0
            while len(buf) < n:
                data = c.recv(1 << 20)
                if not data:
                    return
                buf += data
            body, buf = buf[:n], buf[n:]
            fault = next_fault(method.decode())
            rng = header(head, b"range") or header(head, b"x-ms-range")
            log("%s %s cl=%s te=%s fault=%s range=%s"
                % (method.decode(), path.decode(), cl, te, fault, (rng or "").replace(" ", "")))
            if fault in ("503", "500"):
                c.sendall(simple(int(fault)))
                continue
            if fault == "drop-before":
                return
            if fault == "stall":
                time.sleep(30)
                return
            # forward on a fresh upstream connection, asking it to close
            lines = [l for l in head.split(b"\r\n")[:-2]
                     if not l.lower().startswith(b"connection:")]
            up_head = b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n"
            u = socket.create_connection(("127.0.0.1", UPSTREAM))
            u.sendall(up_head + body)
            resp = b""
            while True:
                data = u.recv(1 << 20)
                if not data:
                    break
                resp += data
            u.close()
            if fault == "drop-after":
                return
            rhead, rbody = resp.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in resp else (resp, b"")
            if fault == "truncate" and rbody:
                c.sendall(rhead + b"\r\n\r\n" + rbody[: len(rbody) // 2])
                return
            c.sendall(resp)
            rh = rhead + b"\r\n\r\n"
            framed = header(rh, b"content-length") or header(rh, b"transfer-encoding")
            if not framed and method != b"HEAD":
                return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", LISTEN), Handler).serve_forever()
