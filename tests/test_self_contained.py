"""The repository is self-contained: no test, script or module reads the reference samples beside it.

CI clones the repository next to a copy of ``shared/``, so a test that reads ``../shared/data`` would pass
there and fail in a plain clone; this test finds such a path before it lands.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Paths that climb out of the repository to the shared samples, in any spelling the code could use.
OUTSIDE_PATTERNS = (
    re.compile(r"""["']shared["']\s*/\s*["']data["']"""),
    re.compile(r"\.\./shared\b"),
    re.compile(r"/work/shared\b"),
)
SCANNED_SUFFIXES = {".py", ".sh", ".toml", ".cfg", ".ini", ".yml", ".yaml"}
SKIPPED_FOLDERS = {".venv", ".git", "data", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _repository_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if relative.parts and relative.parts[0] in SKIPPED_FOLDERS:
            continue
        if path.is_file() and (path.suffix in SCANNED_SUFFIXES or path.name in {"Makefile", "Dockerfile", "run"}):
            files.append(path)
    return files


def test_no_file_reads_the_shared_samples_outside_the_repository() -> None:
    this_file = Path(__file__).resolve()
    offenders = [
        f"{path.relative_to(ROOT)}: {pattern.pattern}"
        for path in _repository_files()
        if path.resolve() != this_file
        for pattern in OUTSIDE_PATTERNS
        if pattern.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert len(_repository_files()) > 50  # the scan really looked at the code
    assert offenders == []


def test_the_korean_sample_the_import_tests_read_is_in_the_repository() -> None:
    sample = ROOT / "tests" / "imports" / "data" / "ko_customers_cp949.csv"
    header = sample.read_bytes().decode("cp949").splitlines()[0]
    assert header == "이름,연락처,생년월일,성별,메모"  # name, phone, birth date, gender, memo
