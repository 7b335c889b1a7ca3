"""The validate-rubrics hook tried as a real pre-commit client in a throw-away repository.

pre-commit builds the hook's own virtual environment by pip-installing this
repository without extras, so this also proves the lean install: no torch, and
a model command run there answers with one line naming the extra to install.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = next((ROOT / "rubrics").glob("q08-*.yaml")).read_text(encoding="utf-8")


def _pre_commit() -> list[str]:
    exe = Path(sys.executable).with_name("pre-commit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pre-commit")
    if not found:
        pytest.skip("pre-commit is not installed (it is in the 'dev' extra)")
    return [found]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def client_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("client")
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "rubrics").mkdir()
    (repo / "rubrics" / "lr.yaml").write_text(GOOD, encoding="utf-8")
    (repo / "notes.yaml").write_text("not: [a rubric\n", encoding="utf-8")  # outside rubrics/: not checked
    _git(repo, "add", ".")
    return repo


def _try_repo(repo: Path, home: Path, *, all_files: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"PRE_COMMIT_HOME": str(home), "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(home)}
    for key in ("PIP_CONFIG_FILE", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if key in __import__("os").environ:
            env[key] = __import__("os").environ[key]
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(ROOT), "validate-rubrics", *(["--all-files"] if all_files else [])],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_hook_passes_good_and_fails_broken_with_location(client_repo, tmp_path_factory):
    home = tmp_path_factory.mktemp("pre-commit-home")
    ok = _try_repo(client_repo, home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "validate rubric files" in ok.stdout and "Passed" in ok.stdout

    broken = GOOD.replace("weight:", "weigth:", 1)
    (client_repo / "rubrics" / "lr.yaml").write_text(broken, encoding="utf-8")
    _git(client_repo, "add", ".")
    bad = _try_repo(client_repo, home)
    assert bad.returncode == 1
    line = broken.splitlines().index(next(s for s in broken.splitlines() if "weigth:" in s)) + 1
    assert f"rubrics/lr.yaml:{line}: unknown field 'weigth'" in bad.stdout, bad.stdout
    assert "Traceback" not in bad.stdout


def test_hook_checks_a_changed_file_against_the_whole_rubric_folder(tmp_path_factory):
    """pre-commit passes only the staged files: a new rubric reusing the id of a committed one must still fail."""
    repo = tmp_path_factory.mktemp("client-ids")
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "rubrics").mkdir()
    (repo / "rubrics" / "lr.yaml").write_text(GOOD, encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one rubric")
    (repo / "rubrics" / "lr-copy.yaml").write_text(GOOD, encoding="utf-8")  # the same question id, q8
    _git(repo, "add", ".")
    done = _try_repo(repo, tmp_path_factory.mktemp("pre-commit-home"), all_files=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rubrics/lr-copy.yaml:2: question id 'q8' is already used by" in done.stdout and "lr.yaml" in done.stdout, done.stdout


def test_lean_install_has_no_model_stack_and_says_which_extra(tmp_path):
    """What pre-commit installs for the hook: the package without extras. validate and draft-rubric work there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)], check=True, capture_output=True, timeout=600
    )
    site = next(venv.glob("lib/python*/site-packages"))
    assert not (site / "torch").exists() and not (site / "sentence_transformers").exists()
    assert (site / "pydantic").exists() and (site / "yaml").exists()
    grader = str(venv / "bin" / "grader")
    ok = subprocess.run([grader, "validate"], capture_output=True, text=True, cwd=tmp_path)  # the bundled rubrics
    assert ok.returncode == 0 and "12 rubric file(s) read, 0 error(s)" in ok.stdout, ok.stdout + ok.stderr
    out = subprocess.run([grader, "grade", "q1", "x"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "install the 'model' extra" in out.stderr, out.stderr
    drafted = tmp_path / "rubrics" / "salt.yaml"
    question, reference = "How did you separate the salt from the water?", "The water was evaporated, leaving the salt."
    out = subprocess.run(
        [grader, "draft-rubric", "--question", question, "--reference", reference, "--id", "salt", "-o", str(drafted)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "TODO translate" in out.stdout and "Traceback" not in out.stderr, out.stdout + out.stderr
    ok = subprocess.run([grader, "validate", str(drafted)], capture_output=True, text=True)
    assert ok.returncode == 0 and "1 rubric file(s) read, 0 error(s)" in ok.stdout, ok.stdout + ok.stderr
