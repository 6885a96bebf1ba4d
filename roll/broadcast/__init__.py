"""Broadcast: publish a message on a channel, every subscriber of every process gets it.

    broadcast = Broadcast("redis://localhost:6379/0")   # or "memory://" (one process)
    broadcast.attach(app)                                # connect at startup, close at shutdown

    await broadcast.publish("room", "hello")
    async with broadcast.subscribe("room") as subscriber:
        async for message in subscriber:
            ...

`memory://` delivers within the process (no server: development, tests, a
single worker). `redis://host:port/db` goes through Redis pub/sub (the
`redis` package, `pip install roll-typed[redis]`): each process holds one
subscription per channel, whatever its number of local subscribers, and fans
the messages out to them.

Messages are `str` or `bytes`. A subscriber gets a `str` for a message that is
valid UTF-8 and `bytes` otherwise, with either backend (Redis keeps bytes only).

Delivery: every subscriber gets every message published on its channel after
its `subscribe()` has returned, in publication order (per publisher), unless:

- it is too slow: each subscriber has a bounded queue (`max_queue` messages,
  default 1024). A subscriber whose queue is full is dropped from the channel
  (publishing never waits for, nor grows memory for, a slow reader): it
  first gets the messages already queued, then its loop raises `Overflow`.
- the broadcast is closed (app shutdown): its loop ends, after what is queued.
- the Redis connection is lost: an error is logged and every subscriber's
  loop ends (messages published meanwhile cannot be delivered: ending says
  so, and a websocket handler that ends closes, so its client reconnects and
  resynchronises). The broadcast reconnects in the background, after 0.1 s
  then doubling up to `max_delay` (5 s), for as long as it is open;
  `subscribe()` raises ConnectionError until it is back. `publish()` raises
  ConnectionError while Redis cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .base import Backend, Message, as_message

if TYPE_CHECKING:
    from roll.app import Roll

__all__ = ["Broadcast", "Overflow", "Subscriber"]

log = logging.getLogger("roll.broadcast")

class Overflow(Exception):
    """The subscriber did not keep up: its queue filled, it was unsubscribed."""


class Subscriber:
    """One subscription: iterate it (`async for message in subscriber`)."""

    __slots__ = ("channel", "max_queue", "_queue", "_waiter", "_end")

    def __init__(self, channel: str, max_queue: int) -> None:
        self.channel = channel
        self.max_queue = max_queue
        self._queue: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        # None while subscribed; then True (ended) or the Overflow to raise.
        self._end: bool | Overflow | None = None

    def __repr__(self) -> str:
        return f"<Subscriber {self.channel!r} {len(self._queue)} queued>"

    @property
    def active(self) -> bool:
        return self._end is None

    def deliver(self, message: Message) -> bool:
        """Queue a message; False when the queue is full (the subscriber is then over)."""
        if self._end is not None:
            return False
        if len(self._queue) >= self.max_queue:
            self.end(Overflow(f"Subscriber of {self.channel!r} fell {self.max_queue} messages behind"))
            return False
        self._queue.append(message)
        self._wake()
        return True

    def end(self, error: Overflow | None = None) -> None:
        if self._end is None:
            self._end = error if error is not None else True
            self._wake()

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> Message:
        while not self._queue:
            end = self._end
            if end is not None:
                if isinstance(end, Overflow):
                    raise end
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Broadcast:
    """Channels of messages shared by every process connected to the same URL."""

    def __init__(self, url: str = "memory://", *, max_queue: int = 1024, max_delay: float = 5.0) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.url = url
        self.max_queue = max_queue
        self.max_delay = max_delay
        self.backend = self._backend(url)
        self.connected = False  # now (False while a lost connection is being reestablished)
        self._open = False  # between connect() and close()
        self._closed = False
        self._channels: dict[str, dict[Subscriber, None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Per channel: a lock around (un)subscribing, and how many hold or await it.
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<Broadcast {self.url} {state}>"

    def _backend(self, url: str) -> Backend:
        scheme = urlsplit(url).scheme
        if scheme == "memory":
            from .memory import MemoryBackend

            return MemoryBackend(self)
        if scheme in ("redis", "rediss", "unix"):
            from .redis import RedisBackend

            return RedisBackend(self, url)
        raise ValueError(f"Unsupported broadcast URL {url!r}: memory:// or redis://")

    # Lifecycle.

    def attach(self, app: Roll) -> None:
        """Connect at the app's startup, close at its shutdown."""
        app.hooks["startup"].append(self.connect)
        app.hooks["shutdown"].append(self.close)

    async def connect(self) -> None:
        if self._open:  # connected, or reconnecting by itself
            return
        self._closed = False
        await self.backend.connect()
        self._open = self.connected = True

    async def close(self) -> None:
        """End every subscriber's loop (after what it has queued), disconnect."""
        self._closed = True
        self._open = self.connected = False
        self._end_all()
        await self.backend.close()

    async def __aenter__(self) -> Broadcast:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Publishing and subscribing.

    async def publish(self, channel: str, message: Message) -> None:
        if not isinstance(message, (str, bytes)):
            raise TypeError(f"A message is str or bytes, not {type(message).__name__}")
        await self.backend.publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        """Subscribed once entered: every message published from then on is received."""
        if not self.connected:
            raise ConnectionError(f"{self!r} is not connected")
        subscriber = Subscriber(channel, self.max_queue)
        await self._add(subscriber)
        try:
            yield subscriber
        finally:
            subscriber.end()
            await self._remove(subscriber)

    async def _add(self, subscriber: Subscriber) -> None:
        channel = subscriber.channel
        async with self._lock(channel):
            local = self._channels.get(channel)
            if local is None:  # the first one here: subscribe this process
                await self.backend.subscribe(channel)
                local = self._channels[channel] = {}
            local[subscriber] = None

    async def _remove(self, subscriber: Subscriber) -> None:
        channel = subscriber.channel
        async with self._lock(channel):
            local = self._channels.get(channel)
            if local is None or local.pop(subscriber, 0) is not None:
                return
            if not local:
                del self._channels[channel]
                if self.connected:
                    try:
                        await self.backend.unsubscribe(channel)
                    except Exception as error:  # the connection died meanwhile: nothing to undo
                        log.debug("Unsubscribing from %r: %r", channel, error)

    @asynccontextmanager
    async def _lock(self, channel: str) -> AsyncIterator[None]:
        """One (un)subscription of `channel` at a time; no lock kept for unused channels."""
        entry = self._locks.get(channel)
        if entry is None:
            entry = self._locks[channel] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[channel]

    # Called by the backend.

    def dispatch(self, channel: str, message: Message) -> None:
        """A message for this process: into each local subscriber's queue."""
        local = self._channels.get(channel)
        if not local:
            return
        overflowed = [subscriber for subscriber in local if not subscriber.deliver(message)]
        for subscriber in overflowed:
            log.warning("Dropping a slow subscriber of %r", channel)
            del local[subscriber]
        if not local:
            del self._channels[channel]
            task = asyncio.get_running_loop().create_task(self._unsubscribe_if_unused(channel))
            self._tasks.add(task)  # referenced until done
            task.add_done_callback(self._tasks.discard)

    async def _unsubscribe_if_unused(self, channel: str) -> None:
        async with self._lock(channel):
            if channel not in self._channels and self.connected:
                try:
                    await self.backend.unsubscribe(channel)
                except Exception as error:
                    log.debug("Unsubscribing from %r: %r", channel, error)

    def lost(self, error: BaseException) -> None:
        """The backend lost its connection: every subscriber's loop ends."""
        if self._closed:
            return
        log.error("Broadcast %s: connection lost (%r); ending every subscriber", self.url, error)
        self.connected = False
        self._end_all()

    def reconnected(self) -> None:
        if not self._closed:
            log.warning("Broadcast %s: reconnected", self.url)
            self.connected = True

    def _end_all(self) -> None:
        channels, self._channels = self._channels, {}
        for local in channels.values():
            for subscriber in local:
                subscriber.end()

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribers(self, channel: str) -> int:
        """How many subscribers of `channel` this process has."""
        return len(self._channels.get(channel, ()))
