"""The terminal rendering of a story: a step table that shows only what changed.

Output is a list of lines built from styled segments. With colour off (``NO_COLOR``,
a pipe, or ``--ascii``) the text is plain and stable, so it makes golden files;
``--ascii`` also keeps to ASCII characters. Long lines wrap between changes, with
the continuation under the first change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .story import EntityState, MapRow, StepStory, Story

Seg = tuple[str, str]  # text, style
Line = list[Seg]

ANSI = {
    "title": "1", "step": "1", "action": "1;36", "cite": "33", "doc": "2", "entity": "35",
    "old": "31", "new": "32", "loop": "1;35", "bad": "1;31", "good": "1;32", "dim": "2",
    "label": "1", "changed": "7",
    "grey": "90", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35",
    "cyan": "36", "white": "97", "danger": "1;97;41", "default": "",
}


@dataclass(frozen=True)
class Options:
    """How to draw: ``width`` columns, colour, ASCII only, whole states, the map."""

    width: int = 100
    colour: bool = False
    ascii: bool = False
    full: bool = False
    show_map: bool = True
    docs: bool = True


@dataclass(frozen=True)
class _Marks:
    arrow: str
    dot: str
    top: str
    bar: str
    bottom: str


UNICODE = _Marks("->", "·", "┌", "│", "└")
ASCII = _Marks("->", "--", "+", "|", "+")


def _plain(line: Line) -> str:
    return "".join(text for text, _ in line)


def _paint(line: Line, colour: bool) -> str:
    if not colour:
        return _plain(line).rstrip()
    out = []
    for text, style in line:
        codes = ";".join(ANSI[s] for s in style.split("+") if ANSI.get(s))
        out.append(f"\x1b[{codes}m{text}\x1b[0m" if codes and text else text)
    return "".join(out).rstrip()


def _width(line: Line) -> int:
    return sum(len(text) for text, _ in line)


def _wrap(prefix: Line, chunks: Sequence[Line], width: int, sep: str = ", ") -> list[Line]:
    """``prefix`` then ``chunks`` joined by ``sep``, wrapped under the first chunk (a loop
    bar that starts ``prefix`` goes on down the wrapped lines)."""
    bar: Line = list(prefix[:1]) if prefix and prefix[0][1] == "loop" else []
    indent: Line = [*bar, (" " * (_width(prefix) - _width(bar)), "")]
    lines: list[Line] = []
    cur: Line = list(prefix)
    start = True
    for chunk in chunks:
        piece: Line = ([] if start else [(sep, "")]) + chunk
        if not start and _width(cur) + _width(piece) > width:
            cur.append((sep.rstrip(), ""))
            lines.append(cur)
            cur = [*indent, *chunk]
        else:
            cur += piece
        start = False
    lines.append(cur)
    return lines


def _ascii_text(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


class Renderer:
    """Lays out one story for the terminal."""

    def __init__(self, story: Story, opts: Options) -> None:
        self.story = story
        self.opts = opts
        self.marks = ASCII if opts.ascii else UNICODE
        names = [e.entity for s in story.steps[:1] for e in s.state]
        names += [r.label for s in story.steps[:1] for r in s.rows]
        self.name_width = min(max((len(n) for n in names), default=6), 24)
        self.num_width = len(str(len(story.steps) - 1))

    # -- pieces ---------------------------------------------------------------------
    def gutter(self, step: StepStory | None) -> Line:
        """The loop column: a bar beside the steps of the loop, a corner at its end."""
        if self.story.loop is None:
            return [("  ", "")]
        if step is None:
            return [(self.marks.bottom + " ", "loop")]
        if step.in_loop:
            return [(self.marks.bar + " ", "loop")]
        return [("  ", "")]

    def indent(self, step: StepStory | None) -> Line:
        return [*self.gutter(step), (" " * (self.num_width + 4), "")]

    def entity_prefix(self, step: StepStory | None, name: str) -> Line:
        return [*self.indent(step), (name.ljust(self.name_width), "entity"), ("  ", "")]

    def state_lines(self, step: StepStory, state: Sequence[EntityState]) -> list[Line]:
        out: list[Line] = []
        for es in state:
            chunks: list[Line] = []
            for label, value in es.values:
                chunk: Line = [(f"{label} ", "label")] if label else []
                chunks.append([*chunk, (value, "")])
            out += _wrap(self.entity_prefix(step, es.entity), chunks, self.opts.width)
        return out

    def diff_lines(self, step: StepStory) -> list[Line]:
        out: list[Line] = []
        for d in step.diff:
            chunks: list[Line] = []
            for c in d.changes:
                chunk: Line = [(f"{c.label} ", "label")] if c.label else []
                chunks.append([*chunk, (c.old, "old"), (f" {self.marks.arrow} ", ""),
                               (c.new, "new")])
            out += _wrap(self.entity_prefix(step, d.entity), chunks, self.opts.width)
        return out

    def map_lines(self, step: StepStory, rows: Sequence[MapRow]) -> list[Line]:
        colours = {letter: colour for letter, _, colour, _ in self.story.legend}
        out: list[Line] = []
        for r, row in enumerate(rows):
            tag = "map" if r == 0 else ""
            line = [*self.gutter(step), (tag.rjust(self.num_width + 3) + " ", "dim"),
                    (row.label.ljust(self.name_width), "entity"), (" ", "")]
            ends = set()
            total = 0
            for size in row.groups[:-1]:
                total += size
                ends.add(total)
            for c, cell in enumerate(row.cells):
                if c in ends:
                    line.append((self.marks.bar, "dim"))
                style = colours.get(cell.letter, "default")
                if cell.changed:
                    line += [("[", ""), (cell.letter, style + "+changed"), ("]", "")]
                else:
                    line += [(" ", ""), (cell.letter, style), (" ", "")]
            if row.note:
                line += [("  ", ""), (row.note, "new" if row.note_changed else "dim")]
            out.append(line)
        return out

    def loop_top(self, step: StepStory) -> Line:
        return [(self.marks.top + " ", "loop"),
                (f"the loop: from state {step.number} on, the run repeats", "loop")]

    def step_head(self, step: StepStory) -> list[Line]:
        number = str(step.number).rjust(self.num_width)
        lines: list[Line] = []
        if step.loop_start:
            lines.append(self.loop_top(step))
        head: Line = [*self.gutter(step), (f" {number}  ", "step"),
                      (step.label, "action" if step.action else "dim")]
        lines.append(head)
        if step.cites:
            cite: Line = [(f"{self.marks.dot} ", "dim"), (step.cites, "cite")]
            if _width(head) + 2 + _width(cite) <= self.opts.width:
                head += [("  ", ""), *cite]
            else:
                words: list[Line] = [[(w, "cite")] for w in step.cites.split(" ")]
                lines += _wrap([*self.indent(step), (f"{self.marks.dot} ", "dim")], words,
                               self.opts.width, sep=" ")
        if self.opts.docs and step.doc:
            lines += _wrap(self.indent(step), [[(w, "doc")] for w in step.doc.split()],
                           self.opts.width, sep=" ")
        return lines

    # -- the whole ------------------------------------------------------------------
    def header(self) -> list[Line]:
        st = self.story
        what = {"counterexample": "counterexample to", "lasso": "counterexample (a lasso) to",
                "witness": "witness of", "cti": "counterexample to induction of"}.get(
                    st.kind, f"{st.kind} of")
        steps = "1 step" if st.length == 1 else f"{st.length} steps"
        title: list[Line] = [[(w, "title")] for w in st.title.split(" ")]
        title[-1].append((":", ""))
        lines = _wrap([], [*title, *([(w, "")] for w in what.split(" ")), [(st.prop, "bad")],
                           [(f"({st.property_kind}),", "")], [(steps, "")]],
                      self.opts.width, sep=" ")
        if st.property_doc:
            lines += _wrap([("  ", "")], [[(w, "doc")] for w in st.property_doc.split()],
                           self.opts.width, sep=" ")
        if st.legend and self.opts.show_map:
            chunks = [[(letter, colour), (f" {name}", "")]
                      for letter, name, colour, _ in st.legend]
            lines += _wrap([("  ", ""), (f"{st.map_title}: ", "dim")], chunks, self.opts.width,
                           sep="  ")
            lines.append([("  ", ""), ("[x] marks a cell that changed in the step", "dim")])
        return lines

    def steps(self) -> list[Line]:
        st = self.story
        last = len(st.steps) - 1
        out: list[Line] = []
        for step in st.steps:
            inside = step.in_loop and not step.loop_start
            out.append([(self.marks.bar, "loop")] if inside else [])
            # the step into the loop's first state is not repeated: it stays outside the
            # box, which opens on the state it leads to
            entry = step.loop_start and step.number > 0
            before = replace(step, loop_start=False, in_loop=False) if entry else step
            out += self.step_head(before)
            whole = self.opts.full or step.number in (0, last)
            if step.number > 0:
                out += self.diff_lines(before)
                if not step.diff:
                    out.append([*self.indent(before), ("(nothing changed)", "dim")])
            if entry:
                out.append(self.loop_top(step))
            if whole:
                if step.number > 0:
                    tag = "the last state" if step.number == last else "the whole state"
                    out.append([*self.indent(step), (f"state {step.number}, {tag}:", "dim")])
                out += self.state_lines(step, step.state)
            if self.opts.show_map and step.rows:
                out += self.map_lines(step, step.rows)
        if st.loop is not None:
            out.append([*self.gutter(None), (f" then: {st.loop_closing}", "loop")])
        return out

    def ending(self) -> list[Line]:
        end = self.story.ending
        out: list[Line] = [[], [(end.headline, "bad")]]
        for part in end.formula:
            out += _wrap([("  where    ", "dim")], [[(w, "")] for w in part.split(" ")],
                         self.opts.width, sep=" ")
        if end.values:
            chunks = [[(name, "label"), (" = ", ""), (value, "bad")] for name, value in end.values]
            out += _wrap([("  because  ", "dim")], chunks, self.opts.width)
        for note in end.notes:
            out += _wrap([("  note     ", "dim")], [[(w, "")] for w in note.split()],
                         self.opts.width, sep=" ")
        return out

    def render(self) -> str:
        lines = self.header() + self.steps() + self.ending()
        text = "\n".join(_paint(line, self.opts.colour) for line in lines) + "\n"
        return _ascii_text(text) if self.opts.ascii else text


def render_story(story: Story, opts: Options) -> str:
    return Renderer(story, opts).render()
