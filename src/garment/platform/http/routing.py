"""Routes whose dependencies are solved by a plan compiled once per route (ADR 0022).

FastAPI solves a route's dependency tree on every request by re-inspecting it: for each
dependant it recomputes the cache key, asks whether the callable is a generator, and for each
parameter looks up its aliases, whether its annotation is a sequence and whether it is a model,
before validating the value. On a tenant list that is about a third of the request's CPU
(bench/README.md). `CompiledRoute` does that inspection once, when the route is built, and keeps
a plan: per dependant its sub-dependencies in order (their call, cache key and kind) and per
parameter a reader with its request keys, location and default. A request then only reads and
validates values and calls the dependencies.

The plan runs FastAPI's own algorithm, so answers do not change: sub-dependencies first, in
declaration order; a sub-dependency whose parameters fail is not called, its errors collected;
then path, query, header, cookie and body parameters; one `RequestValidationError` with every
error. An async generator dependency is entered as FastAPI enters it, as a `contextlib` context
manager on the exit stack of its scope, but built once per route instead of per request and
without FastAPI's shared cancel scope (ADR 0029); a sync one through FastAPI's own helper (it
runs in a worker thread). The route's handler (`compiled_handler`, ADR 0028) reads and decodes
the body and serialises the response as FastAPI's does, around one endpoint that takes the
request and the sub-response and runs the plan and then the real endpoint.

A dependency may also offer a shortcut (`solve_from_request`, ADR 0030): one call that takes
its value straight from the request, doing what solving its parameters and sub-dependencies
and then calling it would do, or answering `DECLINED` for a request whose parameters FastAPI
would refuse (the plan then solves it the long way, so the errors stay FastAPI's). The tenant
chain is the one that does: every tenant route's first step, three levels deep.

A route FastAPI builds differently falls back to FastAPI's own solving: one that needs
something the plan does not model (security scopes, background tasks, forms and files, limited
concurrency, streams), and every request while `app.dependency_overrides` holds anything.
`compiled(route)` says which kind a route is; a test requires every API route to be compiled.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from fastapi import params
from fastapi._compat import ModelField, Undefined, get_missing_field_error
from fastapi._compat.shared import field_annotation_is_sequence
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _solve_generator,
    request_body_to_args,
    solve_dependencies,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import (
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    APIRouter,
    _effective_route_context_var,
    get_request_handler,
)
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from garment.platform.http.handler import CompiledEndpoint, compiled_handler

# A default of one of these types is returned as it is; FastAPI deep-copies every default so a
# handler cannot mutate a shared list, which these cannot be.
IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes, tuple, frozenset)
PLAN_ATTRIBUTE = "garment_dependency_plan"
# The method a dependency offers as its shortcut, and what it answers to decline a request.
SHORTCUT_METHOD = "solve_from_request"
DECLINED: Any = object()
# Off only to measure FastAPI's own solving against the plan's (bench/http/inprocess.py).
COMPILE = True
Values = dict[str, Any]
Errors = list[Any]


class NotCompilable(Exception):
    """The dependant needs something the plan does not model; FastAPI solves it instead."""


@dataclass(frozen=True, slots=True)
class ParamReader:
    """One path, query, header or cookie parameter: where to find it, and its default."""

    field: ModelField
    keys: tuple[str, ...]  # the request keys it may arrive under, in preference order
    location: str
    many: bool  # a list parameter: every occurrence of the key
    required: bool
    default: Any
    copy_default: bool
    validate_default: bool

    @classmethod
    def of(cls, field: ModelField) -> ParamReader:
        info = field.field_info
        if not isinstance(info, params.Param) or _get_param_model(field) is not None:
            raise NotCompilable(field.name)
        default = field.default
        return cls(
            field=field,
            keys=tuple(key for _, key in _get_param_aliases(field)),
            location=info.in_.value,
            many=not _is_json_field(field) and field_annotation_is_sequence(info.annotation),
            required=info.is_required(),
            default=default,
            copy_default=not isinstance(default, IMMUTABLE_DEFAULTS),
            validate_default=bool(info.validate_default),
        )

    def read(self, received: Mapping[str, Any], values: Values, errors: Errors) -> None:
        key = next((k for k in self.keys if k in received), self.keys[0])
        loc = (self.location, key)
        value = self.raw_value(received, key)
        if value is Undefined:
            if self.required:
                errors.append(get_missing_field_error(loc=loc))
                return
            value = copy.deepcopy(self.default) if self.copy_default else self.default
            if not self.validate_default:
                values[self.field.name] = value
                return
        validated, problems = self.field.validate(value, values, loc=loc)
        if problems:
            errors.extend(problems)
        else:
            values[self.field.name] = validated

    def raw_value(self, received: Mapping[str, Any], key: str) -> Any:
        if self.many and isinstance(received, ImmutableMultiDict | Headers):
            value: Any = received.getlist(key)
        else:
            value = received.get(key)
        if value is None or (self.many and len(value) == 0):
            return Undefined
        return value


@dataclass(frozen=True, slots=True)
class Params:
    """A dependant's parameters of one location (path, query, header or cookie)."""

    readers: tuple[ParamReader, ...]

    @classmethod
    def of(cls, fields: Sequence[ModelField]) -> Params:
        return cls(tuple(ParamReader.of(field) for field in fields))

    def read(self, received: Mapping[str, Any], errors: Errors) -> Values:
        values: Values = {}
        for reader in self.readers:
            reader.read(received, values, errors)
        return values


