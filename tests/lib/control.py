"""One request on a control socket (docs/api.md): a JSON line out, the
reply line back, parsed.  Imported by the python parts of the tests
(sys.path gets tests/lib), or run as `python3 tests/lib/control.py SOCKET
JSON`, which prints the reply."""
import json
import socket
import sys


def request(path, req, timeout=60):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall((json.dumps(req) + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


if __name__ == "__main__":
    print(json.dumps(request(sys.argv[1], json.loads(sys.argv[2]))))
