"""Error codes and field messages of taxonomies."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

TAXONOMY_CODE_TAKEN = define_error(
    "TAXONOMY_CODE_TAKEN",
    409,
    id="Kode {code} sudah dipakai untuk jenis {type}.",
    en="The code {code} is already used for the type {type}.",
    action="Ask for another code (the field `body.code`).",
)

CODE_TAKEN = Message("Kode ini sudah dipakai.", "This code is already used.")
PARENT_NOT_FOUND = Message(
    "Induk tidak ditemukan atau sudah diarsipkan.", "No such parent term, or it is archived."
)
PARENT_OTHER_TYPE = Message(
    "Induk harus berjenis {type} yang sama.", "The parent must be of the same type ({type})."
)
PARENT_CYCLE = Message(
    "Istilah tidak bisa menjadi induk dari dirinya sendiri atau leluhurnya.",
    "A term cannot become its own ancestor.",
)
