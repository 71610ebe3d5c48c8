"""Garment defaults seeded into every new tenant (Indonesian and English labels)."""

from __future__ import annotations

# (type, code, label_id, label_en)
DEFAULT_TERMS: tuple[tuple[str, str, str, str], ...] = (
    ("category", "kaos", "Kaos", "T-shirt"),
    ("category", "kemeja", "Kemeja", "Shirt"),
    ("category", "polo", "Kaos Polo", "Polo shirt"),
    ("category", "celana", "Celana", "Trousers"),
    ("category", "jaket", "Jaket", "Jacket"),
    ("category", "hoodie", "Hoodie", "Hoodie"),
    ("category", "seragam", "Seragam", "Uniform"),
    ("category", "rok", "Rok", "Skirt"),
    ("size", "xs", "XS", "XS"),
    ("size", "s", "S", "S"),
    ("size", "m", "M", "M"),
    ("size", "l", "L", "L"),
    ("size", "xl", "XL", "XL"),
    ("size", "xxl", "XXL", "XXL"),
    ("size", "xxxl", "XXXL", "XXXL"),
    ("color", "hitam", "Hitam", "Black"),
    ("color", "putih", "Putih", "White"),
    ("color", "merah", "Merah", "Red"),
    ("color", "navy", "Biru Dongker", "Navy"),
    ("color", "abu", "Abu-abu", "Grey"),
    ("color", "hijau-army", "Hijau Army", "Army green"),
    ("color", "maroon", "Marun", "Maroon"),
    ("color", "kuning", "Kuning", "Yellow"),
    ("material", "cotton-combed-30s", "Katun Combed 30s", "Cotton Combed 30s"),
    ("material", "cotton-combed-24s", "Katun Combed 24s", "Cotton Combed 24s"),
    ("material", "fleece", "Fleece", "Fleece"),
    ("material", "drill", "Drill", "Drill"),
    ("material", "twill", "Twill", "Twill"),
    ("material", "lacoste", "Lacoste (Pique)", "Pique (Lacoste)"),
    ("material", "dry-fit", "Dry-Fit", "Dry-Fit"),
    ("material", "denim", "Denim", "Denim"),
)
