# shellcheck shell=bash
# Shared by scripts/serve and scripts/test: create .venv and install the package when the virtual
# environment is missing or its inputs changed since the last install. All set-up output goes to
# stderr, because stdout is the MCP protocol wire when the server runs on stdio.
#   ensure_venv ""     the package and its dependencies from the ranges in pyproject.toml (serve)
#   ensure_venv "dev"  the exact versions in requirements/dev.lock, then the package without its
#                      dependencies (test), so a new release of a dependency cannot change the checks
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OPENAI_IMAGE_MCP_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
lock="$root/requirements/dev.lock"
ensure_venv() {
  local extras="$1" marker="$venv/.installed${1:+-$1}" input stale=""
  local inputs=("$root/pyproject.toml")
  [ "$extras" != dev ] || inputs+=("$lock")
  [ -f "$marker" ] || stale=1
  for input in "${inputs[@]}"; do
    if [ "$input" -nt "$marker" ]; then stale=1; fi
  done
  [ -n "$stale" ] || return 0
  {
    echo "openai-image-mcp: setting up $venv${extras:+ ($extras)} (first run only)..."
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    if [ "$extras" = dev ]; then
      _install_locked
    else
      _pip install --upgrade pip
      _pip install -e "$root"
    fi
    touch "$marker"
  } 1>&2
}
_pip() { "$venv/bin/python" -m pip --quiet --disable-pip-version-check "$@"; }
_install_locked() {
  # pip itself first (pinned in the lock), then everything else, then the package: setuptools comes
  # from the lock too (--no-build-isolation), so building the editable install fetches nothing.
  _pip install "$(grep -E '^pip==' "$lock")"
  _pip install -r "$lock"
  _pip install --no-deps --no-build-isolation -e "$root"
  # A lock older than pyproject.toml's ranges would leave a dependency missing or out of range.
  "$venv/bin/python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:  # packaging comes with pytest; pip vendors a copy
    from pip._vendor.packaging.requirements import Requirement

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
bad = []
for req in map(Requirement, wanted):
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        have = version(req.name)
    except PackageNotFoundError:
        have = None
    if have is None or not req.specifier.contains(have, prereleases=True):
        bad.append(f"{req} (installed: {have})")
if bad:
    sys.exit("requirements/dev.lock does not satisfy pyproject.toml, run ./scripts/lock: " + ", ".join(bad))
PY
}