@dataclass(frozen=True, slots=True)
class Step:
    """One sub-dependency of a dependant, with what FastAPI would work out about it each time."""

    name: str | None
    plan: Plan
    call: Callable[..., Any]
    cache_key: Any
    use_cache: bool
    generator: bool
    coroutine: bool
    function_scope: bool
    dependant: Dependant  # FastAPI's, for entering a sync generator with its own helper
    # An async generator dependency as a context manager factory, built once (FastAPI wraps the
    # callable in `asynccontextmanager` on every request).
    context: Callable[..., AbstractAsyncContextManager[Any]] | None
    # The dependency's value from the request in one call, or DECLINED (module docstring).
    shortcut: Callable[[Request], Awaitable[Any]] | None


@dataclass(frozen=True, slots=True)
class Plan:
    """How to solve one dependant: its sub-dependencies, then its own parameters."""

    steps: tuple[Step, ...]
    path: Params
    query: Params
    header: Params
    cookie: Params
    body_fields: list[ModelField]  # as `request_body_to_args` takes them (never changed)
    connection_name: str | None
    request_name: str | None
    response_name: str | None

    @classmethod
    def of(cls, dependant: Dependant) -> Plan:
        if (
            dependant.websocket_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or dependant.own_oauth_scopes
            or dependant.concurrency is not None
            or any(isinstance(f.field_info, params.Form) for f in dependant.body_params)
        ):
            raise NotCompilable(str(dependant.call))
        return cls(
            steps=tuple(step_of(sub) for sub in dependant.dependencies),
            path=Params.of(dependant.path_params),
            query=Params.of(dependant.query_params),
            header=Params.of(dependant.header_params),
            cookie=Params.of(dependant.cookie_params),
            body_fields=list(dependant.body_params),
            connection_name=dependant.http_connection_param_name,
            request_name=dependant.request_param_name,
            response_name=dependant.response_param_name,
        )

    async def solve(self, run: Solving) -> tuple[Values, Errors]:
        values: Values = {}
        errors: Errors = []
        for step in self.steps:
            if step.shortcut is not None:
                solved = await run.shortcut(step)
                if solved is not DECLINED:
                    if step.name is not None:
                        values[step.name] = solved
                    continue
            sub_values, sub_errors = await step.plan.solve(run)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            solved = await run.call(step, sub_values)
            if step.name is not None:
                values[step.name] = solved
        request = run.request
        if self.path.readers:
            values.update(self.path.read(request.path_params, errors))
        if self.query.readers:
            values.update(self.query.read(request.query_params, errors))
        if self.header.readers:
            values.update(self.header.read(request.headers, errors))
        if self.cookie.readers:
            values.update(self.cookie.read(request.cookies, errors))
        if self.body_fields:
            body_values, body_errors = await request_body_to_args(
                body_fields=self.body_fields,
                received_body=run.body,
                embed_body_fields=run.embed_body_fields,
            )
            values.update(body_values)
            errors.extend(body_errors)
        if self.connection_name:
            values[self.connection_name] = request
        if self.request_name:
            values[self.request_name] = request
        if self.response_name:
            values[self.response_name] = run.response
        return values, errors


