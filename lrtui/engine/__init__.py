"""The engine layer: training, and nothing that shows it.

What lives here: the `Workload` protocol every training task provides (`workload`), the one
registry of task kinds (`kinds`), the built-in tasks as workloads (`builtin`: random and
teacher; `charlm`: the character language model), a task file loaded (`tasks`), each epoch's
batches drawn under the seed's own random state (`seeding`) and fed to every run (`feed`), the
stacked and sequential engines that compute a step of every run (`engines`), a run's optimizer
and schedule (`slot`), the outbox that turns steps into event batches (`outbox`), the Trainer
that owns all torch state and takes commands (`trainer`), the Trainer in a spawned process of
its own (`child`), where to train (`device`) and the LR range test (`rangetest`).

May import: `lrtui.spec`, `lrtui.schedule` and torch. Never textual, never a layer above.
"""
