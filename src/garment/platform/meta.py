"""`/api/v1/meta/*`: the machine-readable contracts a front end builds against."""

from __future__ import annotations

from pydantic import BaseModel, Field

from garment.platform.errors import registered_errors
from garment.platform.http.routing import Router

router = Router(prefix="/meta", tags=["meta"])


class LocalizedText(BaseModel):
    id: str
    en: str


class ErrorCatalogueEntry(BaseModel):
    code: str
    status: int
    title: str
    message: LocalizedText = Field(description="Templates; `{name}` parts are filled per error.")
    fe_action: str = Field(description="What the front end does when it receives this code.")


class ErrorCatalogue(BaseModel):
    data: list[ErrorCatalogueEntry]


def error_catalogue() -> ErrorCatalogue:
    return ErrorCatalogue(
        data=[
            ErrorCatalogueEntry(
                code=spec.code,
                status=spec.status,
                title=spec.title,
                message=LocalizedText(id=spec.message_id, en=spec.message_en),
                fe_action=spec.fe_action,
            )
            for spec in registered_errors()
        ]
    )


@router.get("/errors", response_model=ErrorCatalogue, summary="The error catalogue")
async def list_errors() -> ErrorCatalogue:
    return error_catalogue()
