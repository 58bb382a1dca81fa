"""Waitress's server with a deadline for each request (``service.cli.server.serve``). Its own
module so that only ``flask --app service serve`` imports waitress: neither the application
nor gunicorn's configuration loads it (nor does each gunicorn worker)."""

from __future__ import annotations

import time

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from service.cli.server import REQUEST_TIMEOUT


class DeadlineChannel(HTTPChannel):
    """A connection that remembers when the request it is still receiving began."""

    receiving_since: float | None = None
    _timed: object = None

    def received(self, data: bytes) -> bool:
        done = bool(super().received(data))
        if self.request is not self._timed:  # a request began, or the last one is complete
            self._timed = self.request
            self.receiving_since = None if self.request is None else time.monotonic()
        return done


class Server(TcpWSGIServer):
    """Waitress's server, closing connections whose request is not whole in time."""

    channel_class = DeadlineChannel
    request_timeout: float = REQUEST_TIMEOUT

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections (channel_timeout)
        cutoff = time.monotonic() - self.request_timeout
        for channel in list(self.active_channels.values()):
            since = getattr(channel, "receiving_since", None)
            if since is not None and since < cutoff and not channel.requests:
                channel.will_close = True
