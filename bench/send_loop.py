# The send loop of the benchmark in Python: n datagrams of 64 bytes to host:port, one sendto each.
import socket
import sys
import time

host, port = sys.argv[1].rsplit(':', 1)
n = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
addr = (host, int(port))
b = b'A' * 64
t = time.perf_counter()
for i in range(n):
    s.sendto(b, addr)
print('seconds', time.perf_counter() - t)
