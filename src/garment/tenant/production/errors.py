"""Error codes and field messages of production, makloon and borongan wages."""

from __future__ import annotations

from garment.platform.errors import define_error
from garment.platform.i18n import Message

PIECES_EXCEED_AVAILABLE = define_error(
    "PIECES_EXCEED_AVAILABLE",
    422,
    id="Tahap {stage} ukuran {size} hanya punya {available} potong, diminta {requested}.",
    en="Stage {stage}, size {size} has only {available} pieces; {requested} requested.",
    action="Show the available pieces of the stage and size; let the user lower the count.",
)
PRODUCTION_ALREADY_STARTED = define_error(
    "PRODUCTION_ALREADY_STARTED",
    409,
    id="Pesanan ini sudah masuk produksi.",
    en="This order is already in production.",
    action="Open the order's production jobs instead.",
)
JOB_CLOSED = define_error(
    "JOB_CLOSED",
    409,
    id="Pekerjaan produksi ini sudah selesai.",
    en="This production job is already finished.",
    action="Refresh the board; the job is done.",
)
MAKLOON_RETURN_EXCEEDS = define_error(
    "MAKLOON_RETURN_EXCEEDS",
    422,
    id="Ukuran {size}: mitra hanya memegang {balance} potong, dilaporkan {requested}.",
    en="Size {size}: the partner holds only {balance} pieces; {requested} reported.",
    action="Show the partner's balance for the size; let the user correct the counts.",
)
MAKLOON_MATERIAL_EXCEEDS = define_error(
    "MAKLOON_MATERIAL_EXCEEDS",
    422,
    id="Bahan {material_id}: mitra hanya memegang {balance} {unit}, dilaporkan {requested}.",
    en="Material {material_id}: the partner holds only {balance} {unit}; {requested} reported.",
    action="Show the partner's balance of the material; let the user correct the quantities.",
)
WAGE_PERIOD_LOCKED = define_error(
    "WAGE_PERIOD_LOCKED",
    409,
    id="Periode upah {period} sudah dikunci.",
    en="The wage period {period} is locked.",
    action="Say the period is locked; changes go into an open period.",
)
WAGE_PERIOD_OVERLAPS = define_error(
    "WAGE_PERIOD_OVERLAPS",
    409,
    id="Periode upah bertumpang tindih dengan periode lain.",
    en="The wage period overlaps another period.",
    action="Choose dates outside the existing periods.",
)

UNKNOWN_STAGE = Message(
    "Tahap {stage} tidak ada di alur pekerjaan ini.",
    "The stage {stage} is not in this job's routing.",
)
UNKNOWN_JOB_SIZE = Message(
    "Ukuran {size} tidak ada di pekerjaan ini.", "The size {size} is not in this job."
)
FIRST_STAGE_ONLY = Message(
    "Potongan masuk hanya dicatat di tahap pertama ({stage}); tahap lain menerima dari tahap "
    "sebelumnya.",
    "Pieces enter only at the first stage ({stage}); later stages receive from the one before.",
)
REASON_REQUIRED = Message("Alasan tolak wajib diisi.", "A reject needs a reason code.")
REWORK_TARGET_REQUIRED = Message(
    "Tahap tujuan pengerjaan ulang wajib diisi.", "Rework needs the stage to go back to."
)
REWORK_NOT_EARLIER = Message(
    "Pengerjaan ulang hanya ke tahap ini atau sebelumnya.",
    "Rework goes back to this stage or an earlier one.",
)
ONLY_FOR_REWORK = Message("Hanya untuk pengerjaan ulang.", "Only for rework.")
MATERIALS_AT_CUTTING = Message(
    "Pemakaian bahan dicatat saat potong keluar dari tahap pertama.",
    "Material use is recorded with pieces out of the first stage (cutting).",
)
DUPLICATE_STAGES = Message("Tahap {codes} disebut lebih dari sekali.", "Stages repeated: {codes}.")
TARGET_REQUIRED = Message(
    "Produk atau kategori wajib untuk alur selain default.",
    "A product or category routing needs its target.",
)
TARGET_NOT_ALLOWED = Message(
    "Alur default tidak punya target.", "The default routing has no target."
)
UNKNOWN_TARGET = Message("Target tidak ditemukan.", "The target was not found.")
ROUTING_EXISTS = Message(
    "Alur untuk target ini sudah ada; ubah yang ada.",
    "A routing for this target exists; change that one.",
)
UNKNOWN_PARTNER = Message("Mitra makloon tidak ditemukan.", "The makloon partner was not found.")
UNKNOWN_JOB = Message("Pekerjaan produksi tidak ditemukan.", "The production job was not found.")
NOT_IN_DISPATCH = Message(
    "Ukuran {size} tidak dikirim pada makloon ini.", "Size {size} was not sent in this dispatch."
)
EMPTY_DISPATCH = Message(
    "Kirim paling sedikit satu ukuran atau satu bahan.", "Send at least one size or material."
)
UNKNOWN_MATERIAL = Message("Bahan tidak ditemukan.", "The material was not found.")
REPEATED_MATERIAL = Message(
    "Bahan ini disebut lebih dari sekali.", "This material is listed more than once."
)
NOT_IN_DISPATCH_MATERIAL = Message(
    "Bahan ini tidak dikirim pada makloon ini.", "This material was not sent in this dispatch."
)
EMPTY_COUNTS = Message("Isi paling sedikit satu jumlah.", "Give at least one count.")
IN_THE_FUTURE = Message(
    "Waktu kerja tidak boleh di masa depan.", "The time the work was done is in the future."
)
ONE_TARGET = Message(
    "Pilih produk atau kategori, bukan keduanya.", "Give a product or a category, not both."
)
