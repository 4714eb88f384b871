"""The app attached to a comparison that trains in another process (`lrtui attach DIR`), and
the app of the terminal that started one (`lrtui --log-dir DIR`, `lrtui resume DIR`).

Every key works as in the live app; `d` detaches (the app ends, training goes on), and `q`
asks which is meant: stop training, or only detach. A terminal that goes away (SIGHUP) or a
SIGTERM detaches: only a person's choice stops a comparison that outlives its terminals. So
does an app that ends any other way: a browser tab closed under `lrtui serve` (textual-serve
tells the app to exit), or an error.

The terminal that started the comparison (`StartedApp`) knows what `q` means: it started
training, so `q` (and SIGTERM, as in a live app) stops it without a question, and so does an
error of the app's (told in one line, not trained on out of sight); `d` and a hang-up detach.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from lrtui.ui.app import LrTuiApp


class StopOrDetach(ModalScreen[str]):
    """`q` in an attached app: stop training, or only detach."""

    DEFAULT_CSS = """
    StopOrDetach { align: center middle; }
    StopOrDetach > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: round $warning; background: $panel;
    }
    """
    BINDINGS = [
        Binding("s", "dismiss('stop')", "Stop training"),
        Binding("d", "dismiss('detach')", "Detach"),
        Binding("escape", "dismiss('')", "Back"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Quit: stop training, or only detach?[/b]")
            yield Static("s  stop every run (the logs and checkpoints stay)")
            yield Static("d  detach: training goes on; lrtui attach again later")
            yield Static("Esc  back to the comparison")


class AttachedApp(LrTuiApp):
    """`LrTuiApp` over an `engine.control.AttachedSource`."""

    BINDINGS = [Binding("d", "detach", "Detach"), Binding("q", "ask_quit", "Quit")]
    QUIT_KEYS = "q: stop training or only detach (it asks) · d: detach, training goes on"

    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's binding: it quits nothing, it names the key that does): here two
        keys leave, and what each does to training is what matters."""
        self.notify(self.QUIT_KEYS, title="Do you want to quit?", markup=False)

    def action_detach(self) -> None:
        self.source.detach()  # type: ignore[union-attr]
        self.exit(0)

    async def action_quit(self) -> None:  # a signal (SIGTERM, a hang-up): detach
        self.action_detach()

    def on_unmount(self) -> None:
        """Ending without `s` chosen leaves training as it is: the source is left before
        `LrTuiApp.on_unmount` (Textual calls it next, along the MRO) would tell it to stop."""
        source = self.source
        if source is not None and not source.stopped:  # type: ignore[attr-defined]
            source.detach()  # type: ignore[attr-defined]

    @property
    def all_finished(self) -> bool:
        """Every run has ended: nothing trains, and the trainer ends once no app is attached."""
        return self.state.ended()

    def action_ask_quit(self) -> None:
        source = self.source
        if source is not None and (source.ended or source.gone or self.all_finished):  # type: ignore[attr-defined]
            self.exit(0)  # no training left to stop or to leave going: nothing to ask
            return
        self.push_screen(StopOrDetach(), self._chosen)

    def _chosen(self, choice: str | None) -> None:
        if choice == "stop":
            self.stop_source()
            self.exit(0)
        elif choice == "detach":
            self.action_detach()


class StartedApp(AttachedApp):
    """`AttachedApp` in the terminal that started the comparison: `q` stops training."""

    BINDINGS = [Binding("q", "quit", "Quit")]
    QUIT_KEYS = "q: stop training and quit · d: detach, training goes on (lrtui attach DIR)"

    async def action_quit(self) -> None:  # `q`, SIGTERM, and a hang-up (its flag set first)
        if self.hung_up.is_set():
            self.action_detach()
            return
        self.stop_source()
        self.exit(0)

    def stop_source(self) -> None:
        """Stop training, unless the terminal went away (the hang-up guard asks this too, of
        an app whose loop could not quit by itself): then only detach. An app that failed
        stops training whatever became of its terminal: its error is told, not trained on."""
        if self.hung_up.is_set() and self.failure is None:
            self.source.detach()  # type: ignore[union-attr]  # then told to stop, it ignores it
        super().stop_source()  # and the machine's figures stop

    def on_unmount(self) -> None:
        """An app that ends by an error stops training before `AttachedApp.on_unmount`
        (Textual calls it next) would only leave it."""
        if self.failure is not None and self.source is not None:
            self.stop_source()
