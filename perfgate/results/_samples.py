"""Raw samples as an immutable float64 vector that still reads like a tuple.

A suite of 10,000 benchmarks × 200 samples × 3 runs is 6 million values per
file; as Python floats they cost more than reading the file. :class:`Samples`
keeps them in one numpy array (the packed form decodes straight into it) and
behaves as a read-only ``Sequence[float]``: ``len``, indexing, iteration, and
equality with any sequence of numbers, so ``bench.samples == (1.0, 2.0)`` holds.
The judge computes on :attr:`Samples.array` for a whole suite at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["Samples"]

FloatArray = npt.NDArray[np.float64]


class Samples(Sequence[float]):
    """An immutable vector of raw samples (float64)."""

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[float] | FloatArray = ()) -> None:
        array = np.array(values, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError("samples must be a flat list of numbers")
        array.flags.writeable = False
        self._values: FloatArray = array

    @classmethod
    def from_le_bytes(cls, raw: bytes) -> Samples:
        """From little-endian float64 bytes, without copying them one by one."""
        made = cls.__new__(cls)
        array = np.frombuffer(raw, dtype="<f8").astype(np.float64, copy=False)
        array.flags.writeable = False
        made._values = array
        return made

    @property
    def array(self) -> FloatArray:
        """The values as a read-only numpy array (no copy)."""
        return self._values

    def tolist(self) -> list[float]:
        values: list[float] = self._values.tolist()
        return values

    def __len__(self) -> int:
        return int(self._values.shape[0])

    @overload
    def __getitem__(self, index: int) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> Samples: ...
    def __getitem__(self, index: int | slice) -> float | Samples:
        if isinstance(index, slice):
            return Samples(self._values[index])
        return float(self._values[index])

    def __iter__(self) -> Iterator[float]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Samples):
            return bool(np.array_equal(self._values, other._values))
        if isinstance(other, (tuple, list)):
            return len(other) == len(self) and self.tolist() == [float(v) for v in other]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values.tobytes())

    def __repr__(self) -> str:
        return f"Samples({self.tolist()!r})"

    # --- pydantic ---------------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda samples: samples.tolist(), when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "array", "items": {"type": "number"}}

    @classmethod
    def _validate(cls, value: Any) -> Samples:
        if isinstance(value, Samples):
            return value
        if isinstance(value, np.ndarray):
            return cls(value)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"samples must be a list of numbers, not {type(value).__name__}")
        for index, item in enumerate(value):
            # Strict: a string or a boolean is not a measurement.
            if type(item) not in (int, float) and not isinstance(item, np.floating):
                raise ValueError(f"sample {index} is {item!r}; samples must be numbers")
        return cls(value)
