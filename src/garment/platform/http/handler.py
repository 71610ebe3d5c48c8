"""The request handler of a compiled route (ADR 0028): FastAPI's, without what it cannot need.

FastAPI's handler (0.165 `get_request_handler`) is written for every kind of route: forms,
streams, server-sent events, telemetry, background tasks, and dependencies solved per request.
A compiled route (ADR 0022) has none of these: its one endpoint takes the request and the
sub-response and solves by its plan. For it FastAPI's handler still builds an endpoint context,
parses the content type through `email.message`, solves the one-endpoint dependant with the full
solver, and asks per request which kind of stream it is. `compiled_handler` does the same work in
the same order, with the same answers: the JSON body read under the same content-type rules
(`json_invalid` on malformed JSON, `400` on an unreadable body, the body limit's own error), the
endpoint called with a fresh sub-response, a `Response` returned as it is, anything else
validated and serialised by the response field (`dump_json` when the route keeps the default
response class), the status from the route or the sub-response, no body where the status admits
none, and the sub-response's headers added. While FastAPI's telemetry is on, FastAPI's own
handler runs instead.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import lru_cache
from typing import Any

from fastapi._body_limit import get_body_limit_error
from fastapi._compat import ModelField
from fastapi.datastructures import DefaultPlaceholder
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import EndpointContext, RequestValidationError, ResponseValidationError
from fastapi.routing import _extract_endpoint_context
from fastapi.telemetry._api import get_telemetry_data
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
CompiledEndpoint = Callable[[Request, Response], Awaitable[Any]]


def compiled_handler(route: Any, endpoint: CompiledEndpoint, fastapi_handler: Handler) -> Handler:
    """The handler of `route` (an `APIRoute`, or its context as included), whose dependencies
    and endpoint are `endpoint`; `fastapi_handler` runs while FastAPI's telemetry is on."""
    body_field: ModelField | None = route.body_field
    strict_content_type = _value(route.strict_content_type)
    response_class = route.response_class
    default_response_class = isinstance(response_class, DefaultPlaceholder)
    response_type: type[Response] = _value(response_class)
    response_field: ModelField | None = route.response_field
    route_status = route.status_code
    dump = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }
    dump_json = response_field is not None and default_response_class
    path = route.dependant.path

    def endpoint_context(request: Request) -> EndpointContext:
        # Only an error needs it (FastAPI builds it on every request).
        context = EndpointContext(**_extract_endpoint_context(endpoint))
        if path:
            mount_path = request.scope.get("root_path", "").rstrip("/")
            context["path"] = f"{request.method} {mount_path}{path}"
        return context

    async def read_body(request: Request) -> None:
        """Reads and decodes the body as FastAPI's handler does; the endpoint finds it where
        FastAPI leaves it (`request._body`, `request._json`)."""
        try:
            raw = await request.body()
            if raw and _is_json(request.headers.get("content-type"), strict_content_type):
                await request.json()
        except json.JSONDecodeError as exc:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", exc.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": exc.msg},
                    }
                ],
                body=exc.doc,
                endpoint_ctx=endpoint_context(request),
            ) from exc
        except HTTPException:
            raise
        except Exception as exc:
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (error := get_body_limit_error(exc)):
                raise error from exc
            raise HTTPException(
                status_code=400, detail="There was an error parsing the body"
            ) from exc

    def serialize(request: Request, content: Any) -> Any:
        if response_field is None:
            return jsonable_encoder(content)
        value, errors = response_field.validate(content, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(
                errors=errors, body=content, endpoint_ctx=endpoint_context(request)
            )
        serializer = response_field.serialize_json if dump_json else response_field.serialize
        return serializer(value, **dump)

    async def handle(request: Request) -> Response:
        if get_telemetry_data() is not None:
            return await fastapi_handler(request)
        if body_field is not None:
            await read_body(request)
        sub_response = Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]  # as FastAPI's solver
        content = await endpoint(request, sub_response)
        if isinstance(content, Response):
            return content
        status_code = sub_response.status_code or route_status
        status: dict[str, Any] = {} if status_code is None else {"status_code": status_code}
        body = serialize(request, content)
        if dump_json:
            response = Response(content=body, media_type="application/json", **status)
        else:
            response = response_type(body, **status)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        response.headers.raw.extend(sub_response.headers.raw)
        return response

    return handle


def _is_json(content_type: str | None, strict_content_type: bool) -> bool:
    """Whether FastAPI's handler decodes a body of `content_type` as JSON."""
    if not content_type:
        return not strict_content_type
    return _is_json_media_type(content_type)


# Clients send a handful of distinct content types; parsing one costs more than the lookup.
@lru_cache(maxsize=256)
def _is_json_media_type(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _value(setting: Any) -> Any:
    return setting.value if isinstance(setting, DefaultPlaceholder) else setting
