"""Name resolution for the peer tests' HTTPS checks, like curl's --resolve: when
READSET_RESOLVE is set (`host=127.0.0.1:PORT,host2=...`), those names resolve to that address
and port; everything else resolves as usual. Loaded by Python at start-up from PYTHONPATH (as
`sitecustomize`) so the AWS CLI runs unmodified, and loaded by path by peers.py for the
in-process clients. The clients still connect by name: TLS checks the certificate for the name (SNI) and
SigV4 signs the name as Host, exactly as against AWS.
"""

import os
import socket

_real_getaddrinfo = socket.getaddrinfo


def _table():
    out = {}
    for entry in filter(None, os.environ.get("READSET_RESOLVE", "").split(",")):
        host, _, addr = entry.partition("=")
        ip, _, port = addr.rpartition(":")
        out[host.strip().lower()] = (ip, int(port))
    return out


def _getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    fixed = _table().get(name.lower().rstrip(".")) if isinstance(name, str) else None
    if fixed is None:
        return _real_getaddrinfo(host, port, *args, **kwargs)
    return _real_getaddrinfo(fixed[0], fixed[1], *args, **kwargs)


if getattr(socket.getaddrinfo, "__name__", "") != "_getaddrinfo":
    socket.getaddrinfo = _getaddrinfo
