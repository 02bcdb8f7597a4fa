"""Connections that never finish a request are closed; a worker's open connections are bounded.

uvicorn closes a kept-alive connection that stays idle after a response
(``timeout_keep_alive``), but nothing else: a connection that never sends a
request, one that sends its head a byte a second, or a body that never ends
stays open for ever, and enough of them fill the process's file table so that
every new client gets an empty reply. uvicorn's ``limit_concurrency`` does not
help: it counts idle connections too, so it turns an attacker's idle sockets into
a 503 for every innocent request. This module is the missing guard, a subclass of
uvicorn's httptools protocol (``uvicorn_options`` wires it in):

* **request head** — a connection must send a whole request line and headers
  within ``request_head_timeout`` seconds of opening (or of its previous
  response); a partial head then gets a 408, an empty one is simply closed. A head
  larger than ``max_head_bytes`` gets a 431 (httptools itself has no limit).
* **request body** — after ``body_grace_seconds`` a body must have averaged at
  least ``body_min_rate`` bytes a second, so its bound scales with its size (a
  20 MB upload may take 10 s + 20 MB ÷ 16 KiB/s) and a body that trickles or
  never ends is cut off with a 408. Time the server itself is not reading
  (flow control while a handler is busy) does not count against the client.
* **open connections** — at ``max_connections`` a new connection first evicts the
  connection that has waited longest for a request head (an idle or slow one:
  no request of anyone is in progress on it); only when every connection is busy
  with a request is the newcomer refused, with a 503 that says why.

Answers written here are short JSON bodies ``{"detail": ...}`` like the API's.
"""
from __future__ import annotations

import json
import logging
import resource
import time

from app.config import Settings, get_settings

log = logging.getLogger("convlab")

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
    HttpToolsProtocol = None

FD_RESERVE = 64  # file descriptors kept for the listening socket, logs, Numba's cache, images


