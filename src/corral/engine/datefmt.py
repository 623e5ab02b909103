"""Provides compile_format: PM2's dayjs date tokens (or strftime) to a fast formatter.

PM2 users write `log_date_format = "YYYY-MM-DD HH:mm:ss Z"`; Python users may write
`%Y-%m-%d %H:%M:%S`. Both work: a format containing `%` is strftime (with `%f` as
milliseconds, which is what a log wants), anything else is read as dayjs tokens, with
`[literal]` text kept as is, as dayjs does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

PM2_TIME_FORMAT = "YYYY-MM-DDTHH:mm:ss"
"""What `time = true` means in PM2."""

_TOKENS: dict[str, str] = {
    "YYYY": "%Y",
    "YY": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "M": "{M}",
    "DD": "%d",
    "D": "{D}",
    "dddd": "%A",
    "ddd": "%a",
    "HH": "%H",
    "H": "{H}",
    "hh": "%I",
    "h": "{h}",
    "mm": "%M",
    "m": "{m}",
    "ss": "%S",
    "s": "{s}",
    "SSS": "{ms}",
    "A": "%p",
    "a": "{a}",
    "ZZ": "{ZZ}",
    "Z": "{Z}",
    "X": "{X}",
    "x": "{x}",
}
_TOKEN_RE = re.compile(r"\[([^\]]*)\]|" + "|".join(sorted(_TOKENS, key=len, reverse=True)))

Formatter = Callable[[float], str]


def dayjs_to_strftime(fmt: str) -> str:
    """Translate dayjs tokens into strftime, with {…} fields strftime cannot express."""

    def swap(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1).replace("%", "%%").replace("{", "{{").replace("}", "}}")
        return _TOKENS[match.group(0)]

    out, last = [], 0
    for match in _TOKEN_RE.finditer(fmt):
        out.append(
            fmt[last : match.start()].replace("%", "%%").replace("{", "{{").replace("}", "}}")
        )
        out.append(swap(match))
        last = match.end()
    out.append(fmt[last:].replace("%", "%%").replace("{", "{{").replace("}", "}}"))
    return "".join(out)


def compile_format(fmt: str) -> Formatter:
    """A function from a UNIX time to FMT's text; strftime runs once per second at most."""
    if "%" in fmt:
        pattern = fmt.replace("{", "{{").replace("}", "}}").replace("%f", "{ms}")
    else:
        pattern = dayjs_to_strftime(fmt)
    dynamic = "{" in pattern
    last_second = -1
    last_text = ""
    last_local = time.localtime(0)

    def render(ts: float) -> str:
        nonlocal last_second, last_text, last_local
        second = int(ts)
        if second != last_second:
            last_local = time.localtime(second)
            last_text = time.strftime(pattern, last_local)
            last_second = second
        return _fill(last_text, last_local, ts) if dynamic else last_text

    return render


def _fill(text: str, local: time.struct_time, ts: float) -> str:
    offset = time.strftime("%z", local)
    return text.format(
        M=local.tm_mon,
        D=local.tm_mday,
        H=local.tm_hour,
        h=local.tm_hour % 12 or 12,
        m=local.tm_min,
        s=local.tm_sec,
        ms=f"{int(ts * 1000) % 1000:03d}",
        a="am" if local.tm_hour < 12 else "pm",
        Z=f"{offset[:3]}:{offset[3:]}",
        ZZ=offset,
        X=int(ts),
        x=int(ts * 1000),
    )
