"""Find a CJK font, so zh_CN reports show real glyphs instead of empty boxes.

Charts (matplotlib) and PDFs (WeasyPrint, through fontconfig) both need one installed.
Where none is found a zh_CN run stops with a message saying how to install one.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.locales import language

# Families tried first, in order; any other font fontconfig says covers Chinese follows.
PREFERRED_CJK = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "AR PL UMing CN",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)
# Families a reader's system may have when the HTML is opened elsewhere.
CSS_FALLBACK_CJK = ("Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei")
LATIN_FAMILIES = ("DejaVu Sans", "Helvetica", "Arial")
CJK_LANGUAGES = ("zh", "ja", "ko")

INSTALL_HINT = (
    "install one, e.g. `sudo apt-get install fonts-wqy-microhei` (Debian/Ubuntu; "
    "`make setup` does it where it can) or `brew install --cask font-noto-sans-cjk-sc` "
    "(macOS), or set `locale: en`"
)


@dataclass(frozen=True)
class CjkFont:
    family: str
    path: str


def _fontconfig_cjk() -> list[tuple[str, str]]:
    """(family, path) of fonts fontconfig says cover Chinese, or [] without fontconfig."""
    if shutil.which("fc-list") is None:
        return []
    out = subprocess.run(
        ["fc-list", ":lang=zh", "family", "file"], capture_output=True, text=True, check=False
    ).stdout
    found = []
    for line in sorted(out.splitlines()):
        path, _, families = line.partition(": ")
        if families:
            found.append((families.split(",")[0].strip(), path.strip()))
    return found


def find_cjk_font() -> CjkFont | None:
    """The best installed CJK font known to matplotlib (registering fontconfig's if needed)."""
    from matplotlib import font_manager

    known = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in PREFERRED_CJK:
        if family in known:
            return CjkFont(family, known[family])
    candidates = _fontconfig_cjk()
    candidates.sort(key=lambda fp: (fp[0] not in PREFERRED_CJK, fp[0]))
    for family, path in candidates:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue
        return CjkFont(family, path)
    return None


def needs_cjk(locale: str) -> bool:
    """Chinese, Japanese and Korean reports (labels, dates, compact units) need CJK glyphs."""
    return language(locale) in CJK_LANGUAGES


def require_cjk_font(locale: str) -> CjkFont | None:
    """None for a locale written in other scripts; for zh_CN (ja, ko) the CJK font, or a
    clear error naming the fix."""
    if not needs_cjk(locale):
        return None
    font = find_cjk_font()
    if font is None:
        raise ConfigError(
            f"locale: {locale} reports need a CJK font, and no CJK font was found "
            "(looked in matplotlib's font list and `fc-list :lang=zh`); " + INSTALL_HINT
        )
    return font


def css_font_stack(font: CjkFont | None) -> str:
    """The CSS font-family value for the report's body text."""
    families = list(LATIN_FAMILIES)
    if font is not None:
        families = [font.family, *[f for f in CSS_FALLBACK_CJK if f != font.family], *families]
    return ", ".join(f'"{f}"' for f in families) + ", sans-serif"


def matplotlib_families(font: CjkFont | None) -> list[str]:
    """rcParams font.family for charts: the CJK font first (it holds Latin glyphs too);
    for English, DejaVu Sans then any CJK font installed, for the Chinese names a bank's
    data may hold in any locale (branches, say): matplotlib takes a glyph the first
    family lacks from the next."""
    if font is not None:
        return [font.family, "DejaVu Sans"]
    fallback = find_cjk_font()
    return ["DejaVu Sans", *([fallback.family] if fallback is not None else [])]
