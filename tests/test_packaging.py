"""A plain `pip install .` ships every module, the default templates and the starter files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.sqlite_only  # builds the wheel; opens no database


def test_wheel_holds_every_module_and_template(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("newsletter-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(ROOT)) for p in (ROOT / "newsletter").rglob("*.py")}
    expected |= {"newsletter/" + str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.j2")}
    expected |= {
        "newsletter/starter_files/newsletter.example.toml",
        "newsletter/starter_files/subscribers.example.csv",
    }
    missing = sorted(expected - names)
    assert not missing, f"missing from the wheel (add the package to pyproject.toml): {missing}"
