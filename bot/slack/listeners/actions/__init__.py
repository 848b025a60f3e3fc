"""Buttons and menus, by what they are about."""
from bot.slack.listeners.actions import pairings, posts, rhythm


def register(app) -> None:
    posts.register(app)
    pairings.register(app)
    rhythm.register(app)