def step_of(sub: Dependant) -> Step:
    call = sub.call
    if call is None:
        raise NotCompilable("a dependency without a callable")
    async_generator = _is_async_gen_callable(call)
    generator = async_generator or _is_gen_callable(call)
    return Step(
        name=sub.name,
        plan=Plan.of(sub),
        call=call,
        cache_key=_get_cache_key(dependant=sub, uses_scopes_cache={}),
        use_cache=sub.use_cache,
        generator=generator,
        coroutine=_is_coroutine_callable(call),
        function_scope=sub.scope == "function",
        dependant=sub,
        context=asynccontextmanager(call) if async_generator else None,
        # An instance's method only: a class's would be the unbound function.
        shortcut=None if isinstance(call, type) else getattr(call, SHORTCUT_METHOD, None),
    )


@dataclass(slots=True)
class Solving:
    """One request's solving: its cache of solved dependencies and its exit stacks."""

    request: Request
    response: Response
    body: Any
    embed_body_fields: bool
    cache: dict[Any, Any]

    async def shortcut(self, step: Step) -> Any:
        if step.use_cache and step.cache_key in self.cache:
            return self.cache[step.cache_key]
        assert step.shortcut is not None
        solved = await step.shortcut(self.request)
        if solved is not DECLINED:
            self.cache.setdefault(step.cache_key, solved)
        return solved

    async def call(self, step: Step, sub_values: Values) -> Any:
        if step.use_cache and step.cache_key in self.cache:
            return self.cache[step.cache_key]
        if step.generator:
            stack_key = "fastapi_function_astack" if step.function_scope else "fastapi_inner_astack"
            stack: AsyncExitStack = self.request.scope[stack_key]
            if step.context is not None:
                solved = await stack.enter_async_context(step.context(**sub_values))
            else:
                solved = await _solve_generator(
                    request=self.request,
                    dependant=step.dependant,
                    stack=stack,
                    sub_values=sub_values,
                )
        elif step.coroutine:
            solved = await step.call(**sub_values)
        else:
            solved = await run_in_threadpool(step.call, **sub_values)
        self.cache.setdefault(step.cache_key, solved)
        return solved


def received_body(request: Request) -> Any:
    """The body as FastAPI's request handler decoded it before calling the endpoint: the JSON
    value when it parsed the body as JSON, the bytes otherwise, nothing when there were none."""
    raw = getattr(request, "_body", b"")
    if not raw:
        return Undefined
    return getattr(request, "_json", raw)


Endpoint = Callable[..., Any]


def compiled_endpoint(
    dependant: Dependant, plan: Plan, overrides: Any | None, embed_body_fields: bool
) -> Callable[[Request, Response], Awaitable[Any]]:
    """The one endpoint FastAPI sees: solve by the plan, then call the route's endpoint."""
    endpoint = cast(Endpoint, dependant.call)
    endpoint_is_coroutine = _is_coroutine_callable(endpoint)

    async def solve(request: Request, response: Response, body: Any) -> tuple[Values, Errors]:
        if overrides is not None and getattr(overrides, "dependency_overrides", None):
            solved = await solve_dependencies(
                request=request,
                dependant=dependant,
                body=body,
                response=response,
                dependency_overrides_provider=overrides,
                async_exit_stack=request.scope["fastapi_inner_astack"],
                embed_body_fields=embed_body_fields,
            )
            return solved.values, solved.errors
        run = Solving(request, response, body, embed_body_fields, {})
        return await plan.solve(run)

    async def run_route(request: Request, response: Response) -> Any:
        body = received_body(request)
        values, errors = await solve(request, response, body)
        if errors:
            raise RequestValidationError(errors, body=None if body is Undefined else body)
        if endpoint_is_coroutine:
            return await endpoint(**values)
        return await run_in_threadpool(endpoint, **values)

    run_route.__name__ = getattr(endpoint, "__name__", "endpoint")
    run_route.__qualname__ = getattr(endpoint, "__qualname__", run_route.__name__)
    return run_route


