"""Logging that never writes a token or a person's identity, whatever a library chooses to log."""
from __future__ import annotations

import logging
import re

PATTERNS = [
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "xox?-[redacted]"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "xapp-[redacted]"),
    (re.compile(r"\b[UW][A-Z0-9]{8,}\b"), "U[redacted]"),
    (re.compile(r"(?i)(text|user_name|real_name|display_name)=[^&\s]*"), r"\1=[redacted]"),
    (re.compile(r'(?i)"(text|user_name|real_name|display_name)"\s*:\s*"(?:[^"\\]|\\.)*"'), r'"\1": "[redacted]"'),
]


def redact(message: str) -> str:
    for pattern, replacement in PATTERNS:
        message = pattern.sub(replacement, message)
    return message


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def configure(level: int | str | None = None) -> None:
    """Everything goes through the redacting handler; COLLAB_LOG_LEVEL=DEBUG (Settings.log_level) for more
    detail, still redacted."""
    level = level or logging.INFO
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
