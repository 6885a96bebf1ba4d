"""OpenAPI operations: one per method of each registered route, from its plan.

What a typed route documents is what its plan reads and what its endpoint
answers: parameters (path, query, header, cookie) with their JSON Schema,
the JSON or form body, the success status and return type, the 400 of
`InvalidRequest` when an input can be invalid, the 413 of the core's body
limits, the 401 of its security schemes, the 503 of a handler timeout, and
the `responses` the route declares. A plain Roll handler documents its path
parameters only. Websocket routes are left out (OpenAPI cannot say them).
"""

from __future__ import annotations

import inspect
import re
import types
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Union, cast, get_args, get_origin

from .contract import is_stream
from .openapi_schemas import NO_DEFAULT, InvalidRequest, Schemas, json_default
from .plan import MISSING, Input, Plan, scan_placeholders
from .returns import RAW_TYPES
from .security import SecurityScheme
from .typeinfo import split_annotated, split_optional, with_constraints

METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
# What autoroutes' named placeholder types match (None: anything).
PLACEHOLDER_PATTERNS: dict[str, str | None] = {
    "": "^[^/]+$",
    "string": "^[^/]+$",
    "digit": "^[0-9]+$",
    "alnum": "^[A-Za-z0-9]+$",
    "alpha": "^[A-Za-z]+$",
    "path": None,
    "any": None,
}
BINARY = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}


@dataclass
class Placeholder:
    name: str
    kind: str  # "", a named type, or a regex

    @property
    def pattern(self) -> str | None:
        if self.kind in PLACEHOLDER_PATTERNS:
            return PLACEHOLDER_PATTERNS[self.kind]
        return f"^(?:{self.kind})$"


def split_path(path: str) -> tuple[str, dict[str, Placeholder]]:
    """`/items/{id:digit}` -> (`/items/{id}`, {"id": Placeholder("id", "digit")})."""
    template: list[str] = []
    found: dict[str, Placeholder] = {}
    done = 0
    for start, end, name, kind in scan_placeholders(path):
        template += [path[done:start], "{" + name + "}"]
        found[name] = Placeholder(name, kind)
        done = end
    template.append(path[done:])
    return "".join(template), found


@dataclass
class SecuritySchemes:
    """The schemes of the document, by component name (unique)."""

    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # id(scheme) -> name

    def name(self, scheme: SecurityScheme) -> str:
        known = self.names.get(id(scheme))
        if known is not None:
            return known
        document = scheme.document()
        name, index = scheme.scheme_name, 2
        while name in self.components and self.components[name] != document:
            name, index = f"{scheme.scheme_name}_{index}", index + 1
        self.components[name] = document
        self.names[id(scheme)] = name
        return name


@dataclass
class Reads:
    """Everything one endpoint reads: its inputs (with its dependencies') and schemes."""

    inputs: dict[tuple[str, str], Input] = field(default_factory=dict)
    schemes: list[SecurityScheme] = field(default_factory=list)

    def visit(self, plan: Plan, seen: set[int]) -> None:
        for item in plan.inputs:
            name = item.name.lower() if item.location == "header" else item.name
            self.inputs.setdefault((item.location, name), item)
        # The route's `dependencies=[...]` (guards) read the request too.
        dependencies = [dependency for _, dependency in plan.dependencies] + list(plan.guards)
        for dependency in dependencies:
            if id(dependency) in seen or dependency.singleton is not None:
                continue  # a singleton reads no request data
            seen.add(id(dependency))
            if isinstance(dependency.provider, SecurityScheme):
                self.schemes.append(dependency.provider)
            else:
                self.visit(dependency.plan, seen)


def reads_of(plan: Plan) -> Reads:
    reads = Reads()
    reads.visit(plan, set())
    return reads


def build_paths(app: Any, schemas: Schemas, schemes: SecuritySchemes) -> dict[str, Any]:
    """The `paths` of the document for every route in `app.registry`."""
    plans: dict[Any, Plan] = getattr(app, "plans", {})
    paths: dict[str, dict[str, Any]] = {}
    for record in app.registry:
        extras = record.extras
        if record.protocol != "http" or not extras.get("include_in_schema", True):
            continue
        template, placeholders = split_path(record.path)
        item = paths.setdefault(template, {})
        for method, handler in record.handlers.items():
            if method not in METHODS:
                continue
            shared = sum(1 for other in record.handlers.values() if other is handler) > 1
            operation = describe(record, method, handler, shared)
            plan = plans.get(handler)
            if plan is None:
                operation["parameters"] = [
                    path_parameter(placeholder) for placeholder in placeholders.values()
                ]
                operation["responses"] = {
                    "default": {"description": "What the handler writes (a plain Roll handler)"}
                }
            else:
                typed_operation(operation, app, record, method, plan, placeholders, schemas, schemes)
            if not operation["parameters"]:
                del operation["parameters"]
            item[method.lower()] = operation  # a method registered again replaces the first
    unique_operation_ids(paths)
    return paths


