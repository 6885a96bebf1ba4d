"""Plans: a handler's signature analysed once into extractors and dependencies."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, get_type_hints

from pydantic import TypeAdapter

from roll import Request, Response, WSProtocol

from . import extractors as ex
from .contract import ContractError, Renderer, renderer_for
from .converters import converter_for
from .dependencies import Dependency, Singleton, kind_of
from .errors import RouteDefinitionError
from .files import UploadFile
from .markers import Body, Cookie, Depends, File, Form, Header, Path, Query, Source
from .models import model_source
from .provides import check_provides
from .returns import render
from .typeinfo import TypeInfo, analyse, is_model, is_scalar
from .websocket import WebSocket

BODY_LESS_METHODS = frozenset(("GET", "HEAD"))
REQUEST_NAMES = frozenset(("request", "req"))
RESPONSE_NAMES = frozenset(("response", "resp"))
WEBSOCKET_NAMES = frozenset(("ws", "websocket"))
BODY_NAMES = {"json": "JSON", "form": "form", "file": "file (multipart)"}


@dataclass(frozen=True)
class Input:
    """One value a plan reads from the request, for the OpenAPI document."""

    location: str  # path, query, header, cookie, form, file or body
    name: str  # the name looked up: the alias, the header's name
    info: TypeInfo
    default: Any  # ex.MISSING when there is none


@dataclass(frozen=True)
class Plan:
    """What to run for one callable: `(name, extractor)` pairs, then
    `(name, dependency)` pairs, then the URL values passed to `**kwargs`.
    `inputs` describes what its own extractors read (not its dependencies')."""

    extractors: tuple[tuple[str, ex.Extractor], ...] = ()
    dependencies: tuple[tuple[str, Dependency], ...] = ()
    extra_vars: tuple[str, ...] = ()
    reads_body: bool = False  # JSON, form or file, anywhere in the tree
    # The route's `dependencies=[Depends(f), ...]`: run first, values discarded.
    guards: tuple[Dependency, ...] = ()
    returns: Any = inspect.Parameter.empty  # the return annotation
    render: Renderer = render  # (response, result): the response contract
    inputs: tuple[Input, ...] = ()


@dataclass(frozen=True)
class RouteInfo:
    """What the analysis needs to know about the route being registered."""

    path: str
    methods: frozenset[str] = frozenset(("GET",))
    protocol: str = "http"
    app_scope: bool = False  # an app-level singleton: no request data at all

    @property
    def placeholders(self) -> tuple[str, ...]:
        return placeholders(self.path)

    @property
    def websocket(self) -> bool:
        return self.protocol == "websocket"


def placeholders(path: str) -> tuple[str, ...]:
    """The names of the `{name}` / `{name:type}` / `{name:regex}` placeholders."""
    names: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(path):
        if char == "{":
            if depth == 0:
                start = index + 1
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                names.append(re.split(r"[:}]", path[start:index], maxsplit=1)[0].strip())
    return tuple(names)


@dataclass
class BodyUse:
    kind: str  # "json", "form" or "file"
    where: str  # "parameter 'x' of handler"


@dataclass
class Analysis:
    """State shared by the whole tree of one handler: the route, the app's
    providers, the URL values used, the body sources and the providers met."""

    route: RouteInfo
    handler: str
    providers: dict[Any, Provided]
    used_vars: set[str] = field(default_factory=set)
    bodies: list[BodyUse] = field(default_factory=list)
    dependencies: dict[Any, Dependency] = field(default_factory=dict)
    stack: list[Any] = field(default_factory=list)
    localns: dict[str, Any] | None = None  # the registering frame's locals
    # Every dependency built, by what it stands for: the app rebinds them
    # for `app.override()` and a later `app.provide()` (see overrides.py).
    bound: list[Bound] = field(default_factory=list)
    # (type, parameter, owner) of models read as the body for want of a
    # provider: a later `app.provide` of that type is refused.
    inferred_bodies: list[tuple[Any, str, str]] = field(default_factory=list)

    def fail(
        self, parameter: str | None, reason: str, owner: str | None = None
    ) -> RouteDefinitionError:
        if owner and owner != self.handler:
            reason = f"{reason} (in provider {owner})"
        return RouteDefinitionError(self.route.path, self.handler, parameter, reason)


@dataclass(eq=False)
class Bound:
    """A dependency built for `target`: a `Depends` provider, or a type
    resolved through `app.provide` (`provided`). `parameter` names it."""

    target: Any
    dependency: Dependency
    provided: bool
    parameter: str
    owner: str  # the function whose parameter it is


# Keys of `Analysis.dependencies` for provided types (a class may also be a
# `Depends` provider, which is keyed by itself).
PROVIDED = object()


@dataclass(eq=False)
class Provided:
    """An `app.provide(type, factory)` registration."""

    factory: Callable[..., Any]
    singleton: Singleton | None = None


def qualname(func: Any) -> str:
    func = getattr(func, "__func__", func)
    return getattr(func, "__qualname__", None) or repr(func)


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
    items: list[tuple[str, ex.Extractor]] = []
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
        default = ex.MISSING if param.default is param.empty else param.default
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
    inputs.extend(Input("path", name, URL_VALUE, ex.MISSING) for name in extra_vars)
    returns = hints.get("return", inspect.Parameter.empty)
    return Plan(
        tuple(items), tuple(dependencies), extra_vars, returns=returns, inputs=tuple(inputs)
    )


URL_VALUE = analyse(str)  # what `**kwargs` receives


def resolve_parameter(
    name: str,
    annotation: Any,
    default: Any,
    analysis: Analysis,
    owner: str,
    inputs: list[Input],
) -> ex.Extractor | Dependency:
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


def source_key(name: str, marker: Source) -> str:
    """The name a source looks up: its alias, a header's name."""
    if isinstance(marker, Header):
        return marker.alias or name.replace("_", "-")
    return marker.alias or name


def request_only(
    analysis: Analysis, name: str, owner: str, extractor: ex.Extractor
) -> ex.Extractor:
    if analysis.route.app_scope:
        raise analysis.fail(
            name, "an app-level (singleton) provider cannot read the request", owner
        )
    return extractor


def is_subclass(tp: Any, cls: type) -> bool:
    return isinstance(tp, type) and issubclass(tp, cls)


def display(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


def source(
    name: str, marker: Source, info: TypeInfo, default: Any, analysis: Analysis, owner: str
) -> ex.Extractor:
    route = analysis.route
    key = marker.alias or name
    base = info.base
    if isinstance(marker, File):
        if base is not UploadFile:
            raise analysis.fail(
                name, "a File parameter must be an UploadFile, optional or a list", owner
            )
        use_body(analysis, "file", name, owner)
        return ex.file_value(key, default, info.optional, info.many)
    if base is UploadFile:
        raise analysis.fail(name, "an UploadFile comes from a File source", owner)
    if isinstance(marker, Query | Form) and is_model(base) and not info.many:
        if isinstance(marker, Form):
            use_body(analysis, "form", name, owner)
        return model_source(name, marker, info, analysis, owner)
    if not is_scalar(base):
        raise analysis.fail(
            name, f"a {marker.location} value must be a scalar type, not {display(base)}", owner
        )
    conv = converter_for(info)
    if isinstance(marker, Path):
        if key not in route.placeholders:
            raise analysis.fail(name, f"no placeholder {{{key}}} in the route path", owner)
        if info.many:
            raise analysis.fail(name, "a URL value cannot be a list", owner)
        analysis.used_vars.add(key)
        return ex.path_value(key, conv, info.optional)
    if isinstance(marker, Query | Form):
        if isinstance(marker, Form):
            use_body(analysis, "form", name, owner)
            read = ex.read_form
        else:
            read = ex.read_query
        location = marker.location
        if info.many:
            return ex.multi_list(location, key, conv, default, info.optional, read)
        return ex.multi_value(location, key, conv, default, info.optional, read)
    if isinstance(marker, Header):
        header = source_key(name, marker)
        return ex.mapping_value(
            "header", header, header.upper(), conv, default, info.optional, headers, info.many
        )
    if isinstance(marker, Cookie):
        if info.many:
            raise analysis.fail(name, "a cookie cannot be a list", owner)
        return ex.mapping_value("cookie", key, key, conv, default, info.optional, cookies)
    raise analysis.fail(name, f"unknown marker {marker!r}", owner)  # pragma: no cover


def headers(request: Any) -> Any:
    return request.headers


def cookies(request: Any) -> Any:
    return request.cookies


def body(name: str, info: TypeInfo, default: Any, analysis: Analysis, owner: str) -> ex.Extractor:
    use_body(analysis, "json", name, owner)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(info.annotation)
    except Exception as error:
        raise analysis.fail(
            name, f"pydantic cannot validate {display(info.annotation)}: {error}", owner
        ) from None
    return ex.json_body(name, adapter, default, info.optional)


def use_body(analysis: Analysis, kind: str, name: str, owner: str) -> None:
    route = analysis.route
    where = f"{name!r} of {owner}"
    if route.websocket:
        raise analysis.fail(name, "a websocket route has no request body", owner)
    if route.methods and route.methods <= BODY_LESS_METHODS:
        raise analysis.fail(
            name,
            f"a body parameter on a route accepting only {', '.join(sorted(route.methods))}",
            owner,
        )
    for other in analysis.bodies:
        if kind == "json" or other.kind == "json":
            if kind != other.kind:
                reason = (
                    f"a {BODY_NAMES[kind]} body conflicts with the"
                    f" {BODY_NAMES[other.kind]} body of {other.where}"
                )
            else:
                reason = f"two JSON body parameters ({other.where} and {where})"
            raise analysis.fail(name, reason, owner)
    analysis.bodies.append(BodyUse(kind, where))


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
