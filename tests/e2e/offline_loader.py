"""A field loader in its own process, for tests/e2e/test_offline.py: run under `faketime` (which
moves this process's clock only) with AZAION_* set by the test.

    python -m tests.e2e.offline_loader EMAIL FOLDER NAME   (password on stdin)

Prints one JSON line: `{"sha256": ..., "connections": [...]}` or `{"error": CODE, "type": ...,
"message": ..., "connections": [...]}`. Every attempt to resolve a name or open a socket is
recorded and refused, so a test can assert that an offline load opened none.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import time

attempts: list[str] = []


def _refuse(what: str):  # noqa: ANN202 - a replacement of socket's functions, any signature
    def refused(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        attempts.append(f"{what}{args[1:2] if what == 'connect' else args[:1]}")
        raise OSError(f"{what} refused by the offline test")

    return refused


def main() -> None:
    if "--no-network" in sys.argv:
        sys.argv.remove("--no-network")
        socket.socket.connect = _refuse("connect")  # type: ignore[method-assign]
        socket.socket.connect_ex = _refuse("connect_ex")  # type: ignore[method-assign]
        socket.getaddrinfo = _refuse("getaddrinfo")
        socket.create_connection = _refuse("create_connection")
    email, folder, name = sys.argv[1:4]
    password = sys.stdin.readline().strip()

    import azaion

    result: dict[str, object] = {"clock": time.time()}
    try:
        client = azaion.ApiClient()
        client.set_credentials_from_dict(email, password)
        data = client.load_big_small_resource(name, folder)
        result["sha256"] = hashlib.sha256(data).hexdigest()
    except azaion.AzaionError as e:
        result.update(error=e.code, type=type(e).__name__, message=e.message)
    result["connections"] = attempts
    print(json.dumps(result))


if __name__ == "__main__":
    main()
