"""The bottom layer: plain data that every other layer shares, and nothing that computes.

What lives here: the experiment (`experiment`), the safe spec parser (`parse`), the one
user-facing error (`errors`), the event vocabulary (`events`), the command vocabulary
(`commands`), the finiteness rule (`numbers`), the names of the built-in choices (`choices`)
and a run's description for panels and files (`describe`).

May import: the standard library only. Never torch, never textual: `lrtui watch`, `lrtui
export` and `lrtui --help` stand on this layer without either.
"""
