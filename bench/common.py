"""What the benchmark scripts share: how to run this checkout's own `collab` command."""
from __future__ import annotations

import sys
from pathlib import Path


def collab_command() -> list[str]:
    """The `collab` script of the virtual environment running the bench (so the figures are
    this checkout's, not another installed copy's), else ``python -m bot.cli``."""
    script = Path(sys.executable).with_name("collab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
