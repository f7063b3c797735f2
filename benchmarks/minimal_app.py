"""The reference of row 5: a minimal FastAPI endpoint that answers `POST /resources/get/{folder}`
with fixed bytes, served by uvicorn exactly as `azaion-server` serves its app (`uvicorn.run`, the
same log level, one process or `--workers N` of them).

    python -m benchmarks.minimal_app --port P --body FILE [--workers N] [--log-level warning]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BODY_VARIABLE = "AZAION_BENCH_MINIMAL_BODY"


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


def create_app():
    """The factory each worker of `--workers N` calls: the body's file comes from the environment."""
    return make_app(Path(os.environ[BODY_VARIABLE]).read_bytes())


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    os.environ[BODY_VARIABLE] = str(Path(args.body).resolve())
    if args.workers > 1:
        uvicorn.run(
            "benchmarks.minimal_app:create_app",
            factory=True,
            workers=args.workers,
            host="127.0.0.1",
            port=args.port,
            log_level=args.log_level,
        )
    else:
        uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
