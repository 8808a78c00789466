"""boofuzz against a UDP target, set up quietly: replies read, no web UI, no console log,
one connection reused, the results database in a temporary folder. A liveness check (a ping
that must be answered) every 1,000 cases. Prints "cases N", "pings N" and "seconds S" (the
fuzzing alone). Usage: boofuzz_udp.py HOST PORT SECONDS DBDIR"""
import os
import socket
import sys
import time

import boofuzz as bf

host, port, seconds, dbdir = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
EVERY = 1000
state = {"cases": 0, "pings": 0, "start": 0.0}
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe.settimeout(1.0)


def after_case(target, fuzz_data_logger, session, *args, **kwargs):
    state["cases"] += 1
    if state["cases"] % EVERY == 0:
        probe.sendto(b"\x00", (host, port))
        probe.recv(64)  # a timeout here raises: no answer is a dead target
        state["pings"] += 1
    if time.perf_counter() - state["start"] >= seconds:
        raise KeyboardInterrupt


session = bf.Session(
    target=bf.Target(connection=bf.UDPSocketConnection(host, port, recv_timeout=1.0)),
    web_port=None,
    keep_web_open=False,
    fuzz_loggers=[],
    receive_data_after_each_request=True,
    reuse_target_connection=True,
    post_test_case_callbacks=[after_case],
    # Its results database in memory: a commit per case on disk costs it 20 ms.
    db_filename=":memory:" if dbdir == "-" else os.path.join(dbdir, "boofuzz.db"),
)
bf.s_initialize("hello")
bf.s_byte(1, name="kind")
bf.s_word(5, endian=">", name="len")
# Capped as udpsh caps its cases for this seed (1 KiB): the same sizes on the wire.
bf.s_string("hello", name="name", max_len=1024)
session.connect(bf.s_get("hello"))
state["start"] = time.perf_counter()
try:
    while time.perf_counter() - state["start"] < seconds:
        session.fuzz()
except KeyboardInterrupt:
    pass
print(f"cases {state['cases']}")
print(f"pings {state['pings']}")
print(f"seconds {time.perf_counter() - state['start']}")
