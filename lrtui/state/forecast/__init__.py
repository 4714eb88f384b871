"""The forecaster: each schedule's loss at the full budget, from the steps seen so far.

A loss law predicts a run's loss from its LR schedule alone; fitted jointly on the runs of a
comparison (one model, data and optimizer: schedules differ only through η_t), it predicts
the rest of each run, longer runs, and schedules never trained.

What lives here: a run as the forecaster sees it, its points and windowed loss (`curves`);
the `Law` protocol and the LR sums the laws share (`law`); the multi-power law
(`multipower`), the annealing law (`annealing`) and the convex-bound law (`bound`); their
registry (`laws`); the joint fit
and the predicted curve (`fit`); the per-step difficulty of the batches runs of one seed share,
taken out before a refit (`shared`); held-out scoring and the choice of law (`heldout`); the
schedule a fitted law likes best (`suggest`); the refit on its own thread while runs train
(`live`), and the runs ranked by where it says they will end (`standings`).

May import: numpy, and scipy inside `fit` (the `lrtui[forecast]` extra). Never torch, never
textual.
"""