def describe(record: Any, method: str, handler: Any, shared: bool) -> dict[str, Any]:
    """operationId, summary, description, tags, deprecated."""
    extras = record.extras
    target = getattr(handler, "__wrapped__", handler)
    name = getattr(target, "__name__", None) or "handler"
    view = record.view
    if inspect.isclass(view):
        operation_id = f"{view.__name__}_{method.lower()}"
        summary = f"{method.capitalize()} {humanize(view.__name__).lower()}"
        doc = inspect.getdoc(target) or inspect.getdoc(view)
    else:
        operation_id = f"{name}_{method.lower()}" if shared else name
        summary = humanize(name)
        doc = inspect.getdoc(target)
    if extras.get("operation_id"):
        operation_id = str(extras["operation_id"])
        if shared or inspect.isclass(view):
            operation_id = f"{operation_id}_{method.lower()}"
    operation: dict[str, Any] = {}
    if extras.get("tags"):
        operation["tags"] = [str(tag) for tag in extras["tags"]]
    operation["summary"] = str(extras.get("summary") or summary)
    description = extras.get("description") or doc
    if description:
        operation["description"] = str(description)
    operation["operationId"] = operation_id
    if extras.get("deprecated"):
        operation["deprecated"] = True
    operation["parameters"] = []
    return operation


