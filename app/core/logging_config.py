"""JSON log lines on stdout, each carrying the request id. Tokens and passwords are never
passed to a logger; the filter below is the second line of defence for bearer tokens."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from app.core.request_id import RequestIdLogFilter

_BEARER = re.compile(r"(?i)(bearer\s+)[0-9a-f-]{8,}")
_EXTRA_FIELDS = ("status", "method", "path", "duration_ms", "trace_id", "span_id")


def redact(text: str) -> str:
    return _BEARER.sub(r"\1[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": redact(record.getMessage()),
        }
        for field in _EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, *, extra_filters: tuple[logging.Filter, ...] = ()) -> None:
    """`extra_filters`: e.g. tracing's, which adds the trace id to each line."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdLogFilter())
    for log_filter in extra_filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The app writes its own access line (with the request id); uvicorn's would be a duplicate.
    logging.getLogger("uvicorn.access").disabled = True
