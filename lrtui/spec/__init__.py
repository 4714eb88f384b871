"""The bottom layer: plain data that every other layer shares, and nothing that computes.

What lives here: the experiment (`experiment`), the settings as given (`settings`) and the
checks of their values (`values`), the safe spec parser (`parse`), the one user-facing error
(`errors`), the event vocabulary (`events`), the command vocabulary (`commands`), the
finiteness rule (`numbers`), the one loss smoothing (`smoothing`), the names of the built-in
choices (`choices`), a run's description for panels and files (`describe`), the one rule for
text from outside (`text`), what a closed standard output means (`pipe`), how lrtui starts
itself in another process (`launch`) and how often something recurs (`cadence`).

May import: the standard library only. Never torch, never textual: `lrtui watch`, `lrtui
export` and `lrtui --help` stand on this layer without either.
"""
