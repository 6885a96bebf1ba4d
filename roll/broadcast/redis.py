"""`redis://host:port/db`: channels shared through Redis pub/sub (`redis.asyncio`).

Two connections per process: one from a pool for PUBLISH, one dedicated to
the subscriptions, read by one task that dispatches each message to the
local subscribers. The subscription connection does not retry nor
resubscribe by itself (redis-py would, silently losing what was published
meanwhile): a lost connection is reported to the broadcast, which ends its
subscribers, and this backend reconnects with a capped exponential delay.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .base import as_message

if TYPE_CHECKING:
    from .base import Hub, Message

log = logging.getLogger("roll.broadcast")

# Seconds to wait for Redis to confirm a SUBSCRIBE.
SUBSCRIBE_TIMEOUT = 5.0
FIRST_DELAY = 0.1


class RedisBackend:
    def __init__(self, broadcast: Hub, url: str) -> None:
        self.broadcast = broadcast
        self.url = url
        self.publisher: Any = None
        self.listener: Any = None
        self.pubsub: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.confirmations: dict[str, asyncio.Future[None]] = {}
        self.closing = False

    async def connect(self) -> None:
        self.closing = False
        # A pooled connection may be stale (Redis restarted): retry once on a new one.
        self.publisher = redis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        try:
            await self._open()
        except (RedisError, OSError) as error:
            await self.publisher.aclose()
            self.publisher = None
            raise ConnectionError(f"Cannot connect to {self.url}: {error}") from error
        self.reader = asyncio.get_running_loop().create_task(self._run())

    async def _open(self) -> None:
        """The subscription connection, checked with a PING."""
        self.listener = redis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0))
        self.pubsub = self.listener.pubsub()
        try:
            await self.pubsub.connect()
            await self.listener.ping()
        except BaseException:
            await self._drop()
            raise

    async def _drop(self) -> None:
        pubsub, listener = self.pubsub, self.listener
        self.pubsub = self.listener = None
        for future in self.confirmations.values():
            if not future.done():
                future.set_exception(ConnectionError("Redis connection lost"))
                future.exception()
        self.confirmations.clear()
        if pubsub is not None:
            await pubsub.aclose()
        if listener is not None:
            await listener.aclose()

    async def close(self) -> None:
        self.closing = True
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.wait((self.reader,))
            self.reader = None
        await self._drop()
        if self.publisher is not None:
            await self.publisher.aclose()
            self.publisher = None

    async def publish(self, channel: str, message: Message) -> None:
        if self.publisher is None:
            raise ConnectionError("The broadcast is not connected")
        try:
            await self.publisher.publish(channel, message)
        except RedisError as error:
            raise ConnectionError(f"Cannot publish to Redis: {error}") from error

    async def subscribe(self, channel: str) -> None:
        pubsub = self.pubsub
        if pubsub is None:
            raise ConnectionError("The broadcast is not connected")
        confirmed = asyncio.get_running_loop().create_future()
        self.confirmations[channel] = confirmed
        try:
            await pubsub.subscribe(channel)
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT)
        except (RedisError, OSError, TimeoutError) as error:
            raise ConnectionError(f"Cannot subscribe to {channel!r}: {error!r}") from error
        finally:
            if self.confirmations.get(channel) is confirmed:
                del self.confirmations[channel]

    async def unsubscribe(self, channel: str) -> None:
        if self.pubsub is not None:
            await self.pubsub.unsubscribe(channel)

    # The reading task.

    async def _run(self) -> None:
        delay = FIRST_DELAY
        while not self.closing:
            if self.pubsub is None:  # lost: reconnect
                try:
                    await self._open()
                except (RedisError, OSError) as error:
                    log.info("Broadcast %s: cannot reconnect yet (%r)", self.url, error)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.broadcast.max_delay)
                    continue
                delay = FIRST_DELAY
                self.broadcast.reconnected()
            try:
                await self._read(self.pubsub)
            except (RedisError, OSError) as error:
                if self.closing:
                    return
                self.broadcast.lost(error)
                await self._drop()

    async def _read(self, pubsub: Any) -> None:
        dispatch = self.broadcast.dispatch
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                dispatch(message["channel"].decode(), as_message(message["data"]))
            elif kind == "subscribe":
                confirmed = self.confirmations.get(message["channel"].decode())
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
