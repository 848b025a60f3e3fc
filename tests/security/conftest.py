"""The attack suite runs against the same app as tests/bot: the real HTTP endpoint, a stub Slack."""
from tests.bot.conftest import DEPUTY, LEAD, SECRET, app_url, schools, sender, settings  # noqa: F401
