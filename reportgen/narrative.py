"""Narratives: Jinja templates over the facts the code recorded, rendered to safe HTML.

A narrative never carries literal figures: numbers come from `fact()` through filters
(`num`, `pct`, `money`, `date`), so a replayed report always shows this run's numbers.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

_NUMBER = re.compile(r"(?<![\w.#-])-?\d+(?:[.,]\d+)*%?(?![\w])")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def num(value: Any, digits: int | None = None) -> str:
    """1234567 -> '1,234,567'; 3.14159 -> '3.1'; num(2) for two decimals."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if digits is None:
        digits = 0 if isinstance(value, int) else 1
    return f"{value:,.{digits}f}"


def pct(value: Any, digits: int = 1) -> str:
    """0.123 -> '12.3%'."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value * 100:.{digits}f}%"


def money(value: Any, currency: str = "USD", digits: int | None = None) -> str:
    """1234.5 -> '$1,235'; 12.5 -> '$12.50'; money('EUR') -> '€…'."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if digits is None:
        digits = 0 if abs(value) >= 1000 else 2
    symbol = _SYMBOLS.get(currency.upper())
    amount = f"{abs(value):,.{digits}f}"
    text = f"{symbol}{amount}" if symbol else f"{currency.upper()} {amount}"
    return f"-{text}" if value < 0 else text


def date(value: Any, fmt: str = "%-d %B %Y") -> str:
    """A date or ISO string -> '1 July 2026' (any strftime format)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime(fmt)
    return str(value)


FILTERS = {"num": num, "pct": pct, "money": money, "date": date}


def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    return env


_env = environment()


class NarrativeError(Exception):
    """A narrative template that cannot render against the recorded facts."""


def render(template: str, facts: dict[str, Any], params: dict[str, Any]) -> str:
    """The narrative as Markdown, with every placeholder filled from facts."""
    try:
        return _env.from_string(template).render({**facts, "params": params, "facts": facts})
    except UndefinedError as exc:
        known = ", ".join(sorted(facts)) or "none"
        raise NarrativeError(f"the narrative uses {exc.message}; facts recorded: {known}") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (narrative line {line})" if line else ""
        raise NarrativeError(f"the narrative template is invalid{where}: {exc.message}") from None


@functools.cache
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True}).enable("table")


def to_html(markdown: str) -> Markup:
    """Markdown to HTML with raw HTML disabled, so text from a step cannot inject markup."""
    return Markup(_markdown().render(markdown))


def unbacked_numbers(template: str, facts: dict[str, Any]) -> list[str]:
    """Numbers typed into the narrative's text rather than taken from a fact."""
    values = {_canonical(v) for v in facts.values() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    found = []
    try:
        tokens = list(_env.lex(template))
    except TemplateError:
        return []
    for _, kind, text in tokens:
        if kind != "data":
            continue
        for match in _NUMBER.finditer(text):
            raw = match.group().rstrip("%").replace(",", "")
            try:
                if _canonical(float(raw)) in values:
                    continue
            except ValueError:
                pass
            found.append(match.group())
    return found


def _canonical(value: float) -> str:
    return f"{float(value):.6g}"