def raw_answer(status: int, reason: str, detail: str, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, written without the application."""
    body = json.dumps({"detail": detail}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "content-type: application/json", f"content-length: {len(body)}",
            "connection: close", "x-content-type-options: nosniff", *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def effective_max_connections(settings: Settings) -> int:
    """``max_connections``, lowered to fit this process's file-descriptor limit."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return settings.max_connections
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(8, min(settings.max_connections, soft - FD_RESERVE))


def raise_fd_limit() -> None:
    """Raise this process's soft file-descriptor limit to its hard limit (workers inherit it)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        pass


if HttpToolsProtocol is not None:

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with head/body deadlines and a bound on open connections.

        The limits come from ``settings`` (a class attribute: ``guarded_protocol(settings)``
        makes a subclass; this base class reads the process's environment, so that
        ``--workers N`` processes, which import it by name, share the configuration).
        """

        settings: Settings | None = None
        _max_connections: int | None = None

        @classmethod
        def limits(cls) -> Settings:
            if cls.settings is None:
                cls.settings = get_settings()
            return cls.settings

        @classmethod
        def max_connections(cls) -> int:
            if cls._max_connections is None:
                cls._max_connections = effective_max_connections(cls.limits())
            return cls._max_connections

        # --- state ---------------------------------------------------------------
        def _arm(self, delay: float, callback) -> None:
            self._cancel_timer()
            self._guard_timer = self.loop.call_later(delay, callback)

        def _cancel_timer(self) -> None:
            timer = getattr(self, "_guard_timer", None)
            if timer is not None:
                timer.cancel()
                self._guard_timer = None

        def _wait_for_head(self) -> None:
            """Start the clock for the next request head."""
            self._waiting_since = time.monotonic()
            self._head_bytes = 0
            self._body_started = None
            self._arm(self.limits().request_head_timeout, self._head_timed_out)

        def _close_with(self, status: int, reason: str, detail: str) -> None:
            self._cancel_timer()
            if not self.transport.is_closing():
                self.transport.write(raw_answer(status, reason, detail))
                self.transport.close()

        # --- uvicorn's protocol interface ------------------------------------------
        def connection_made(self, transport) -> None:  # type: ignore[override]
            self._guard_timer = None
            self._waiting_since = None
            self._body_started = None
            self._refused = False
            super().connection_made(transport)
            if len(self.connections) > self.max_connections():
                victim = self._longest_waiting()
                if victim is None:
                    # Answer once the request arrives (a reply written before it may be lost
                    # to a reset), or close after a moment if none does.
                    log.warning("refusing a connection: all %d are busy with requests", self.max_connections())
                    self.connections.discard(self)
                    self._refused = True
                    self._arm(2.0, self.transport.close)
                    return
                victim._cancel_timer()
                victim.transport.close()  # an idle or slow connection: no request of its own is running
            self._wait_for_head()

        def _longest_waiting(self):
            oldest, since = None, None
            for conn in self.connections:
                waiting = getattr(conn, "_waiting_since", None)
                if conn is self or waiting is None or conn.transport.is_closing():
                    continue
                if since is None or waiting < since:
                    oldest, since = conn, waiting
            return oldest

        def connection_lost(self, exc) -> None:
            self._cancel_timer()
            self._waiting_since = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                self._close_with(503, "Service Unavailable",
                                 f"the server is at its limit of {self.max_connections()} open connections, "
                                 "all busy with requests; try again in a moment")
                return
            if self._waiting_since is not None:
                self._head_bytes += len(data)
            super().data_received(data)
            if self._waiting_since is not None and self._head_bytes > self.limits().max_head_bytes:
                self._close_with(431, "Request Header Fields Too Large",
                                 f"the request line and headers are larger than {self.limits().max_head_bytes:,} bytes")

        def on_headers_complete(self) -> None:
            self._waiting_since = None
            self._cancel_timer()
            self._body_started = time.monotonic()
            self._body_bytes = 0
            super().on_headers_complete()
            if self._body_started is not None:
                self._arm(1.0, self._check_body_rate)

        def on_body(self, body: bytes) -> None:
            self._body_bytes += len(body)
            super().on_body(body)

        def on_message_complete(self) -> None:
            self._body_started = None
            self._cancel_timer()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a pipelined request started at once
            self._wait_for_head()

        # --- deadlines -------------------------------------------------------------
        def _head_timed_out(self) -> None:
            self._guard_timer = None
            if self._waiting_since is None or self.transport.is_closing():
                return
            if self._head_bytes:
                self._close_with(408, "Request Timeout",
                                 f"the request head did not arrive within {self.limits().request_head_timeout:g} s")
            else:
                self.transport.close()  # never said anything: an idle connection, closed quietly

        def _check_body_rate(self) -> None:
            self._guard_timer = None
            if self._body_started is None or self.transport.is_closing():
                return
            if self.flow.read_paused:
                # The server is not reading (a handler is busy): the client is not to blame.
                self._body_started += 1.0
            else:
                s = self.limits()
                elapsed = time.monotonic() - self._body_started
                allowed = s.body_grace_seconds + self._body_bytes / s.body_min_rate
                if elapsed > allowed:
                    log.info("closing a connection whose request body stalled (%d bytes in %.0f s)",
                             self._body_bytes, elapsed)
                    self._close_with(408, "Request Timeout",
                                     f"the request body arrived too slowly: {self._body_bytes:,} bytes in "
                                     f"{elapsed:.0f} s (the server expects at least {s.body_min_rate:,} bytes "
                                     f"a second after the first {s.body_grace_seconds:g} s)")
                    return
            self._arm(1.0, self._check_body_rate)

    def guarded_protocol(settings: Settings) -> type:
        """A protocol class bound to ``settings`` (for a server started in this process)."""
        return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), {"settings": settings, "_max_connections": None})

    PROTOCOL_PATH = "app.connections:GuardedHttpToolsProtocol"
else:  # pragma: no cover
    guarded_protocol = None
    PROTOCOL_PATH = "h11"


def uvicorn_options(settings: Settings, *, in_process: bool = False) -> dict:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that apply ConvLab's connection limits.

    ``in_process``: the server runs in this process (tests, benchmarks), so the protocol
    can be bound to ``settings`` directly instead of re-reading the environment.
    """
    if guarded_protocol is not None and in_process:
        http = guarded_protocol(settings)
    else:
        http = PROTOCOL_PATH
    return {
        "http": http,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.max_head_bytes,  # used only if httptools is missing
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
    }
