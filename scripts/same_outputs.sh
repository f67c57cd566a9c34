#!/usr/bin/env bash
# Is a change a pure refactor? Runs the demo bank's last two months with the working tree
# and with a git ref (default HEAD), each into a fresh data and report root, and compares
# every processed file and report byte for byte. Files only one side writes are listed.
#
#   scripts/same_outputs.sh            # working tree against HEAD
#   scripts/same_outputs.sh main~3     # working tree against an older commit
set -euo pipefail
ref=${1:-HEAD}
top=$(git rev-parse --show-toplevel)
python=${PYTHON:-$top/.venv/bin/python}
work=$(mktemp -d)
trap 'git -C "$top" worktree remove --force "$work/ref" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$top" worktree add --detach --quiet "$work/ref" "$ref"

run() {  # run <source tree> <output root>
  mkdir -p "$2"
  local tree=$1 out=$2 crm=(env PYTHONPATH="$1" "$python" -m pipeline.cli --data-dir "$2/data" --report-dir "$2/reports")
  (cd "$tree" && "${crm[@]}" sample --customers 5000 --branches 3 >/dev/null &&
    for period in 2026-09 2026-10; do "${crm[@]}" run --period "$period" >/dev/null; done)
  (cd "$out" && find data/processed reports/build -type f ! -name '.*' | sort | xargs sha256sum)
}

run "$top" "$work/new" >"$work/new.sha"
run "$work/ref" "$work/old" >"$work/old.sha"
if diff "$work/old.sha" "$work/new.sha"; then
  echo "same outputs: $(wc -l <"$work/new.sha") files byte-identical to $ref"
else
  echo "outputs differ from $ref (< $ref, > working tree)" >&2
  exit 1
fi
