"""The engine layer: training, and nothing that shows it.

What lives here: the `Workload` protocol every training task provides (`workload`), the
built-in tasks as workloads (`builtin`), the stacked and sequential engines that compute a step
of every run (`engines`), the outbox that turns steps into event batches (`outbox`) and the
Trainer thread that owns all torch state and takes commands (`trainer`).

May import: `lrtui.spec`, `lrtui.schedule` and torch. Never textual, never a layer above.
"""
