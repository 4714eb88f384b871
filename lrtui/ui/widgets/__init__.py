"""The app's widgets, each with its styles beside it: a run's panel (`panel`) and its lines as
text (`lines`), the sparklines (`spark`), the status bar (`statusbar`) and the machine's
figures (`machine`).
"""
