"""Logging set-up from the process settings (``telemetry/logging`` comes later).

Lines follow KrakenD's grep-able prefixes (``[SERVICE]``,
``[ENDPOINT: /path]``, ``[BACKEND: /pattern]``).  Under gunicorn the
``propylon`` logger writes to stderr next to gunicorn's own error log.
"""
from __future__ import annotations

import logging
import sys

from app.settings import Settings

_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    logger = logging.getLogger("propylon")
    logger.setLevel("DEBUG" if settings.debug else settings.log_level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    # pybreaker logs a traceback for every Redis error it swallows; app.storage
    # already reports an outage once per back-off.
    logging.getLogger("pybreaker").setLevel(logging.CRITICAL)
