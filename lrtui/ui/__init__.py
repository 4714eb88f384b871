"""The UI layer: the Textual app, its screens and widgets, and the key list they share.

What lives here: the app, which drains event batches from its source into state on a timer
and redraws what changed (`app`), the app attached to training in a process of its own, whose
`q` asks stop or detach, or stops it in the terminal that started it (`attached`), the live app
of training in this process, whose `d` says how to start one that detaches (`liveapp`), the
panel grid (`grid`), every key once (`keys`), the command's exit code and one-line error from
how the app ended (`exitcode`), the signals it answers (`signals`), the live LR range test
(`find`), the `plan` preview (`plan`), the live forecast handed to the panels and shown
by `F` (`forecasting`), the screens (`screens`) and widgets (`widgets`).
Each widget's styles sit beside it; `lrtui.tcss` holds the layout.

May import: `lrtui.spec`, `lrtui.state` and textual. Never torch: the app shows a trainer and a
watched directory through the same `Source` protocol.
"""
