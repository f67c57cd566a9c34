#!/usr/bin/env bash
# Installs the system packages reports need, where the system allows it:
#   fonts-wqy-microhei  a CJK font, so zh_CN reports render real glyphs (1.6 MB)
#   poppler-utils       pdftoppm/pdftotext, used by tests to look at PDF pages
#   libharfbuzz-subset0 font subsetting in C for WeasyPrint's PDFs (without it WeasyPrint
#                       falls back to fontTools: about 0.5 s more CPU per report)
#   chromium            a headless browser for the tests that open a report, sort its
#                       tables and take a screenshot (tests/test_report_browser.py; they
#                       skip without it)
# Never fails the set-up: without root or apt it says what is missing and goes on.
set -u
missing=()
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || missing+=(chromium)
if command -v ldconfig >/dev/null 2>&1; then
  ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0' || missing+=(libharfbuzz-subset0)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: cannot install ${missing[*]} (no apt-get); install them with your system's package manager" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "note: not root; to get CJK glyphs, PDF tools and a test browser run: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || echo "note: apt-get could not install ${missing[*]}; zh_CN reports will say no CJK font was found and the browser tests will skip" >&2
exit 0
