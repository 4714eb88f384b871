"""`python -m lrtui.bench`: how fast lrtui compares schedulers, and what watching costs
(about a minute and a half; `--full` for the long version).

Each part runs in a process of its own (so peak memory is its own), on the seed experiment
unless told otherwise, and the figures are printed side by side with their ratios:

- tutorial: the tutorial's loop, plain PyTorch, training the runs one after another;
- headless: the lrtui engine without a UI (`lrtui --headless`'s training);
- app: the full Textual app under its headless driver, with key presses during training
  (latency from a key press until the screen shows its effect);
- history: the memory one run's display history holds after 1,000,000 steps.

The parts live in `parts` (training), `appdrive` (the app driven by keys), `many` (many runs
and files), `ownmodel` (your own model against plain loops), `steps` (the trainer's step
time split by phase, fused and unfused), `capture` (one stacked step torch's way, fused, and
captured as CUDA graphs, `--capture`), `processes` (on a GPU, `--own`'s plain loops in one
process each, all at once), `checkpoint` (what a checkpoint of a comparison costs:
`python -m lrtui.bench.checkpoint`), `detach` (a recording live comparison's first screen,
and training's gap at `d`: `python -m lrtui.bench.detach`), `added` (what a run added
mid-comparison, the app's `N`, costs training: `python -m lrtui.bench.added`), `tb` (TensorBoard runs),
`wandb_run` (a W&B offline run, `--wandb`; both watched, exported and printed by
`log_read`), `forecast` (the loss laws'
held-out errors on charlm, `--forecast`; its chart drawn by `forecast_chart`, the
suggestion it prints trained and set beside the runs by `forecast_tried`, the laws' order of
preference measured by `forecast_order`) and
`report` (running each part in its own process and printing the figures).

`--sync-check` runs the trainer on CUDA with torch's sync debug mode and counts host-device
synchronisations per training step (needs a GPU).
"""
