"""The brand: one definition of colours, fonts, logo and page that drives the page AND the charts.

Looked up in this order: the spec's `brand:` (inline, or a path to a brand file), then
`brand.yaml` in the theme folders (the project's `templates/` first, then the built-in
theme's default). The spec's `style:` still overrides chart details it sets explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from markupsafe import Markup
from pydantic import Field, ValidationError, field_validator

from .errors import SpecError, Problem
from .inline import file_uri
from .spec import Charts, Strict, Style, _COLOR

FONT_FORMATS = {".ttf": "truetype", ".otf": "opentype", ".woff": "woff", ".woff2": "woff2"}


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError(f"{value!r} is not a colour; use #RRGGBB or a colour name")
    return value


class Colors(Strict):
    primary: str = Field("#0B5FFF", description="Headings' accents, links, the first chart colour.")
    accent: str = "#00A389"
    text: str = "#1F2933"
    muted: str = "#616E7C"
    background: str = "#FFFFFF"
    panel: str = Field("#F5F7FA", description="Table stripes and boxes.")
    line: str = "#D9DEE5"
    palette: list[str] | None = Field(None, description="Chart colours; default: primary, accent and a set that goes with them.")

    @field_validator("primary", "accent", "text", "muted", "background", "panel", "line")
    @classmethod
    def _one(cls, value: str) -> str:
        return _color(value)

    @field_validator("palette")
    @classmethod
    def _many(cls, palette: list[str] | None) -> list[str] | None:
        return [_color(c) for c in palette] if palette else palette

    def chart_palette(self) -> list[str]:
        return self.palette or [self.primary, self.accent, "#FFB020", "#E5484D", "#7C3AED", "#0EA5E9"]


class Font(Strict):
    family: str
    files: list[str] = Field(default_factory=list, description="Font files (.ttf/.otf/.woff/.woff2), relative to the brand file.")


class Fonts(Strict):
    body: Font = Field(default_factory=lambda: Font(family="DejaVu Sans"))
    headings: Font | None = None
    mono: Font = Field(default_factory=lambda: Font(family="DejaVu Sans Mono"))


class Brand(Strict):
    name: str | None = None
    logo: str | None = Field(None, description="SVG or PNG, relative to the brand file.")
    theme: Literal["light", "dark"] = "light"
    page: Literal["A4", "Letter"] = "A4"
    colors: Colors = Field(default_factory=Colors)
    dark: Colors | None = Field(None, description="Colours for readers whose system is in dark mode (HTML).")
    fonts: Fonts = Field(default_factory=Fonts)

    # Where relative paths (logo, font files) start; set by the loader.
    folder: Path = Field(Path("."), exclude=True)

    def charts(self, style: Style) -> Charts:
        """The spec's chart style with what it leaves unset taken from the brand, the brand's
        font files, and the page's colours, so a chart sits on the page like part of it."""
        given = style.model_fields_set
        brand = {"palette": self.colors.chart_palette(), "font": self.fonts.body.family, "theme": self.theme}
        c = self.colors
        return Charts(
            style=style.model_copy(update={k: v for k, v in brand.items() if k not in given}),
            fonts=tuple(self.font_files()),
            colors={"background": c.background, "text": c.text, "muted": c.muted, "line": c.line},
        )

    def font_files(self) -> list[Path]:
        fonts = [self.fonts.body, self.fonts.headings or self.fonts.body, self.fonts.mono]
        return list(dict.fromkeys(self.folder / f for font in fonts for f in font.files))

    def files(self) -> list[Path]:
        """The files the brand uses besides brand.yaml: its logo and font files."""
        return ([self.folder / self.logo] if self.logo else []) + self.font_files()

    def logo_uri(self) -> str | None:
        if not self.logo:
            return None
        return file_uri(self.folder / self.logo)

    def font_faces(self) -> Markup:
        """@font-face rules with the font files inlined, so HTML and PDF carry them."""
        rules = []
        for font in (self.fonts.body, self.fonts.headings, self.fonts.mono):
            for file in font.files if font else []:
                path = self.folder / file
                weight = "bold" if "bold" in path.stem.lower() else "normal"
                style = "italic" if any(w in path.stem.lower() for w in ("italic", "oblique")) else "normal"
                fmt = FONT_FORMATS.get(path.suffix.lower(), "truetype")
                rules.append(
                    f'@font-face {{ font-family: "{font.family}"; font-weight: {weight}; font-style: {style}; '
                    f'src: url("{file_uri(path)}") format("{fmt}"); }}'
                )
        return Markup("\n".join(rules))


def resolve(value: dict | str | None, spec_folder: Path, theme_folders: list[Path]) -> Brand:
    """The brand from a spec's `brand:` value, else the theme's brand.yaml; problems are spec problems."""
    if isinstance(value, dict):
        return _validated(value, spec_folder, str(spec_folder))
    if isinstance(value, str):
        return read(spec_folder / value)
    for folder in theme_folders:
        if (folder / "brand.yaml").is_file():
            return read(folder / "brand.yaml")
    return Brand()


def read(path: Path) -> Brand:
    """A brand file; a folder means its brand.yaml."""
    path = path / "brand.yaml" if path.is_dir() else path
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError([Problem(str(path), 1, 1, "brand", f"cannot read the brand file: {exc}")]) from None
    return _validated(data, path.parent, str(path))


def _validated(data: dict, folder: Path, shown: str) -> Brand:
    try:
        brand = Brand.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(shown, 1, 1, "brand." + ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise SpecError(problems) from None
    brand.folder = folder.resolve()
    missing = [p for p in brand.files() if not p.is_file()]
    if missing:
        raise SpecError([Problem(shown, 1, 1, "brand", f"file not found: {p}") for p in missing])
    return brand
