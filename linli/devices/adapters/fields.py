"""Typed reading of one JSON object (or XML element as a dict) that names the field path in every error.

Vendor payloads are read leniently (an XML number is text; firmware sends "75" or 75 alike); Linli's own generic
format is read strictly (a number must be a JSON number).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from .base import Quarantine, Reason, clip

_INT_RE = re.compile(r"[+-]?\d{1,18}|0[xX][0-9a-fA-F]{1,15}", re.ASCII)
_FLOAT_RE = re.compile(r"[+-]?(?:\d{1,18}(?:\.\d{0,18})?|\.\d{1,18})(?:[eE][+-]?\d{1,3})?", re.ASCII)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "null" if value is None else "list"
    )


class Obj:
    def __init__(self, data: dict[str, Any], where: str = "", *, lenient: bool = True):
        self.data = data
        self.where = where
        self.lenient = lenient

    @classmethod
    def of(cls, value: Any, where: str, *, lenient: bool = True) -> Obj:
        if not isinstance(value, dict):
            raise Quarantine.of(Reason.WRONG_TYPE, where or "payload", f"an object is expected, got {type_name(value)}")
        return cls(value, where, lenient=lenient)

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise Quarantine.of(Reason.MISSING_FIELD, self.path(key))
            return None
        return value

    def _wrong(self, key: str, expected: str, value: Any) -> Quarantine:
        return Quarantine.of(Reason.WRONG_TYPE, self.path(key), f"{expected} expected, got {type_name(value)}")

    def text(self, key: str, *, required: bool = False, max_len: int = 256) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if self.lenient and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        value = value.strip()
        if len(value) > max_len:
            raise Quarantine.of(Reason.STRING_TOO_LONG, self.path(key), f"{len(value)} > {max_len}")
        if not value and required:
            raise Quarantine.of(Reason.MISSING_FIELD, self.path(key))
        return value or None

    def integer(self, key: str, *, required: bool = False, lo: int | None = None, hi: int | None = None) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if self.lenient and isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            value = int(value.strip(), 0) if value.strip()[:2].lower() == "0x" else int(value.strip())
        if self.lenient and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer", value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise Quarantine.of(Reason.BAD_VALUE, self.path(key), f"{value} is outside {lo}..{hi}")
        return value

    def number(self, key: str, *, required: bool = False) -> float | None:
        value = self._get(key, required)
        if value is None:
            return None
        if self.lenient and isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
            value = float(value.strip())
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(key, "a number", value)
        if not math.isfinite(value):
            raise Quarantine.of(Reason.NUMBER_OUT_OF_RANGE, self.path(key))
        return float(value)

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if self.lenient and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            raise self._wrong(key, "a boolean", value)
        return value

    def choice(self, key: str, choices: dict[str, Any], *, default: Any = None) -> Any:
        """A value from a closed set (case-insensitive), mapped through choices."""
        value = self.text(key)
        if value is None:
            return default
        if value.lower() not in choices:
            raise Quarantine.of(Reason.BAD_VALUE, self.path(key), f"{clip(value)} is not one of {', '.join(choices)}")
        return choices[value.lower()]

    def obj(self, key: str, *, required: bool = False) -> Obj | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._wrong(key, "an object", value)
        return Obj(value, self.path(key), lenient=self.lenient)

    def child(self, key: str) -> Obj:
        """A required nested object."""
        value = self._get(key, True)
        if not isinstance(value, dict):
            raise self._wrong(key, "an object", value)
        return Obj(value, self.path(key), lenient=self.lenient)

    def items(self, key: str) -> list[Any]:
        """A list; leniently, one XML element where firmware may send one or many."""
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, list):
            return value
        if self.lenient and isinstance(value, dict):
            return [value]
        raise self._wrong(key, "an array", value)

    def objs(self, key: str) -> Iterator[Obj]:
        for i, item in enumerate(self.items(key)):
            yield Obj.of(item, f"{self.path(key)}[{i}]", lenient=self.lenient)

    def strings(self, key: str, *, max_items: int = 16, max_len: int = 64) -> list[str]:
        result: list[str] = []
        for i, item in enumerate(self.items(key)):
            if not isinstance(item, str):
                raise self._wrong(f"{key}[{i}]", "a string", item)
            if len(item) > max_len:
                raise Quarantine.of(Reason.STRING_TOO_LONG, f"{self.path(key)}[{i}]")
            result.append(item)
        if len(result) > max_items:
            raise Quarantine.of(Reason.BAD_VALUE, self.path(key), f"at most {max_items} items")
        return result
