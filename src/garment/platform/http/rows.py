"""JSON of trusted rows in a response model's shape, without building the models.

A list route reads its page from our own database: every value already has the column's type,
and the model only says how the JSON looks. Validating 20 rows into models to serialise them
straight back costs more than the serialisation (for a page of products, 95 against 32 µs).
`RowsJson(Model)` derives a serializer from the model's own core schema, with each model turned
into a typed dict of the same fields and each enum into its values, so dicts (or asyncpg
records turned into dicts) serialise exactly as the validated models would: same names,
aliases, exclusions, formats of UUIDs, datetimes and numbers. The route keeps
`response_model=Model` for the OpenAPI document and returns `RowsJson.response(...)`.

What it cannot carry over it refuses when it is built, at import: a model with its own
serializer, a field serializer (which would receive a dict for `self`) or a computed field.
Keys a row has beyond the model's fields are left out, as the model would; a row missing a
field is a bug the differential tests of each route (against `Model.model_validate`) catch.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import SchemaSerializer

JSON_MEDIA_TYPE = "application/json"
# Schema keys that hold Python objects or the model's own options, never sub-schemas.
OPAQUE_KEYS = frozenset({"cls", "metadata", "serialization", "config", "custom_error_context"})


class UnsupportedRowModel(TypeError):
    """The model serialises through code that expects an instance of it."""


def row_schema(node: Any, owner: str) -> Any:
    """`node` of a core schema with models as typed dicts and enums as their values."""
    if isinstance(node, list):
        return [row_schema(item, owner) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "model":
        if "serialization" in node:
            raise UnsupportedRowModel(f"{owner}: {node['cls'].__name__} has its own serializer")
        return with_ref(row_schema(node["schema"], owner), node)
    if kind == "model-fields":
        if node.get("computed_fields"):
            raise UnsupportedRowModel(f"{owner}: computed fields need an instance")
        return {"type": "typed-dict", "fields": typed_dict_fields(node["fields"], owner)}
    if kind == "dataclass":
        raise UnsupportedRowModel(f"{owner}: a dataclass needs an instance")
    if kind == "enum":
        return with_ref({"type": node.get("sub_type") or "any"}, node)
    if node.get("serialization", {}).get("is_field_serializer"):
        raise UnsupportedRowModel(f"{owner}: a field serializer needs an instance")
    return {
        key: value if key in OPAQUE_KEYS else row_schema(value, owner)
        for key, value in node.items()
    }


def typed_dict_fields(fields: dict[str, Any], owner: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in fields.items():
        converted: dict[str, Any] = {
            "type": "typed-dict-field",
            "schema": row_schema(field["schema"], owner),
            "required": True,
        }
        for key in ("serialization_alias", "serialization_exclude"):
            if key in field:
                converted[key] = field[key]
        out[name] = converted
    return out


def with_ref(schema: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """Keep the definition's `ref`, so references to it elsewhere in the schema still resolve."""
    return {**schema, "ref": original["ref"]} if "ref" in original else schema


class RowsJson:
    """Serialises plain values (dicts, lists, UUIDs, datetimes) shaped like `model`."""

    __slots__ = ("model", "serializer")

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.serializer = SchemaSerializer(
            row_schema(model.__pydantic_core_schema__, model.__qualname__)
        )

    def dumps(self, content: dict[str, Any]) -> bytes:
        # By alias, as FastAPI writes a response model (`response_model_by_alias`).
        return self.serializer.to_json(content, by_alias=True)

    def response(self, content: dict[str, Any], status_code: int = 200) -> Response:
        return Response(self.dumps(content), status_code=status_code, media_type=JSON_MEDIA_TYPE)
