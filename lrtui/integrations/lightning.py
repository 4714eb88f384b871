"""A Lightning `Callback` that records the run for `lrtui watch`.

    from lrtui.integrations.lightning import LrtuiCallback

    trainer = L.Trainer(max_epochs=10, callbacks=[LrtuiCallback("runs")])
    trainer.fit(model, train_loader, val_loader)   # meanwhile: lrtui watch runs/

It records every training step: the loss the step returned, the LR of every param group, the
epoch; `val_loss` after each validation; the planned LR curve and its regime marks (for a
scheduler stepped per step or per epoch); and the run's end, an error or Ctrl-C included. Only
global rank 0 records.

The run's length is the trainer's estimate of its optimizer steps (`max_steps` where it ends
the run first), and its epochs as many as those steps take: `max_steps=10` on 5 steps an epoch
is 2 epochs, not `max_epochs` (-1 or 1000 when only `max_steps` is given).
"""

from __future__ import annotations

from pathlib import Path

from lrtui.integrations.plan import epochs_of, optimizer_steps, planned
from lrtui.record.recorder import RunRecorder

try:
    import lightning as L
except ImportError:  # pragma: no cover - the error names what to install
    raise ImportError("lrtui.integrations.lightning needs lightning: pip install lightning") from None


def steps_per_epoch(trainer) -> int | None:
    """Optimizer steps an epoch of Lightning's Trainer (None for an endless loader: inf)."""
    batches = trainer.num_training_batches
    return optimizer_steps(batches if isinstance(batches, int) else None, trainer.accumulate_grad_batches)


def _loss(outputs):
    if isinstance(outputs, dict):
        return outputs.get("loss")
    return outputs


class LrtuiCallback(L.Callback):
    def __init__(
        self, log_dir: str | Path = "runs", name: str | None = None, val_key: str = "val_loss"
    ) -> None:
        self.log_dir, self.name, self.val_key = Path(log_dir), name, val_key
        self.recorder: RunRecorder | None = None

    def on_train_start(self, trainer, pl_module):
        if trainer.global_rank != 0:
            return
        total = int(trainer.estimated_stepping_batches)
        per_epoch = steps_per_epoch(trainer)
        name = self.name or type(pl_module).__name__
        configs = trainer.lr_scheduler_configs
        spec = type(configs[0].scheduler).__name__ if configs else "constant"
        self.recorder = RunRecorder(
            self.log_dir, name, spec=spec, total_steps=total, batches=per_epoch,
            epochs=epochs_of(total, per_epoch, trainer.max_epochs),
            config={"scheduler": spec, "optimizer": type(trainer.optimizers[0]).__name__},
        )  # fmt: skip
        self._plan(configs, total, per_epoch)  # optimizer steps an epoch, as `total` counts

    def _plan(self, configs, total: int, batches) -> None:
        if not configs or self.recorder is None:
            return
        config = configs[0]
        per_step = config.interval == "step"
        steps = total if per_step else max(1, total // max(1, int(batches or 1)))
        lrs, marks = planned(config.scheduler, steps)
        if lrs and not per_step:  # per epoch: each planned LR holds for an epoch's batches
            per = max(1, int(batches or 1))
            lrs = [lr for lr in lrs[:-1] for _ in range(per)] + lrs[-1:]
            marks = [(k * per, kind, label) for k, kind, label in marks]
        if lrs:
            self.recorder.plan(lrs, marks)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = _loss(outputs)
        if self.recorder is None or loss is None:
            return
        lrs = [g["lr"] for g in trainer.optimizers[0].param_groups] if trainer.optimizers else None
        self.recorder.log(trainer.global_step, epoch=trainer.current_epoch + 1, lr=lrs, loss=loss.detach())

    def on_validation_epoch_end(self, trainer, pl_module):
        value = trainer.callback_metrics.get(self.val_key)
        if self.recorder is not None and value is not None and not trainer.sanity_checking:
            self.recorder.log_eval(trainer.global_step, value, trainer.current_epoch + 1)

    def on_train_end(self, trainer, pl_module):
        if self.recorder is not None:
            self.recorder.finish("done")
            self.recorder = None

    def on_exception(self, trainer, pl_module, exception):
        if self.recorder is not None:
            stopped = isinstance(exception, KeyboardInterrupt)
            self.recorder.finish(
                "stopped" if stopped else "error", f"{type(exception).__name__}: {exception}"
            )
            self.recorder = None
