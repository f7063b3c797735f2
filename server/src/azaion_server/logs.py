"""Logging: plain lines, or one JSON object per line (AZAION_LOG_FORMAT=json) for log shippers.

The same configuration is applied to the server's own loggers and to uvicorn's, in the parent
process and (through uvicorn's `log_config`, which every worker applies when it starts) in each
worker of `--workers N`. JSON lines come from python-json-logger: `time`, `level`, `logger`,
`message`, and whatever a call passes in `extra`.
"""

from __future__ import annotations

import logging.config
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azaion_server.settings import ServerSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _formatter(log_format: str) -> dict[str, Any]:
    if log_format == "json":
        return {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    return {"format": TEXT_FORMAT}


def uvicorn_log_config(server: ServerSettings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the root logger and uvicorn's (which propagate to it)."""
    level = server.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": _formatter(server.log_format)},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": level, "handlers": [], "propagate": True},
            # moto's embedded web server (--dev) logs every S3 request at INFO.
            "werkzeug": {"level": "WARNING"},
        },
    }


def configure_logging(server: ServerSettings) -> None:
    """Apply `uvicorn_log_config` in this process."""
    logging.config.dictConfig(uvicorn_log_config(server))
