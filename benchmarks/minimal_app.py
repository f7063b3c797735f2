"""The reference of row 5: a minimal FastAPI endpoint that answers `POST /resources/get/{folder}`
with fixed bytes, served by uvicorn exactly as `azaion-server` serves its app (`uvicorn.run`,
one process, the same log level).

    python -m benchmarks.minimal_app --port P --body FILE [--log-level warning]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def make_app(body: bytes):
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.post("/resources/get/{folder}")
    def get_resource(folder: str) -> Response:  # a plain def, run in the threadpool like the real route
        return Response(body, media_type="application/octet-stream")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    uvicorn.run(
        make_app(Path(args.body).read_bytes()), host="127.0.0.1", port=args.port, log_level=args.log_level
    )


if __name__ == "__main__":
    main()
