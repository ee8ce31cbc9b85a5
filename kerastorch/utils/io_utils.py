"""Where progress bars and training messages go: stdout, or the `logging` module when interactive
logging is off (`kt.config.disable_interactive_logging()`), as Keras routes them."""

from __future__ import annotations

import logging
import sys

from ..config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled

__all__ = ["disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled", "print_msg"]

logger = logging.getLogger("kerastorch")


def print_msg(message: str, line_break: bool = True) -> None:
    """Write `message` to stdout (interactive logging) or log it at INFO level on the "kerastorch" logger."""
    if is_interactive_logging_enabled():
        sys.stdout.write(message + "\n" if line_break else message)
        sys.stdout.flush()
    else:
        logger.info(message)
