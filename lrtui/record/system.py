"""The machine's figures: CPU and RAM (psutil) and, where an NVIDIA driver is present, each GPU's
utilisation, memory, temperature and power (NVML, through nvidia-ml-py).

Sampled about once a second on a thread of its own, never the UI's. Both libraries are the
`system` extra (`pip install 'lrtui[system]'`); without them, or with NVML failing, the figures
say why in `note` instead of failing.
"""

from __future__ import annotations

import socket
import threading

from lrtui.spec.commands import Command, Verb
from lrtui.spec.events import GpuFigures, Sink, SystemFigures

EXTRA = "pip install 'lrtui[system]'"
GIB = 2**30
SAMPLE_SECONDS = 1.0


class _Nvml:
    """NVML opened once; `error` says why there are no GPU figures."""

    def __init__(self) -> None:
        self.handles: list = []
        self.error = ""
        try:
            import pynvml
        except ImportError:
            self.error = f"GPUs: nvidia-ml-py not installed ({EXTRA})"
            return
        self._nv = pynvml
        try:
            pynvml.nvmlInit()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception as exc:  # no driver, a failing driver: the view says so
            name = type(exc).__name__
            if name.endswith(("LibraryNotFound", "DriverNotLoaded")):
                self.error = "GPUs: no NVIDIA driver here"  # the common case, in a few words
            else:
                self.error = f"GPUs: NVML failed ({name}: {str(exc)[:80]})"

    def read(self) -> tuple[GpuFigures, ...]:
        nv, out = self._nv if self.handles else None, []
        for i, h in enumerate(self.handles):
            try:
                mem, util = nv.nvmlDeviceGetMemoryInfo(h), nv.nvmlDeviceGetUtilizationRates(h)
                temp = nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)
                power = nv.nvmlDeviceGetPowerUsage(h) / 1000
                name = nv.nvmlDeviceGetName(h)
                name = name.decode() if isinstance(name, bytes) else str(name)
                out.append(
                    GpuFigures(i, name, float(util.gpu), mem.used / GIB, mem.total / GIB, float(temp), power)
                )
            except Exception as exc:
                self.error = f"GPU {i}: NVML failed ({type(exc).__name__})"
        return tuple(out)


class SystemSampler:
    """Samples the machine into `sink` until stopped; `sample()` takes one reading."""

    def __init__(self, sink: Sink, every: float = SAMPLE_SECONDS, host: str | None = None) -> None:
        self._sink, self._every = sink, every
        self.host = host or socket.gethostname()
        self._stop = threading.Event()
        self._nvml: _Nvml | None = None
        try:
            import psutil

            self._psutil = psutil
            psutil.cpu_percent(None)  # the first reading starts the interval
        except ImportError:
            self._psutil = None

    def sample(self) -> SystemFigures:
        if self._nvml is None:
            self._nvml = _Nvml()
        notes = []
        cpu = ram = total = float("nan")
        if self._psutil is None:
            notes.append(f"CPU and RAM: psutil not installed ({EXTRA})")
        else:
            cpu = float(self._psutil.cpu_percent(None))
            vm = self._psutil.virtual_memory()
            ram, total = (vm.total - vm.available) / GIB, vm.total / GIB
        gpus = self._nvml.read()
        if self._nvml.error:
            notes.append(self._nvml.error)
        if self._psutil is None and "not installed" in self._nvml.error:
            notes = [f"CPU, RAM and GPU figures: {EXTRA}"]  # neither library: one short hint
        return SystemFigures(self.host, cpu, ram, total, gpus, "; ".join(notes))

    def run(self) -> None:
        while not self._stop.is_set():
            self._sink([self.sample()])
            self._stop.wait(self._every)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="lrtui-system", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def send(self, command: Command) -> None:
        """As a source beside the trainer: only `stop` means anything to a sampler."""
        if command.verb is Verb.STOP:
            self.stop()
