#!/usr/bin/env python3
"""Stands in for systemd's notification socket: binds a datagram socket at PATH and appends each
message to OUT as "<seconds since start> <sender pid> <field>", one line per field (the pid
from the kernel's credentials, as systemd's NotifyAccess= checks it). Ends after SECONDS."""
import os
import socket
import struct
import sys
import time

path, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o666)  # the services run as their own users
start = time.monotonic()
creds_size = struct.calcsize("3i")
with open(out, "a", buffering=1) as f:
    while True:
        left = seconds - (time.monotonic() - start)
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds_size))
        except socket.timeout:
            break
        pid = 0
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:creds_size])[0]
        for field in data.decode(errors="replace").splitlines():
            f.write("%.3f %d %s\n" % (time.monotonic() - start, pid, field))
os.unlink(path)
