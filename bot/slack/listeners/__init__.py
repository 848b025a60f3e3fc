"""Every Slack listener, registered in one place, split by Slack surface."""
from bot.slack.listeners import actions, commands, events, views


def register_listeners(app) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
