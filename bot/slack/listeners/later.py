"""Listeners whose whole job follows the acknowledgement.

Listeners run in the request's thread and Slack gets its acknowledgement (the HTTP response) when
they return (`process_before_response=True`, bot/app.py). A button whose work ends in a Slack call
(respond, chat_postMessage, views_open) acknowledges at once and does the rest after the ack.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from bot.slack.listeners.problems import answering_problems


def ack_first(work: Callable) -> Callable:
    """Bolt listener: ack(), then `work(body, context, client, respond)` once the ack has gone.

    A `CollabError` it raises is answered to whoever clicked (bot/slack/listeners/problems.py).
    """
    guarded = answering_problems(work)

    @wraps(work)
    def listener(ack, body, context, client, respond) -> None:
        ack()
        context["deps"].after_ack(guarded, body, context, client, respond)

    del listener.__wrapped__  # Bolt reads the argument names: these, not work's
    return listener
