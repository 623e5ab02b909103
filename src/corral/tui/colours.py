"""Provides Colours: Rich styles taken from the current Textual theme's variables.

Cells of the process table and prefixes in the log tail are Rich Text, which needs real
colours rather than `$success`; reading them from the theme (and again on a theme
change) keeps light, dark and custom themes right without a hex code in our sources.
Under NO_COLOR Textual drops every colour at the end, so nothing here needs to know.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from textual.color import Color, ColorParseError

from corral.engine.states import ProcessState
from corral.tui.records import Role

APP_VARIABLES = (
    "primary",
    "secondary",
    "accent",
    "success",
    "warning",
    "primary-lighten-3",
    "secondary-lighten-3",
    "accent-lighten-3",
    "success-lighten-3",
    "warning-lighten-3",
)
"""Theme variables handed to apps in turn; `error` is kept for stderr and failures."""

STATUS_VARIABLE = {
    ProcessState.ONLINE: "success",
    ProcessState.LAUNCHING: "accent",
    ProcessState.STOPPING: "warning",
    ProcessState.WAITING_RESTART: "warning",
    ProcessState.STOPPED: "foreground-muted",
    ProcessState.ERRORED: "error",
    ProcessState.WAITING: "secondary",
    ProcessState.COMPLETED: "success",
}


MIN_CONTRAST = 4.5
"""WCAG AA for text: every app's name is at least this far from the background."""


def luminance(colour: Color) -> float:
    """WCAG relative luminance of COLOUR."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour.rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio of A and B (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable(colour: Color, background: Color) -> Color:
    """COLOUR, lightened on a dark background or darkened on a light one until its
    contrast reaches MIN_CONTRAST (the theme's hue is kept as far as it can be)."""
    dark = luminance(background) < 0.5
    for _ in range(40):
        if contrast(colour, background) >= MIN_CONTRAST:
            break
        colour = colour.lighten(0.025) if dark else colour.darken(0.025)
    return colour


class Colours:
    """Styles for statuses, apps and log marks under one theme (PLAIN: no colour at all)."""

    def __init__(self, variables: Mapping[str, str], *, plain: bool = False) -> None:
        try:
            background = Color.parse(variables.get("background", "black"))
        except ColorParseError:
            background = Color(0, 0, 0)

        def style(
            name: str, fallback: str = "foreground", *, bold: bool = False, dim: bool = False
        ) -> Style:
            if plain:  # NO_COLOR: Textual would grey the colours, some too dark to read
                return Style(bold=bold, dim=dim)
            value = variables.get(name) or variables.get(fallback)
            try:
                # Theme colours may carry alpha ("muted"); blend it as Textual would.
                colour = background + Color.parse(value) if value else None
            except ColorParseError:  # a value we cannot read: plain text beats a crash
                colour = None
            return Style(color=colour.rich_color if colour else None, bold=bold, dim=dim)

        self.status = {
            state: style(var, bold=state is ProcessState.ERRORED)
            for state, var in STATUS_VARIABLE.items()
        }
        self.apps = self._palette(variables, background, plain)
        self.stamp = style("foreground-muted", dim=True)
        self.err = style("error", bold=True)
        self.warn = style("warning", bold=True)
        self.info = style("accent")
        self.muted = style("foreground-muted")
        self.spark = self.apps[0] if not plain else Style()
        self.earlier = style("foreground-muted", dim=True)
        self._roles: dict[Role, Style] = {
            "stamp": self.stamp,
            "app": self.info,  # corral's own `[corral]`; apps get theirs from `app`
            "err": self.err,
            "info": self.info,
            "warn": self.warn,
            "error": self.err,
            "earlier": self.earlier,
        }
        self._by_name: dict[str, Style] = {}
        self._order: dict[str, int] = {}

    @staticmethod
    def _palette(variables: Mapping[str, str], background: Color, plain: bool) -> list[Style]:
        """The apps' colours: the theme's, each made readable on the tail's background
        (contrast at least MIN_CONTRAST) and none twice."""
        if plain:
            return [Style(bold=True)]
        try:
            ground = background + Color.parse(variables.get("surface") or "")
        except ColorParseError:
            ground = background
        out: list[Style] = []
        seen: set[str] = set()
        for name in APP_VARIABLES:
            try:
                colour = readable(ground + Color.parse(variables.get(name) or ""), ground)
            except ColorParseError:
                continue
            if colour.hex not in seen:
                seen.add(colour.hex)
                out.append(Style(color=colour.rich_color, bold=True))
        return out or [Style(bold=True)]

    def role(self, role: Role) -> Style:
        """The style of one part of a tail line (`records.layout` names the parts)."""
        return self._roles[role]

    def app(self, name: str) -> Style:
        """NAME's colour: apps get the palette in the order they are first seen."""
        found = self._by_name.get(name)
        if found is None:
            index = self._order.setdefault(name, len(self._order))
            found = self._by_name[name] = self.apps[index % len(self.apps)]
        return found

    def keep_order(self, other: Colours) -> None:
        """Give apps the same palette slots as in OTHER (after a theme change)."""
        self._order = dict(other._order)