def compiled_dependant(route: Any) -> Dependant | None:
    """The one-endpoint dependant FastAPI's handler runs for `route`, or None when the route
    needs FastAPI's own solving."""
    dependant: Dependant = route.dependant
    endpoint = dependant.call
    if (
        endpoint is None
        or route.is_sse_stream
        or route.is_json_stream
        or _is_gen_callable(endpoint)
        or _is_async_gen_callable(endpoint)
    ):
        return None
    try:
        plan = Plan.of(dependant)
    except NotCompilable:
        return None
    call = compiled_endpoint(
        dependant, plan, route.dependency_overrides_provider, route._embed_body_fields
    )
    return Dependant(
        call=call,
        request_param_name="request",
        response_param_name="response",
        path=dependant.path,
    )


class CompiledRoute(APIRoute):
    """The route class of every router: FastAPI's route, with its dependencies solved by a plan
    built when the route is (module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        route: Any = self
        effective = _effective_route_context_var.get()
        if effective is not None and effective.original_route is self:
            route = effective  # the route as included in the app (its prefix, its settings)
        dependant = compiled_dependant(route) if COMPILE else None
        setattr(route, PLAN_ATTRIBUTE, dependant is not None)
        if dependant is None:
            return super().get_route_handler()
        fastapi_handler = get_request_handler(
            dependant=dependant,
            body_field=route.body_field,
            status_code=route.status_code,
            response_class=route.response_class,
            response_field=route.response_field,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            dependency_overrides_provider=route.dependency_overrides_provider,
            embed_body_fields=route._embed_body_fields,
            strict_content_type=route.strict_content_type,
            form_limits=self.form_limits,
            stream_item_field=route.stream_item_field,
            is_json_stream=route.is_json_stream,
        )
        endpoint = cast(CompiledEndpoint, dependant.call)
        return compiled_handler(route, endpoint, fastapi_handler)


def compiled(route: object) -> bool:
    """Whether `route` (an app route, or an included route's context) solves by a plan."""
    return bool(getattr(route, PLAN_ATTRIBUTE, False))


class Router(APIRouter):
    """The router of every context: FastAPI's, with `CompiledRoute` routes, and a path test
    before it matches its routes one by one.

    FastAPI (0.165) dispatches a request by asking each included router in turn whether one of
    its routes matches, and each router runs every route's regex, with scope bookkeeping around
    each one. A router whose routes all live under its prefix cannot match a path outside the
    include's prefix plus its own, so it answers "no" to such a path at once; the routers ahead
    of the one a request is for then cost a string comparison each, not a regex per route."""

    # Bumped whenever a route is added to any `Router`: one integer tells `StaticRoutes` (ADR
    # 0027) that its table still holds, where FastAPI's routes version walks every router.
    changes: ClassVar[int] = 0

    def __init__(self, **options: Any) -> None:
        options.setdefault("route_class", CompiledRoute)
        super().__init__(**options)
        self._guard: tuple[int, bool] = (-1, False)

    def _mark_routes_changed(self) -> None:
        super()._mark_routes_changed()
        Router.changes += 1

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        included = scope.get(_FASTAPI_SCOPE_KEY, {}).get(_FASTAPI_INCLUDED_ROUTER_KEY)
        if included is not None and self._routes_under_prefix():
            prefix = included.include_context.prefix + self.prefix
            if not get_route_path(scope).startswith(prefix):
                return Match.NONE, {}
        return super().matches(scope)

    def _routes_under_prefix(self) -> bool:
        """Whether every route here is a path under this router's prefix (no mount, no nested
        router), recomputed when routes are added."""
        count, guarded = self._guard
        if count != len(self.routes):
            guarded = bool(self.prefix) and all(
                isinstance(route, APIRoute) and route.path.startswith(self.prefix)
                for route in self.routes
            )
            self._guard = (len(self.routes), guarded)
        return guarded
