"""Build hook: ship the top-level rubrics/ inside the wheel as grader/bundled_rubrics/.

The repository keeps the 12 rubrics at the top level (where authors and the
pre-commit hooks find them); an installed package finds them next to its code.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRubrics(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "grader" / "bundled_rubrics"
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(Path(__file__).parent.joinpath("rubrics").glob("*.yaml")):
            (target / src.name).write_bytes(src.read_bytes())


setup(cmdclass={"build_py": BuildWithRubrics})
