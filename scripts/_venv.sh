# Shared by scripts/serve and scripts/test: create .venv and install the package (with EXTRAS) when
# the virtual environment is missing or pyproject.toml changed since the last install. All set-up
# output goes to stderr, because stdout is the MCP protocol wire when the server runs on stdio.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${OPENAI_IMAGE_MCP_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
ensure_venv() {
  local extras="$1" marker="$venv/.installed${1:+-$1}"
  if [ ! -f "$marker" ] || [ "$root/pyproject.toml" -nt "$marker" ]; then
    {
      echo "openai-image-mcp: setting up $venv (first run only)..."
      [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root${extras:+[$extras]}"
      touch "$marker"
    } 1>&2
  fi
}
