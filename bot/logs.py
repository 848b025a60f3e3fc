"""Logging that never writes a token or a person's identity, whatever a library chooses to log."""
from __future__ import annotations

import importlib.util
import logging
import os
import re
import traceback

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
        if record.exc_info:
            # An exception's message can quote a value someone typed (int('²'), a database error's
            # parameters): keep where it happened and what kind of error, never the message.
            record.exc_text = safe_traceback(record.exc_info)
            record.exc_info = None
        return True


def safe_traceback(exc_info) -> str:
    kind, _error, tb = exc_info
    frames = "".join(traceback.format_list(traceback.extract_tb(tb)))
    return f"Traceback (most recent call last; the message is withheld):\n{frames}{kind.__name__}"


# Bolt and the Slack SDK log request bodies, `json_body`, response_urls and user ids (at INFO when a
# signature is wrong, at DEBUG on every call), and Bolt logs under names of its own choosing (the
# app's name, "collab:…"). So their records are caught where every record is made, whatever the
# logger, level or handler: a library record keeps its level, logger and source line, and loses its text.
LIBRARIES = ("slack_bolt", "slack_sdk")
_LIBRARY_DIRS = tuple(
    os.path.dirname(importlib.util.find_spec(name).origin) + os.sep for name in LIBRARIES
    if importlib.util.find_spec(name) is not None
)
_withholding = False


def from_slack_library(record: logging.LogRecord) -> bool:
    return record.name.startswith(LIBRARIES) or str(record.pathname).startswith(_LIBRARY_DIRS)


def withhold(record: logging.LogRecord) -> None:
    """Replace a library record's text with where it came from; an exception keeps only its type."""
    error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
    record.msg = f"[{record.funcName}:{record.lineno}] detail withheld (Slack libraries log personal data)"
    if error:
        record.msg += f"; {error}"
    record.args = ()
    record.exc_info = record.exc_text = record.stack_info = None


def withhold_library_records() -> None:
    """Install, once per process, the record factory that withholds Slack libraries' text."""
    global _withholding
    if _withholding:
        return
    _withholding = True
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if from_slack_library(record):
            withhold(record)
        return record

    logging.setLogRecordFactory(factory)


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
    withhold_library_records()
