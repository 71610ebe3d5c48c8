"""`RowsJson(Model)` writes plain rows exactly as the validated models would be written
(garment.platform.http.rows): the list routes depend on it to skip building models."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, Field, computed_field, field_serializer, model_serializer

from garment.platform.http.rows import RowsJson, UnsupportedRowModel
from garment.platform.pagination import PageMeta
from garment.tenant.products.schemas import ProductList
from garment.tenant.products.service import product_fields
from garment.tenant.taxonomies.schemas import TermList


class Colour(StrEnum):
    BLACK = "hitam"
    WHITE = "putih"


class Size(BaseModel):
    code: str
    surcharge: int


class Item(BaseModel):
    id: uuid.UUID
    colour: Colour
    sizes: list[Size]
    note: str | None
    secret: str = Field(exclude=True)
    shown_as: int = Field(serialization_alias="shownAs")
    at: datetime


class ItemPage(BaseModel):
    data: list[Item]
    meta: PageMeta


class Node(BaseModel):
    name: str
    children: list[Node]


def item_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.UUID("6f1c3f3e-6b7e-4c2a-9a57-0d3f6f0e4b11"),
        "colour": "hitam",
        "sizes": [{"code": "S", "surcharge": 0}, {"code": "XXL", "surcharge": 10_000}],
        "note": None,
        "secret": "never shown",
        "shown_as": 7,
        "at": datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=UTC),
    }
    return row | changes


def as_validated(model: type[BaseModel], content: dict[str, Any]) -> bytes:
    return model.model_validate(content).model_dump_json(by_alias=True).encode()


def test_rows_are_written_byte_for_byte_as_the_validated_models() -> None:
    page = {
        "data": [item_row(), item_row(colour="putih", note="kerah", shown_as=8)],
        "meta": {"next_cursor": "abc", "limit": 2},
    }
    assert RowsJson(ItemPage).dumps(page) == as_validated(ItemPage, page)


def test_excluded_fields_stay_out_and_aliases_are_used() -> None:
    written = json.loads(RowsJson(ItemPage).dumps({"data": [item_row()], "meta": META}))
    assert "secret" not in written["data"][0]
    assert written["data"][0]["shownAs"] == 7 and "shown_as" not in written["data"][0]


def test_keys_beyond_the_model_are_left_out_as_the_model_would() -> None:
    written = json.loads(
        RowsJson(ItemPage).dumps({"data": [item_row(tenant_id="x")], "meta": META})
    )
    assert "tenant_id" not in written["data"][0]


def test_a_model_referring_to_itself_is_written_through_its_definition() -> None:
    tree = {"name": "root", "children": [{"name": "leaf", "children": []}]}
    assert RowsJson(Node).dumps(tree) == as_validated(Node, tree)


def test_the_product_page_is_written_as_its_models_would_be() -> None:
    moment = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)
    row = {
        "id": uuid.uuid4(),
        "sku": "KAOS-CC30S",
        "name": "Kaos Polos Cotton Combed 30s",
        "category_id": uuid.uuid4(),
        "collection_id": None,
        "description": None,
        "base_price": 45_000,
        "status": "active",
        "image_urls": ["https://cdn.example/kaos.png"],
        "sizes": ["S", "M", "XXL"],
        "size_surcharges": [0, 0, 5_000],
        "colors": ["hitam", "putih"],
        "variant_count": 6,
        "version": 3,
        "created_at": moment,
        "updated_at": moment,
    }
    page = {"data": [product_fields(row)], "meta": {"next_cursor": None, "limit": 20}}
    assert RowsJson(ProductList).dumps(page) == as_validated(ProductList, page)


def test_the_term_page_is_written_as_its_models_would_be() -> None:
    term = {
        "id": uuid.uuid4(),
        "type": "size",
        "code": "xl",
        "parent_id": None,
        "label_id": "XL",
        "label_en": "XL",
        "sort_order": 4,
        "archived": False,
        "version": 1,
    }
    page = {"data": [term], "meta": {"next_cursor": "n", "limit": 1}}
    assert RowsJson(TermList).dumps(page) == as_validated(TermList, page)


def test_the_response_is_json_with_the_status_asked_for() -> None:
    response = RowsJson(Node).response({"name": "n", "children": []}, status_code=201)
    assert response.status_code == 201
    assert response.media_type == "application/json"
    assert response.body == b'{"name":"n","children":[]}'


class OwnSerializer(BaseModel):
    value: int

    @model_serializer
    def written(self) -> dict[str, int]:
        return {"v": self.value}


class FieldSerializer(BaseModel):
    value: int

    @field_serializer("value")
    def doubled(self, value: int) -> int:
        return value * 2


class Computed(BaseModel):
    value: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def twice(self) -> int:
        return self.value * 2


class Holder(BaseModel):
    inner: list[FieldSerializer]


@pytest.mark.parametrize("model", [OwnSerializer, FieldSerializer, Computed, Holder])
def test_models_that_need_an_instance_to_serialise_are_refused(model: type[BaseModel]) -> None:
    with pytest.raises(UnsupportedRowModel):
        RowsJson(model)


META = {"next_cursor": None, "limit": 20}
