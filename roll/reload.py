"""`python -m roll module:app --reload`: restart the server when code changes.

The parent process never imports the app: it runs the server as a child
process (`python -m roll` with the same arguments, minus `--reload`), watches
the Python files under the app's directory with watchfiles (the optional
`reload` extra), and on a change stops the child (SIGTERM: a graceful
shutdown) and starts a new one, which imports the new code.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

# Rust-side debounce (ms): an editor's save is often several writes.
DEBOUNCE = 300


def app_directory(target: str) -> Path:
    """The directory of the app's top-level module (or package)."""
    top = target.partition(":")[0].split(".")[0]
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        raise SystemExit(f"Cannot find the module {top!r} to watch")
    return Path(spec.origin).parent  # a package's own directory, or the module's


def child_arguments(argv: Sequence[str]) -> list[str]:
    return [argument for argument in argv if argument != "--reload"]


class Reloader:
    def __init__(self, argv: Sequence[str], directory: Path, grace: float) -> None:
        self.command = [sys.executable, "-m", "roll", *child_arguments(argv)]
        self.directory = directory
        self.grace = grace
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()

    def start(self) -> None:
        self.child = subprocess.Popen(self.command)

    def stop_child(self) -> None:
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(self.grace + 5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        try:
            from watchfiles import PythonFilter, watch
        except ImportError:
            raise SystemExit(
                "--reload needs watchfiles: pip install 'roll-typed[reload]'"
            ) from None
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        print(f"Watching {self.directory} for changes", file=sys.stderr, flush=True)
        self.start()
        try:
            for changes in watch(
                self.directory,
                watch_filter=PythonFilter(),
                debounce=DEBOUNCE,
                stop_event=self.stopping,
                raise_interrupt=False,
            ):
                names = ", ".join(sorted({Path(path).name for _, path in changes}))
                print(f"Changed: {names}; restarting", file=sys.stderr, flush=True)
                self.stop_child()
                self.start()
        finally:
            self.stop_child()
        return 0


def reload(target: str, argv: Sequence[str], grace: float) -> int:
    return Reloader(argv, app_directory(target), grace).run()
