"""Analysis: a handler's signature, read once at registration, into a `Plan`.

Each parameter becomes an extractor (a source read from the request:
`sources.py`) or a dependency (a `Depends` provider, a type served by
`app.provide`), whose own parameters are analysed the same way; the return
annotation becomes the response contract. Every mistake is a
`RouteDefinitionError`, raised here rather than on a request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any, get_type_hints

from roll import Request, Response, WSProtocol

from . import extractors as ex
from .contract import ContractError, Renderer, renderer_for
from .markers import Body, Depends, File, Path, Query, Source
from .plan import (
    MISSING,
    Analysis,
    Bound,
    Dependency,
    Extractor,
    Input,
    Kind,
    Plan,
    Provided,
    RouteInfo,
    Singleton,
    display,
    qualname,
)
from .files import UploadFile
from .provides import check_provides
from .returns import render
from .sources import body, source, source_key
from .typeinfo import analyse, is_model, is_scalar
from .websocket import WebSocket

REQUEST_NAMES = frozenset(("request", "req"))
RESPONSE_NAMES = frozenset(("response", "resp"))
WEBSOCKET_NAMES = frozenset(("ws", "websocket"))
URL_VALUE = analyse(str)  # what `**kwargs` receives
# Keys of `Analysis.dependencies` for provided types (a class may also be a
# `Depends` provider, which is keyed by itself).
PROVIDED = object()


def kind_of(provider: Callable[..., Any]) -> Kind:
    target = inspect.unwrap(provider)
    if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isclass(target)):
        target = type(target).__call__  # a callable instance
    if inspect.isasyncgenfunction(target):
        return Kind.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(target):
        return Kind.GENERATOR
    if inspect.iscoroutinefunction(target):
        return Kind.COROUTINE
    return Kind.FUNCTION


def signature_of(
    func: Callable[..., Any], analysis: Analysis, owner: str
) -> tuple[inspect.Signature, dict[str, Any]]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as error:
        raise analysis.fail(None, f"cannot read the signature of {owner}: {error}") from None
    target = inspect.unwrap(func)
    if inspect.isclass(target):
        target = target.__init__
    elif not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target).__call__  # a callable instance
    try:
        hints = get_type_hints(target, localns=analysis.localns, include_extras=True)
    except Exception as error:
        raise analysis.fail(
            None, f"cannot resolve the annotations of {owner}: {error!r}", owner
        ) from None
    return signature, hints


def build_plan(func: Callable[..., Any], analysis: Analysis) -> Plan:
    owner = qualname(func)
    signature, hints = signature_of(func, analysis, owner)
    items: list[tuple[str, Extractor]] = []
    dependencies: list[tuple[str, Dependency]] = []
    inputs: list[Input] = []
    extra = False
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            extra = True
            continue
        if param.kind is param.VAR_POSITIONAL:
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise analysis.fail(param.name, "positional-only parameters are not supported", owner)
        annotation = hints.get(param.name, inspect.Parameter.empty)
        default = MISSING if param.default is param.empty else param.default
        resolved = resolve_parameter(param.name, annotation, default, analysis, owner, inputs)
        if isinstance(resolved, Dependency):
            dependencies.append((param.name, resolved))
        else:
            items.append((param.name, resolved))
    extra_vars: tuple[str, ...] = ()
    if extra:
        extra_vars = tuple(
            name for name in analysis.route.placeholders if name not in analysis.used_vars
        )
        analysis.used_vars.update(extra_vars)
    inputs.extend(Input("path", name, URL_VALUE, MISSING) for name in extra_vars)
    returns = hints.get("return", inspect.Parameter.empty)
    return Plan(
        tuple(items), tuple(dependencies), extra_vars, returns=returns, inputs=tuple(inputs)
    )


def resolve_parameter(
    name: str,
    annotation: Any,
    default: Any,
    analysis: Analysis,
    owner: str,
    inputs: list[Input],
) -> Extractor | Dependency:
    route = analysis.route
    unannotated = annotation is inspect.Parameter.empty or annotation is Any
    info = analyse(str if unannotated else annotation)
    base = info.base
    if len(info.markers) > 1:
        raise analysis.fail(name, "several source markers", owner)
    marker = info.markers[0] if info.markers else None

    # The request, the response, the websocket: by annotation or by name.
    if marker is None:
        if is_subclass(base, Request) or (unannotated and name in REQUEST_NAMES):
            return request_only(analysis, name, owner, ex.take_request)
        is_websocket = base is WebSocket or is_subclass(base, WSProtocol)
        if route.websocket and is_subclass(base, WSProtocol):
            return ex.take_response  # the core's object, as annotated
        if route.websocket and (is_websocket or (unannotated and name in WEBSOCKET_NAMES)):
            return ex.take_websocket
        if is_subclass(base, Response) or (unannotated and name in RESPONSE_NAMES):
            if route.websocket:
                raise analysis.fail(name, "a websocket handler has no response", owner)
            return request_only(analysis, name, owner, ex.take_response)
        if is_websocket:
            raise analysis.fail(name, "a WebSocket parameter needs a websocket route", owner)

    if isinstance(marker, Depends):
        check_provides(marker.provider, annotation, unannotated, name, analysis, owner)
        return dependency(marker.provider, name, analysis, owner)
    if marker is None:
        if name in route.placeholders and not route.app_scope:
            marker = Path()
        elif not info.many and base in analysis.providers:
            return provided(base, name, analysis, owner)
        elif base is UploadFile:
            marker = File()
        elif is_model(base):
            marker = Body()
            analysis.inferred_bodies.append((base, name, owner))
        elif is_scalar(base):
            marker = Query()
        elif not info.many and isinstance(base, type) and not route.app_scope:
            # Maybe provided later: `app.provide` binds it; startup checks it was.
            return provided(base, name, analysis, owner)
        else:
            raise analysis.fail(
                name,
                f"cannot resolve {display(annotation)}: not a URL placeholder, a scalar, "
                "a model, an UploadFile or a provided type; add a marker "
                "(Query, Form, File, Body, Header, Cookie, Depends)",
                owner,
            )
    if route.app_scope:
        raise analysis.fail(
            name, "an app-level (singleton) provider cannot read the request", owner
        )
    if isinstance(marker, Body):
        inputs.append(Input("body", name, info, default))
        return body(name, info, default, analysis, owner)
    assert isinstance(marker, Source)
    extractor = source(name, marker, info, default, analysis, owner)
    inputs.append(Input(marker.location, source_key(name, marker), info, default))
    return extractor


def request_only(
    analysis: Analysis, name: str, owner: str, extractor: Extractor
) -> Extractor:
    if analysis.route.app_scope:
        raise analysis.fail(
            name, "an app-level (singleton) provider cannot read the request", owner
        )
    return extractor


def is_subclass(tp: Any, cls: type) -> bool:
    return isinstance(tp, type) and issubclass(tp, cls)


def dependency(
    provider: Callable[..., Any], name: str, analysis: Analysis, owner: str
) -> Dependency:
    if not callable(provider):
        raise analysis.fail(name, f"Depends needs a callable, got {provider!r}", owner)
    known = analysis.dependencies.get(provider)
    if known is not None:
        return known
    result = Dependency(provider, plan_of(provider, name, analysis, owner), kind_of(provider))
    analysis.dependencies[provider] = result
    analysis.bound.append(Bound(provider, result, False, name, owner))
    return result


def plan_of(provider: Callable[..., Any], name: str, analysis: Analysis, owner: str) -> Plan:
    if provider in analysis.stack:
        chain = " -> ".join(qualname(item) for item in [*analysis.stack, provider])
        raise analysis.fail(name, f"circular dependency: {chain}", owner)
    analysis.stack.append(provider)
    try:
        return build_plan(provider, analysis)
    finally:
        analysis.stack.pop()


def unresolved(tp: Any) -> Callable[[], Any]:
    """Stands for a provider not registered yet (startup refuses to serve)."""

    def no_provider() -> Any:
        raise RuntimeError(f"No provider for {display(tp)}: call app.provide({display(tp)}, ...)")

    return no_provider


def provided(tp: Any, name: str, analysis: Analysis, owner: str) -> Dependency:
    key = (PROVIDED, tp)
    known = analysis.dependencies.get(key)
    if known is not None:
        return known
    result = Dependency(unresolved(tp), Plan(), kind_of(unresolved))
    registration = analysis.providers.get(tp)
    if registration is not None:
        bind(result, registration.singleton or registration.factory, name, analysis, owner)
    analysis.dependencies[key] = result
    analysis.bound.append(Bound(tp, result, True, name, owner))
    return result


def bind(
    result: Dependency, provider: Any, name: str, analysis: Analysis, owner: str
) -> None:
    """Point `result` at `provider` (a callable, analysed in this route's
    context, or a `Singleton`): the endpoint reads these fields per request."""
    if isinstance(provider, Singleton):
        result.provider, result.plan, result.kind = provider.provider, provider.plan, provider.kind
        result.singleton = provider
        return
    plan = plan_of(provider, name, analysis, owner)
    result.provider, result.plan, result.kind = provider, plan, kind_of(provider)
    result.singleton = None


def check_placeholders(analysis: Analysis) -> None:
    for name in analysis.route.placeholders:
        if name not in analysis.used_vars:
            raise analysis.fail(name, f"the URL placeholder {{{name}}} has no parameter")


def plan_handler(
    handler: Callable[..., Any],
    route: RouteInfo,
    providers: dict[Any, Provided],
    localns: dict[str, Any] | None = None,
) -> Plan:
    """The plan of a route handler; raises RouteDefinitionError on any mistake.

    `localns` resolves string annotations (`from __future__ import
    annotations`) naming objects local to the function that registers."""
    return analyse_route(handler, route, providers, localns)[0]


def analyse_route(
    handler: Callable[..., Any],
    route: RouteInfo,
    providers: dict[Any, Provided],
    localns: dict[str, Any] | None = None,
    guards: tuple[Depends, ...] = (),
    plain: bool = False,
) -> tuple[Plan, Analysis]:
    """`plan_handler`, with the route's `dependencies` (guards), and the
    analysis (its `bound` dependencies, its context for rebinding them).
    For a `plain` Roll handler, only the guards are analysed."""
    analysis = Analysis(route, qualname(handler), providers, localns=localns)
    bound_guards = tuple(
        dependency(guard.provider, f"dependencies[{index}]", analysis, analysis.handler)
        for index, guard in enumerate(guards)
    )
    if plain:
        return Plan(guards=bound_guards, reads_body=bool(analysis.bodies)), analysis
    plan = build_plan(handler, analysis)
    check_placeholders(analysis)
    renderer: Renderer = render
    if not route.websocket:  # a websocket handler's return value is ignored
        try:
            renderer = renderer_for(plan.returns, analysis.handler)
        except ContractError as error:
            raise analysis.fail(None, str(error)) from None
    return (
        replace(plan, reads_body=bool(analysis.bodies), guards=bound_guards, render=renderer),
        analysis,
    )


def plan_singleton(
    factory: Callable[..., Any],
    providers: dict[Any, Provided],
    localns: dict[str, Any] | None = None,
) -> Plan:
    route = RouteInfo("<app>", frozenset(), app_scope=True)
    analysis = Analysis(route, qualname(factory), providers, localns=localns)
    return build_plan(factory, analysis)
