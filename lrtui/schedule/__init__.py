"""The schedule layer: which schedules and optimizers exist, and how a spec becomes one.

What lives here: the registry of torch's schedulers read from the installed torch and the
checks a spec passes against their signatures (`registry`, `annotations`), the ranges a
parameter may take (`ranges`), named LR factors (`factors`), Hugging Face's schedules
(`hf`), the optimizer kinds (`optimizers`), presets (`presets`), building a schedule with its
regime watch and stepping it (`build`: `Watched.step`), ReduceLROnPlateau inside composers
(`composite`), regime marks (`regimes`), the planned curve (`plan`), a built schedule's state
for checkpoints (`state`) and a run added while a comparison trains (`added`).

May import: `lrtui.spec` and torch. Never textual, and never a layer above.
"""
