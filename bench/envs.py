"""One virtualenv per framework under bench/.venvs/, pinned, from PyPI."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .config import REPO_ROOT, Framework

STAMP = ".bench-stamp"


def _fingerprint(fw: Framework) -> str:
    """Changes when the pins (or, for ours, the project's metadata) change."""
    parts = [sys.version, *fw.requirements, str(fw.editable_repo)]
    if fw.editable_repo:
        parts.append((REPO_ROOT / "pyproject.toml").read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def is_ready(fw: Framework) -> bool:
    stamp = fw.venv / STAMP
    return fw.python.exists() and stamp.exists() and stamp.read_text() == _fingerprint(fw)


def _base_python() -> str:
    """The interpreter the venvs are built from: the one running the bench."""
    return getattr(sys, "_base_executable", None) or sys.executable


def create(fw: Framework, log: Path) -> None:
    """(Re)create the venv of `fw` and install its pinned requirements."""
    if fw.venv.exists():
        shutil.rmtree(fw.venv)
    fw.venv.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        subprocess.run([_base_python(), "-m", "venv", str(fw.venv)], check=True, stdout=out, stderr=subprocess.STDOUT)
        command = [str(fw.python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        if fw.editable_repo:
            command += ["-e", str(REPO_ROOT)]
        command += list(fw.requirements)
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    (fw.venv / STAMP).write_text(_fingerprint(fw))


def ensure_all(frameworks: list[Framework], log_dir: Path) -> dict[str, str]:
    """Create the missing venvs (in parallel); return name -> error for failures."""
    todo = [fw for fw in frameworks if not is_ready(fw)]
    failures: dict[str, str] = {}
    if not todo:
        return failures
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"[bench] creating venvs: {', '.join(fw.name for fw in todo)}", flush=True)

    def build(fw: Framework) -> tuple[str, str | None]:
        log = log_dir / f"install-{fw.name}.log"
        try:
            create(fw, log)
        except (subprocess.SubprocessError, OSError) as error:
            tail = log.read_text()[-2000:] if log.exists() else ""
            return fw.name, f"{error}\n{tail}"
        return fw.name, None

    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, error in pool.map(build, todo):
            if error is not None:
                print(f"[bench] venv {name} FAILED: {error}", flush=True)
                failures[name] = error
    return failures


def versions(fw: Framework) -> dict[str, str]:
    """Installed distributions of a venv (name -> version), for the record."""
    script = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    try:
        out = subprocess.run([str(fw.python), "-c", script], capture_output=True, text=True, timeout=60, check=True)
    except (subprocess.SubprocessError, OSError):
        return {}
    data: dict[str, str] = json.loads(out.stdout)
    return dict(sorted(data.items(), key=lambda kv: kv[0].lower()))
