# shellcheck shell=bash
# The local programs the test suite runs for real: redis-server (the Redis state store), haproxy (the
# load balancer of the multi-replica test) and chromium (the studio's browser tests), all from Debian's
# packages. Missing ones are installed with apt-get (as root, or through sudo); set-up output goes to
# stderr. OPENAI_IMAGE_MCP_SKIP_SYSTEM_PACKAGES=1 skips this (the tests that need them then fail).
ensure_system_packages() {
  [ "${OPENAI_IMAGE_MCP_SKIP_SYSTEM_PACKAGES:-0}" = 1 ] && return 0
  local missing=() pkg cmd
  for pair in redis-server:redis-server haproxy:haproxy chromium:chromium; do
    pkg="${pair%%:*}" cmd="${pair##*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  {
    echo "openai-image-mcp: installing ${missing[*]} from Debian's packages (first run only)..."
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } 1>&2
}
