"""docs/licences.md names every third-party component we install or vendor."""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LICENCES = (ROOT / "docs" / "licences.md").read_text()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_closure(requirements_file: str) -> set[str]:
    """Every distribution a requirements file installs, its dependencies included (what is
    installed here, with the extras asked for)."""
    wanted: list[Requirement] = []
    for line in (ROOT / requirements_file).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            wanted.append(Requirement(line))
    found: dict[str, set[str]] = {}
    while wanted:
        requirement = wanted.pop()
        name, extras = _normal(requirement.name), set(requirement.extras)
        if name in found and extras <= found[name]:
            continue
        found[name] = found.get(name, set()) | extras
        for text in metadata.distribution(requirement.name).requires or []:
            dependency = Requirement(text)
            markers = [{"extra": extra} for extra in extras or {""}]
            if dependency.marker and not any(dependency.marker.evaluate(m) for m in markers):
                continue
            wanted.append(dependency)
    return set(found)


def _listed() -> set[str]:
    return {_normal(row.split("|")[1].strip()) for row in LICENCES.splitlines() if row[:2] == "| "}


def test_every_python_package_we_install_is_listed_with_its_licence():
    installed = (
        _installed_closure("requirements.txt")
        | _installed_closure("requirements-dev.txt")
        | _installed_closure("requirements-gpu.txt")
    )
    missing = sorted(installed - _listed())
    assert missing == [], f"add these to docs/licences.md: {missing}"


def test_every_vendored_folder_and_installed_program_is_listed():
    for folder in (ROOT / "static" / "vendor").iterdir():
        assert f"static/vendor/{folder.name}/" in LICENCES
    for package in re.findall(
        r"apt-get install -y -qq ([\w.+-]+)", (ROOT / "Makefile").read_text()
    ):
        assert package in LICENCES, package
    assert "MIT License" in (ROOT / "LICENSE").read_text()
