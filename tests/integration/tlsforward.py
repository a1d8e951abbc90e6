#!/usr/bin/env python3
"""tlsforward.py - a TLS-terminating forwarder for the object-store
integration tests (test_objstore_tls.sh): the local S3 server (Swift)
speaks plain HTTP only, so this puts HTTPS in front of it.

    tlsforward.py LISTEN_PORT UPSTREAM_PORT CERT_FILE KEY_FILE

Listens on 127.0.0.1:LISTEN_PORT with the certificate CERT_FILE (PEM, with
its private key in KEY_FILE), and for each connection that completes the
TLS handshake opens a plain connection to 127.0.0.1:UPSTREAM_PORT and
copies bytes both ways unchanged, until either side closes. Nothing is
parsed or rewritten: the Host header walden signed (SigV4) reaches Swift
as it was sent. A client that refuses the certificate only ends its own
connection.
"""
import socket
import socketserver
import ssl
import sys
import threading

LISTEN, UPSTREAM, CERT, KEY = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)


def pipe(src, dst, done):
    """Copies src to dst until src ends or fails; then ends both."""
    try:
        while True:
            data = src.recv(1 << 16)
            if not data:
                break
            dst.sendall(data)
    except (OSError, ValueError):  # ssl.SSLError is an OSError; ValueError: ended
        pass
    finally:
        done.set()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            c = ctx.wrap_socket(self.request, server_side=True)
        except OSError:  # the client refused the certificate, or probed the port
            return
        try:
            u = socket.create_connection(("127.0.0.1", UPSTREAM))
        except OSError:  # the server is gone: end the client's connection
            c.close()
            return
        done = threading.Event()
        back = threading.Thread(target=pipe, args=(u, c, done), daemon=True)
        back.start()
        threading.Thread(target=pipe, args=(c, u, done), daemon=True).start()
        # HTTP/1.1: once one side closes, the exchange is over
        # (shutdown, unlike close, also wakes the other thread's recv)
        done.wait()
        for s in (u, c):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass
            s.close()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", LISTEN), Handler).serve_forever()
