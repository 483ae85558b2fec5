"""The lab: the game's window onto the model, in the spirit of a chat UI for a language model.

Take the current fight's state (or any input block), edit it, and watch the model's answer appear
token by token with each token's probability, beside the rules' answer and the field diff. One
field at a time can be nudged (F6 selects the next number, F7/F8 lower/raise it) or the block given
a label perturbation (F9) to see where the model breaks. A block the strict parser rejects is shown
with the parser's error; the model is then asked anyway (ungated), since that is what the lab is for.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from game.combat.envelope import check_case
from game.combat.format import FormatError, encode_answer, parse_answer, parse_input
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.validate import diff, involved_rules

Stream = Callable[[str], Iterator[tuple[str, float, bool]]]
_NUMBER = re.compile(r"\d+")
_LABEL_PERTURBATIONS = (("hp", "hq"), (" pw", " pow"), (" ar", " arm"), (" do ", " act "), (" cd", " cd cd"))


def token_style(prob: float, forced: bool) -> str:
    if forced:
        return "grey50"
    if prob >= 0.9:
        return "green"
    if prob >= 0.5:
        return "yellow"
    return "bold red"


def nudge(block: str, index: int, delta: int) -> str:
    """Change the index-th number of the block by delta, keeping its width (wrapping inside it)."""
    spans = list(_NUMBER.finditer(block))
    if not spans:
        return block
    m = spans[index % len(spans)]
    width = len(m.group())
    value = (int(m.group()) + delta) % (10 ** width)
    return block[:m.start()] + f"{value:0{width}d}" + block[m.end():]


class LabScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "run", "Ask"),
        Binding("f6", "next_field", "Field"),
        Binding("f7", "nudge(-1)", "-1"),
        Binding("f8", "nudge(1)", "+1"),
        Binding("f9", "perturb", "Perturb"),
        Binding("f10", "sample", "Sample"),
    ]

    def __init__(self, block: str, rules: Ruleset, stream: Stream | None, model_note: str,
                 sampler: Callable[[random.Random], str] | None = None) -> None:
        super().__init__()
        self.rules = rules
        self.stream = stream
        self.model_note = model_note
        self.sampler = sampler
        self.rng = random.Random(0)
        self.field = 0
        self.start_block = block
        self.tokens: list[tuple[str, float, bool]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="lab-title")
        yield Input(self.start_block, id="lab-input")
        yield Static(id="lab-check")
        with Horizontal(id="lab-answers"):
            with VerticalScroll(id="lab-model-box"):
                yield Static(id="lab-model")
            with VerticalScroll(id="lab-rules-box"):
                yield Static(id="lab-rules")
        yield Static(id="lab-diff")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#lab-title", Static).update(
            Text.assemble(("The lab", "bold"), f"  model: {self.model_note}   "
                          "enter/F5 ask · F6 field · F7/F8 -/+ · F9 perturb · F10 sample · esc back"))
        inp = self.query_one("#lab-input", Input)
        inp.focus()
        inp.cursor_position = 0  # show the start of the block: at 80 columns its end would hide it
        self.action_run()

    # ------------------------------------------------------------ editing
    @property
    def block(self) -> str:
        return self.query_one("#lab-input", Input).value

    def set_block(self, block: str) -> None:
        inp = self.query_one("#lab-input", Input)
        inp.value = block
        inp.cursor_position = 0
        self.action_run()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_run()

    def action_next_field(self) -> None:
        spans = list(_NUMBER.finditer(self.block))
        if spans:
            self.field = (self.field + 1) % len(spans)
            m = spans[self.field]
            inp = self.query_one("#lab-input", Input)
            inp.cursor_position = m.start()
            self._show_check(f"field {self.field + 1}/{len(spans)} selected: {m.group()!r} at column {m.start() + 1}")

    def action_nudge(self, delta: int) -> None:
        self.set_block(nudge(self.block, self.field, delta))

    def action_perturb(self) -> None:
        candidates = [(a, b) for a, b in _LABEL_PERTURBATIONS if a in self.block]
        if candidates:
            a, b = self.rng.choice(candidates)
            self.set_block(self.block.replace(a, b, 1))

    def action_sample(self) -> None:
        if self.sampler is not None:
            self.set_block(self.sampler(self.rng))

    # ------------------------------------------------------------ asking
    def _show_check(self, text: str | Text) -> None:
        self.query_one("#lab-check", Static).update(text)

    def action_run(self) -> None:
        block = self.block
        self.tokens = []
        rules_answer, case = self._rules_side(block)
        self.query_one("#lab-rules", Static).update(rules_answer)
        self.query_one("#lab-diff", Static).update("")
        if self.stream is None:
            self.query_one("#lab-model", Static).update(Text(f"model: {self.model_note}", style="dim"))
            return
        self.query_one("#lab-model", Static).update(Text("asking the model…", style="dim"))
        self.run_worker(lambda: self._ask(block, case), thread=True, group="lab", exclusive=True,
                        exit_on_error=False)

    def _rules_side(self, block: str) -> tuple[Text, Any]:
        try:
            case = parse_input(block)
        except FormatError as exc:
            self._show_check(Text(f"gated path: rejected - {exc}", style="red"))
            return Text("rules: no answer (the block does not parse)", style="dim"), None
        problem = check_case(*case, self.rules)
        if problem:
            self._show_check(Text(f"gated path: rejected - {problem}", style="red"))
            return Text(f"rules: {problem}", style="dim"), None
        self._show_check(Text("gated path: the block parses; the game would ask the model", style="green"))
        out = resolve(*case, self.rules)
        return Text.assemble(("rules\n", "bold"), encode_answer(out.events, out.next_state)), case

    def _ask(self, block: str, case: Any) -> None:
        assert self.stream is not None
        try:
            for token in self.stream(block):
                self.app.call_from_thread(self._add_token, token)
        except ValueError as exc:  # the tokenizer cannot encode it, or it does not fit
            self.app.call_from_thread(self._model_error, str(exc))
            return
        self.app.call_from_thread(self._finish, case)

    def _model_text(self) -> Text:
        text = Text.assemble(("model", "bold"), " (grey: forced by the grammar; green/yellow/red: p>=.9/.5/less)\n")
        for piece, prob, forced in self.tokens:
            text.append(piece or "⏎", style=token_style(prob, forced))
        return text

    def _add_token(self, token: tuple[str, float, bool]) -> None:
        self.tokens.append(token)
        self.query_one("#lab-model", Static).update(self._model_text())

    def _model_error(self, message: str) -> None:
        self.query_one("#lab-model", Static).update(Text(f"model: cannot ask ({message})", style="red"))

    def _finish(self, case: Any) -> None:
        asked = [(p, pr) for p, pr, forced in self.tokens if not forced and p]
        text = self._model_text()
        if asked:
            worst = min(asked, key=lambda t: t[1])
            mean = sum(pr for _, pr in asked) / len(asked)
            text.append(f"\n{len(asked)} tokens asked, mean p {mean:.3f}, least sure {worst[0]!r} at p {worst[1]:.3f}",
                        style="dim")
        self.query_one("#lab-model", Static).update(text)
        answer = "".join(p for p, _, _ in self.tokens)
        out = Text()
        if case is None:
            out.append("no rules answer to compare with (ungated: the game would never have asked)", style="dim")
        else:
            truth = resolve(*case, self.rules)
            try:
                _, nxt = parse_answer(answer, case[0])
            except FormatError as exc:
                out.append(f"model answer does not parse: {exc}", style="red")
            else:
                fields = diff(truth.next_state, nxt)
                if not fields:
                    out.append("model and rules agree on every field", style="green")
                for d in fields:
                    why = ", ".join(involved_rules(d.field, truth.events)) or "no rule fired here"
                    out.append(f"{d.field}: model {d.right} / rules {d.left}  ({why})\n", style="bold red")
        self.query_one("#lab-diff", Static).update(out)
