"""`collab serve`: gunicorn (a production server, not Bolt's development one), or Socket Mode."""
from __future__ import annotations


from gunicorn.app.base import BaseApplication

from bot.config import Settings


class CollabServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Each worker makes its own engine after the fork: connections must not cross processes.
        from bot.bootstrap import build
        from bot.logs import configure
        from bot.web.wsgi import create_wsgi_app

        configure(self.settings.log_level)
        collab = build(self.settings)
        _warm_up(collab.engine, self.cfg.threads)
        return create_wsgi_app(collab.settings, collab.engine)


def _warm_up(engine, connections: int) -> None:
    """Pay start-up costs when the worker boots, not inside the first requests (Slack waits 3 s):
    load the theme model, and open the worker's database connections, since a burst of people at
    once would otherwise each wait for a new PostgreSQL connection."""
    from matching import themes

    themes.default_theme_model()
    opened = [engine.connect() for _ in range(max(1, min(connections, engine.pool.size())))]
    for connection in opened:
        connection.close()


def serve_http(settings: Settings, port: int, host: str = "0.0.0.0", workers: int | None = None,
               threads: int | None = None) -> None:
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    workers = workers or settings.web_concurrency
    # Few threads per worker: each request is a handful of short database round trips, and with many
    # threads they queue for the GIL after every one of them (p99 under bench/load.py, PostgreSQL:
    # 16 threads 393 ms, 8: 379, 4: 340, 2: 238-325, 1: 253). Slack calls never hold these threads:
    # they run after the acknowledgement on the worker's own executor (deps.after_ack).
    threads = threads or settings.threads
    CollabServer(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 30,
        # No keep-alive: a kept connection stays with the worker that accepted it, and under
        # load 50 clients split 37/13 between two workers, so one worker's queue set the p99.
        # A connection per request lets the least busy worker take each one.
        "keepalive": 0,
        "accesslog": None,
        "loglevel": "info",
    }).run()


def serve_socket_mode(settings: Settings) -> None:
    """Try Collab in a real workspace with no public URL (needs SLACK_APP_TOKEN, xapp-…)."""
    settings.require("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.bootstrap import build
    from bot.logs import configure
    from bot.slack.app import create_app

    configure(settings.log_level)
    collab = build(settings)
    SocketModeHandler(create_app(collab.settings, collab.engine), settings.slack_app_token).start()
