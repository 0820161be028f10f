"""A small Server-Sent Events reader for the tests: a thread that collects events."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: str


@dataclass
class SseReader:
    """Reads ``/api/feed`` in a thread until closed; ``events`` fills as they arrive."""

    client: httpx.Client
    last_event_id: int | None = None
    events: list[SseEvent] = field(default_factory=list)
    status: int | None = None
    connected: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.connected.wait(10):
            raise TimeoutError("feed did not connect")

    def _run(self) -> None:
        headers = {} if self.last_event_id is None else {"Last-Event-ID": str(self.last_event_id)}
        try:
            with self.client.stream("GET", "/api/feed", headers=headers,
                                    timeout=httpx.Timeout(10, read=None)) as r:
                self.status = r.status_code
                current: dict[str, str] = {}
                for line in r.iter_lines():
                    if line.startswith(":"):
                        self.connected.set()
                        continue
                    if not line:
                        if "event" in current or "id" in current:
                            self.events.append(SseEvent(current.get("id"),
                                                        current.get("event", "message"),
                                                        current.get("data", "")))
                        current = {}
                        if self._stop:
                            return
                        continue
                    key, _, value = line.partition(":")
                    current[key] = value.lstrip(" ")
                    self.connected.set()
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.connected.set()

    def wait_for(self, predicate, timeout: float = 5.0) -> SseEvent | None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if predicate(e):
                    return e
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self._stop = True
        self.client.close()
        self._thread.join(3)
