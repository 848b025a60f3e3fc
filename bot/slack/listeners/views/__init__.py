"""Modal submissions, by what they are about."""
from bot.slack.listeners.views import pairings, posts


def register(app) -> None:
    posts.register(app)
    pairings.register(app)
