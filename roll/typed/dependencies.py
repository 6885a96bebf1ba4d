"""Dependencies: providers resolved once per request, and their cleanup.

A provider is any callable whose parameters are resolved like a handler's.
Its result is cached in the request's `Scope`, so every parameter asking for
it, anywhere in the tree, shares one value. Generator providers (sync or
async) are entered at resolution and finished by `Scope.close`: on success
once the response is sent (a `request.after_response` callback), so that a
streamed body can still use what they yield; on failure at once, the error
thrown into them at their `yield`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any, cast

from roll import Request, Response, WSProtocol
from roll.request import ClientDisconnected

from .errors import Invalid, Problem
from .plan import Dependency, Kind, Plan, Singleton


log = logging.getLogger("roll.typed")

# An app-level plan reads no request data (the analysis refuses it), so its
# resolution is given none.
NO_REQUEST = cast(Request, None)
NO_RESPONSE = cast(Response, None)


async def singleton_value(singleton: Singleton) -> Any:
    """The app-level provider's value: made at first use, then kept."""
    if singleton.ready:
        return singleton.value
    async with singleton.lock:
        if not singleton.ready:
            scope = Scope()
            kwargs = await resolve(singleton.plan, NO_REQUEST, NO_RESPONSE, {}, scope)
            singleton.value = await call(singleton.provider, singleton.kind, kwargs, singleton.exits)
            singleton.exits.extend(scope.exits)
            singleton.ready = True
    return singleton.value


async def close_singleton(singleton: Singleton) -> None:
    """At shutdown: finish a generator factory, forget the value."""
    exits, singleton.exits = singleton.exits, []
    singleton.ready, singleton.value = False, None
    await finish(exits, None)


FAILED: Any = object()


class GuardedBody:
    """A streamed body (async iterable) watched for the providers' sake.

    Set in place of `response.body` when generator providers are open: the
    error that stopped the stream, or `ClientDisconnected` if the core
    closed it before its end (the client left), is kept in `error`, to be
    thrown into the providers once the response is over.
    """

    __slots__ = ("body", "iterator", "error", "done")

    def __init__(self, body: Any) -> None:
        self.body = body
        self.iterator: Any = None
        self.error: BaseException | None = None
        self.done = False

    def __aiter__(self) -> GuardedBody:
        return self

    async def __anext__(self) -> Any:
        if self.iterator is None:
            self.iterator = self.body.__aiter__()
        try:
            return await self.iterator.__anext__()
        except StopAsyncIteration:
            self.done = True
            raise
        except asyncio.CancelledError:
            # The core cancels a stream whose client left (or cut at shutdown).
            self.error = ClientDisconnected()
            raise
        except BaseException as error:
            self.error = error
            raise

    # What the core asks of the body itself (an `EventStream`'s headers, its end
    # at shutdown).
    @property
    def response_headers(self) -> Any:
        return getattr(self.body, "response_headers", {})

    def shutdown(self) -> None:
        shutdown = getattr(self.body, "shutdown", None)
        if shutdown is not None:
            shutdown()

    async def aclose(self) -> None:
        if self.iterator is not None and not self.done and self.error is None:
            self.error = ClientDisconnected()  # closed mid-stream
        aclose = getattr(self.body, "aclose", None)
        if aclose is not None:
            await aclose()


class Scope:
    """Per-request state of the dependencies: cached values and cleanups."""

    __slots__ = ("cache", "exits")

    def __init__(self) -> None:
        self.cache: dict[Dependency, Any] = {}
        self.exits: list[Any] = []

    async def get(
        self,
        dependency: Dependency,
        request: Request,
        response: Response | WSProtocol,
        vars: dict[str, str],
    ) -> Any:
        if dependency.singleton is not None:
            return await singleton_value(dependency.singleton)
        value = self.cache.get(dependency, FAILED)
        if value is not FAILED:
            return value
        if dependency in self.cache:  # failed earlier: already reported
            raise Invalid([])
        try:
            kwargs = await resolve(dependency.plan, request, response, vars, self)
        except Invalid:
            self.cache[dependency] = FAILED
            raise
        value = await call(dependency.provider, dependency.kind, kwargs, self.exits)
        self.cache[dependency] = value
        return value

    async def close(self, error: BaseException | None) -> None:
        exits, self.exits = self.exits, []
        await finish(exits, error)

    async def close_after_response(self, error: BaseException | None = None) -> None:
        """The `request.after_response` callback: nobody left to tell of an error."""
        try:
            await self.close(error)
        except Exception as cleanup_error:
            log.error("Error while closing a provider", exc_info=cleanup_error)

    def close_once_sent(self, request: Request, response: Response) -> None:
        """On success: finish the generators once the response is sent, with
        the error of a streamed body that failed or was cut, if any."""
        body = response.body
        if hasattr(body, "__aiter__"):  # streamed: watch it
            guarded = response.body = GuardedBody(body)
            request.after_response(lambda: self.close_after_response(guarded.error))
        else:
            request.after_response(self.close_after_response)


async def call(
    provider: Callable[..., Any], kind: Kind, kwargs: dict[str, Any], exits: list[Any]
) -> Any:
    if kind is Kind.FUNCTION:
        return provider(**kwargs)
    if kind is Kind.COROUTINE:
        return await provider(**kwargs)
    generator = provider(**kwargs)
    if kind is Kind.ASYNC_GENERATOR:
        value = await generator.__anext__()
    else:
        value = next(generator)
    exits.append(generator)
    return value


async def finish(exits: list[Any], error: BaseException | None) -> None:
    """Finish the generators, last entered first; raise the first cleanup
    error unless the request already failed (then it is only logged)."""
    first: BaseException | None = None
    for generator in reversed(exits):
        try:
            await finish_one(generator, error)
        except Exception as cleanup_error:
            if error is None and first is None:
                first = cleanup_error
            else:
                log.error("Error while closing a provider", exc_info=cleanup_error)
    if first is not None:
        raise first


async def finish_one(generator: Any, error: BaseException | None) -> None:
    is_async = inspect.isasyncgen(generator)
    try:
        if error is None:
            if is_async:
                await generator.__anext__()
            else:
                next(generator)
        elif is_async:
            await generator.athrow(error)
        else:
            generator.throw(error)
    except (StopAsyncIteration, StopIteration):
        return
    except BaseException as raised:
        if raised is error:
            return
        raise
    raise RuntimeError(f"Provider {generator!r} yielded more than once")


async def resolve(
    plan: Plan,
    request: Request,
    response: Response | WSProtocol,
    vars: dict[str, str],
    scope: Scope,
) -> dict[str, Any]:
    """Run a plan: every parameter's value, or Invalid with all the problems."""
    kwargs: dict[str, Any] = {}
    problems: list[Problem] | None = None
    for guard in plan.guards:  # the route's `dependencies=`: values discarded
        try:
            await scope.get(guard, request, response, vars)
        except Invalid as error:
            problems = error.problems if problems is None else problems + error.problems
    for name, extract in plan.extractors:
        try:
            kwargs[name] = extract(request, response, vars)
        except Invalid as error:
            problems = error.problems if problems is None else problems + error.problems
    for name, dependency in plan.dependencies:
        try:
            kwargs[name] = await scope.get(dependency, request, response, vars)
        except Invalid as error:
            problems = error.problems if problems is None else problems + error.problems
    if problems is not None:
        raise Invalid(problems)
    if plan.extra_vars:
        kwargs.update({key: vars[key] for key in plan.extra_vars if key in vars})
    return kwargs
