"""What a `/collab` sub-command handler gets: who asked, from where, with what words."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from slack_sdk import WebClient

from bot.slack.deps import Deps


@dataclass
class Invocation:
    deps: Deps
    team_id: str
    user_id: str
    channel_id: str
    trigger_id: str
    args: str       # the words after the sub-command
    typed: str      # everything the user typed, echoed back on any problem
    client: WebClient
    ack: Callable

    def unit(self):
        return self.deps.unit(self.team_id)
