"""`python -m bot.cli` is `collab`."""
import sys

from bot.cli import main

sys.exit(main())
