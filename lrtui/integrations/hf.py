"""A Hugging Face `TrainerCallback` that records the run for `lrtui watch`.

    from lrtui.integrations.hf import LrtuiCallback

    trainer = Trainer(model, args, train_dataset=train, eval_dataset=val,
                      callbacks=[LrtuiCallback("runs")])
    trainer.train()                       # meanwhile: lrtui watch runs/

It records every logged step (`logging_steps`): loss, the LR of every param group, the epoch;
each evaluation's `eval_loss`; the planned LR curve with the end of warm-up marked; and the
run's end. Only the main process records.

The run's length is the trainer's own: `state.max_steps` (set from `max_steps` when given, else
from the epochs), and its epochs as many as those steps take (`max_steps=30` on 30 steps an
epoch is 1 epoch, whatever `num_train_epochs` says). HF logs the epoch as the share completed
(0.33, 0.67, 1.0); the step that logs 1.0 is the last of epoch 1 (`logged_epoch`).
"""

from __future__ import annotations

from pathlib import Path

from lrtui.integrations.plan import epochs_of, optimizer_steps, planned
from lrtui.record.readers.tags import logged_epoch
from lrtui.record.recorder import RunRecorder

try:
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover - the error names the extra
    raise ImportError("lrtui.integrations.hf needs transformers: pip install 'lrtui[hf]'") from None


def _name(value: object) -> str:
    """An HF enum's own name for itself (`cosine`, not `SchedulerType.COSINE`)."""
    return str(getattr(value, "value", value))


def steps_per_epoch(args, train_dataloader) -> int | None:
    """Optimizer steps an epoch of HF's Trainer (None for a loader without a length)."""
    try:
        batches = len(train_dataloader)
    except TypeError:  # None, or an iterable dataset
        return None
    return optimizer_steps(batches, args.gradient_accumulation_steps)


class LrtuiCallback(TrainerCallback):
    def __init__(self, log_dir: str | Path = "runs", name: str | None = None) -> None:
        self.log_dir, self.name = Path(log_dir), name
        self.recorder: RunRecorder | None = None

    def on_train_begin(
        self, args, state, control, optimizer=None, lr_scheduler=None, train_dataloader=None, **kwargs
    ):
        if not state.is_world_process_zero:
            return
        total = max(0, int(state.max_steps or args.max_steps))  # the trainer's, else the one asked for
        per_epoch = steps_per_epoch(args, train_dataloader)
        name = self.name or args.run_name or Path(args.output_dir).name
        schedule = _name(args.lr_scheduler_type)
        config = {"scheduler": schedule, "lr": args.learning_rate, "seed": args.seed}
        config |= {"warmup_steps": args.get_warmup_steps(total), "optimizer": _name(args.optim)}
        self.recorder = RunRecorder(
            self.log_dir, name, spec=schedule, total_steps=total,
            epochs=epochs_of(total, per_epoch, int(getattr(state, "num_train_epochs", 0) or 0)),
            batches=per_epoch, config=config,
        )  # fmt: skip
        lrs, marks = planned(lr_scheduler, total) if lr_scheduler is not None else ([], [])
        warmup = args.get_warmup_steps(total)
        if warmup and not any(kind == "warmup" for _, kind, _ in marks):
            marks = sorted([*marks, (warmup, "warmup", "warm-up ends")])
        if lrs:
            self.recorder.plan(lrs, marks)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.recorder is None or not logs or "loss" not in logs:
            return
        epoch = logged_epoch(logs.get("epoch", state.epoch or 0), progress=True)
        self.recorder.log(state.global_step, epoch=epoch, lr=logs.get("learning_rate"), loss=logs["loss"])

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.recorder is not None and metrics and "eval_loss" in metrics:
            epoch = logged_epoch(state.epoch or 0, progress=True)
            self.recorder.log_eval(state.global_step, metrics["eval_loss"], epoch)

    def on_train_end(self, args, state, control, **kwargs):
        if self.recorder is not None:
            self.recorder.finish("done")
            self.recorder = None
