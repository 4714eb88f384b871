"""The engine layer: training, and nothing that shows it.

What lives here: the `Workload` protocol every training task provides (`workload`), the one
registry of task kinds (`kinds`), the built-in tasks as workloads (`builtin`: random and
teacher; `charlm`: the character language model), a task file loaded (`tasks`) and its own
param groups laid over every run (`paramgroups`), each epoch's batches drawn under the seed's
own random state (`seeding`) and fed to every run (`feed`), the stacked and sequential engines
that compute a step of every run (`engines`) and several of them as one, for runs added while a
comparison trains (`joined`), the fused optimizer step of every stacked run at once (`fused`)
and its formulas (`fusedlaws`), the stacked pass replayed as CUDA graphs where shapes stay put
(`capture`), a run's optimizer and schedule, and runs' optimizer steps grouped by kind
(`slot`), a schedule-free run's BatchNorm statistics recomputed at its averaged weights before
evaluation (`averaged`), the outbox that turns steps into event batches (`outbox`), the Trainer
that owns all torch state (`trainer`) and the commands it takes (`steering`), the Trainer in a
spawned process of its own (`child`), where to train (`device`), the LR range test
(`rangetest`), checkpoint files (`checkpoint`; where they live and their names, torch-free:
`checkpoint_files`), a run's training state as data (`runstate`) and
the Trainer that checkpoints and resumes (`resumable`), and control over a Unix socket for
attached apps (`control`).

May import: `lrtui.spec`, `lrtui.schedule` and torch. Never textual, never a layer above.
"""
