"""Start, watch and always stop the servers under test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from .config import APPS_DIR, HOST, Framework


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on the loopback address now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def process_rss(pid: int) -> int:
    """VmRSS of a process, in bytes (0 if it has none: a zombie)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class ServerError(RuntimeError):
    pass


class Server:
    """One server process, pinned to one CPU, in its own process group."""

    def __init__(self, fw: Framework, port: int, cpu: int, log_dir: Path) -> None:
        self.fw = fw
        self.port = port
        self.cpu = cpu
        self.log_path = log_dir / f"server-{fw.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(
        self,
        ready_timeout: float = 30.0,
        python_args: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """Start and wait until it accepts connections; `python_args` go
        between the interpreter and the script (e.g. `-m cProfile -o F`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTHONPATH", None)
        env.update(extra_env or {})
        with self.log_path.open("wb") as log:
            # taskset execs the interpreter: the pid is the server's own.
            self.proc = subprocess.Popen(
                ["taskset", "-c", str(self.cpu), str(self.fw.python), *python_args, str(self.fw.script), HOST, str(self.port)],
                cwd=APPS_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.fw.name} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise ServerError(f"{self.fw.name} not listening on {HOST}:{self.port} after {ready_timeout}s: {self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def peak_rss_mib(self) -> float | None:
        """VmHWM (peak resident set size) of the server process."""
        if not self.alive() or self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server has used so far."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        # After the ")": state is field 3, so utime (14) and stime (15) are [11] and [12].
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_tail(self, size: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        # The group may hold children (none expected): make sure they go too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class ServerPool:
    """Context manager: every server started through it is stopped on exit,
    also on Ctrl-C, SIGTERM or an error."""

    def __init__(self) -> None:
        self.servers: list[Server] = []
        self._previous: object = None

    def add(self, server: Server) -> Server:
        self.servers.append(server)
        return server

    def __enter__(self) -> ServerPool:
        def on_term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous = signal.signal(signal.SIGTERM, on_term)
        return self

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()
        signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]