def humanize(name: str) -> str:
    """`get_item` -> `Get item`, `ShopItems` -> `Shop items`."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:] if text else name


def unique_operation_ids(paths: dict[str, dict[str, Any]]) -> None:
    seen: set[str] = set()
    for item in paths.values():
        for operation in item.values():
            base = candidate = operation["operationId"]
            index = 2
            while candidate in seen:
                candidate, index = f"{base}_{index}", index + 1
            seen.add(candidate)
            operation["operationId"] = candidate


def path_parameter(placeholder: Placeholder) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if placeholder.pattern:
        schema["pattern"] = placeholder.pattern
    return {"name": placeholder.name, "in": "path", "required": True, "schema": schema}


def typed_operation(
    operation: dict[str, Any],
    app: Any,
    record: Any,
    method: str,
    plan: Plan,
    placeholders: dict[str, Placeholder],
    schemas: Schemas,
    schemes: SecuritySchemes,
) -> None:
    reads = reads_of(plan)
    inputs = list(reads.inputs.values())
    documented = set()
    for item in inputs:
        if item.location in PARAMETER_LOCATIONS:
            operation["parameters"].append(parameter(item, placeholders, schemas))
            documented.add(item.name)
    for name, placeholder in placeholders.items():  # read by `request` itself
        if name not in documented:
            operation["parameters"].append(path_parameter(placeholder))
    body = request_body(inputs, schemas)
    if body is not None:
        operation["requestBody"] = body
    head = method == "HEAD"
    status = int(record.extras.get("status") or HTTPStatus.OK)
    responses: dict[str, Any] = {str(status): success(plan.returns, status, head, schemas)}
    if any(can_fail(item) for item in inputs):
        responses["400"] = {
            "description": "Invalid input: every problem of the request at once",
            "content": {"application/json": {"schema": schemas.schema(InvalidRequest)}},
        }
        if head:
            del responses["400"]["content"]
    if any(placeholder.pattern for placeholder in placeholders.values()):
        responses["404"] = {"description": "Not Found: a path value its placeholder does not match"}
    if plan.reads_body:
        responses["413"] = {"description": "Payload Too Large: over the server's body limits"}
    if reads.schemes:
        security(operation, responses, reads.schemes, schemes)
    timeout = record.extras.get("timeout", getattr(app, "HANDLER_TIMEOUT", None))
    if timeout is not None:
        responses["503"] = {"description": f"Service Unavailable: the handler timed out ({timeout}s)"}
    for code, declared in (record.extras.get("responses") or {}).items():
        responses[str(code)] = declared_response(code, declared, head, schemas)
    operation["responses"] = dict(sorted(responses.items()))


def parameter(item: Input, placeholders: dict[str, Placeholder], schemas: Schemas) -> dict[str, Any]:
    info = item.info
    # The type of a value as sent: never null (a string cannot say null).
    annotation = list_of(info.item) if info.many else info.item
    extra: dict[str, Any] = {}
    if item.default is not MISSING:
        default = json_default(item.default)
        if default is not NO_DEFAULT:
            extra["default"] = default
    placeholder = placeholders.get(item.name) if item.location == "path" else None
    if placeholder is not None and not info.constraints:
        # The route only matches what its placeholder matches.
        if info.base is str and placeholder.pattern:
            extra["pattern"] = placeholder.pattern
        elif info.base is int and placeholder.kind == "digit":
            extra["minimum"] = 0
    required = item.location == "path" or (item.default is MISSING and not info.optional)
    return {
        "name": item.name,
        "in": item.location,
        "required": required,
        "schema": schemas.schema(annotation, **extra),
    }


def can_fail(item: Input) -> bool:
    """Can this input be reported as a problem (the 400)?"""
    if item.location in ("body", "form", "file"):
        return True  # an unparsable body
    if item.default is MISSING and not item.info.optional and item.location != "path":
        return True  # missing
    return item.info.base is not str or bool(item.info.constraints)


def request_body(inputs: list[Input], schemas: Schemas) -> dict[str, Any] | None:
    for item in inputs:
        if item.location == "body":
            info = item.info
            annotation = split_optional(info.annotation)[0] if info.optional else info.annotation
            return {
                "required": item.default is MISSING and not info.optional,
                "content": {"application/json": {"schema": schemas.schema(annotation)}},
            }
    fields = [item for item in inputs if item.location in ("form", "file")]
    if not fields:
        return None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in fields:
        info = item.info
        if item.location == "file":
            schema: dict[str, Any] = dict(BINARY)
            if info.many:
                schema = {"type": "array", "items": schema}
        else:
            extra = {}
            if item.default is not MISSING and json_default(item.default) is not NO_DEFAULT:
                extra["default"] = json_default(item.default)
            annotation = list_of(info.item) if info.many else info.item
            schema = schemas.schema(annotation, **extra)
        properties[item.name] = schema
        if item.default is MISSING and not info.optional:
            required.append(item.name)
    form: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        form["required"] = required
    media = ["multipart/form-data"]
    if all(item.location == "form" for item in fields):
        media.insert(0, "application/x-www-form-urlencoded")
    return {"required": bool(required), "content": {name: {"schema": form} for name in media}}


def success(returns: Any, status: int, head: bool, schemas: Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": phrase(status)}
    if not head:
        content = response_content(returns, schemas)
        if content:
            response["content"] = content
    return response


def phrase(code: int | str) -> str:
    try:
        return HTTPStatus(int(code)).phrase
    except ValueError:
        return "Response"


def response_content(returns: Any, schemas: Schemas) -> dict[str, Any]:
    """The media types a return annotation is rendered as (see returns.py)."""
    if returns is inspect.Parameter.empty or returns is None:
        return {}
    bare, metadata = split_annotated(returns)
    bare, _ = split_optional(bare)  # None leaves the response alone: no body to describe
    members = list(get_args(bare)) if get_origin(bare) in (Union, types.UnionType) else [bare]
    content: dict[str, Any] = {}
    if any(member is Any or member is object for member in members):
        return content  # anything: nothing to promise
    if str in members:
        content["text/plain"] = {"schema": {"type": "string"}}
    for member in members:
        if is_stream(member):  # EventStream: its own media type, text
            media_type = getattr(member, "response_headers", {}).get("Content-Type")
            if media_type:
                content[media_type.split(";")[0]] = {"schema": {"type": "string"}}
    json = [
        member
        for member in members
        if member is not str
        and member not in RAW_TYPES
        and member is not type(None)
        and not is_stream(member)
    ]
    if json:
        annotation: Any = json[0] if len(json) == 1 else Union[tuple(json)]
        if json == members:  # keep constraints and descriptions
            annotation = with_constraints(bare, metadata)
        content["application/json"] = {"schema": schemas.schema(annotation, "serialization")}
    return content


def list_of(tp: Any) -> Any:
    return types.GenericAlias(list, (tp,))


def security(
    operation: dict[str, Any],
    responses: dict[str, Any],
    used: list[SecurityScheme],
    schemes: SecuritySchemes,
) -> None:
    """Schemes that answer 401 themselves are all required; those with
    `auto_error=False` are alternatives (the application decides, and answers
    its own 401, e.g. `raise scheme.unauthorized()`)."""
    required: dict[str, list[str]] = {schemes.name(scheme): [] for scheme in used if scheme.auto_error}
    optional = [schemes.name(scheme) for scheme in used if not scheme.auto_error]
    if optional:
        operation["security"] = [{**required, name: []} for name in dict.fromkeys(optional)]
    else:
        operation["security"] = [required]
    challenges = " or ".join(dict.fromkeys(scheme.challenge for scheme in used))
    responses["401"] = {
        "description": "Unauthorized: a credential is missing or malformed",
        "headers": {
            "WWW-Authenticate": {
                "description": f"The challenge: {challenges}",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    }


def declared_response(code: Any, declared: Any, head: bool, schemas: Schemas) -> dict[str, Any]:
    """A `responses={code: ...}` entry: a type (JSON body), a description, or a
    dict with `description`, `model`, and raw OpenAPI `content` / `headers`."""
    if declared is None or isinstance(declared, str):
        return {"description": declared or phrase(code)}
    if not isinstance(declared, dict):
        declared = {"model": declared}
    response: dict[str, Any] = {"description": str(declared.get("description") or phrase(code))}
    content = dict(declared.get("content") or {})
    if declared.get("model") is not None:
        content["application/json"] = {"schema": schemas.schema(declared["model"], "serialization")}
    if content and not head:
        response["content"] = content
    if declared.get("headers"):
        response["headers"] = dict(declared["headers"])
    return response
