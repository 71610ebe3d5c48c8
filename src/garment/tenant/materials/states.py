"""Units, movement kinds and reservation states of materials."""

from __future__ import annotations

from enum import StrEnum


class Unit(StrEnum):
    KG = "kg"
    M = "m"
    YARD = "yard"
    ROLL = "roll"
    PCS = "pcs"


class MovementKind(StrEnum):
    IN = "in"
    OUT = "out"
    ADJUST = "adjust"


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
