#!/usr/bin/env bash
# Set-up of a fresh machine (the README's first step; .ci/run calls it too):
#   1. npm ci, then npm run build (bundles train.js), unless --check-only;
#   2. the WebGPU check with Node (scripts/check-webgpu.mjs: an adapter and a device from Dawn);
#   3. when there is none: on a Debian-family Linux, install Mesa's lavapipe (a CPU Vulkan driver; Dawn needs
#      Mesa >= 24) with apt, using sudo when not root, after saying what it installs: on Debian from
#      <codename>-backports (bookworm's own Mesa 22.3 is rejected by Dawn), elsewhere in the family (Ubuntu,
#      Mint, ...) from the distribution's archive; then check again. On other systems it prints what to install
#      for that platform and exits 1.
# usage: scripts/setup.sh [--check-only] [--dry-run] [--no-install] [-h]
#   --check-only   skip npm ci and the build: only the WebGPU check (and the install when none is found)
#   --dry-run      print the install commands instead of running them
#   --no-install   report a missing adapter (with what to install) but install nothing
# Environment: AGAVE_OS_RELEASE (default /etc/os-release) and AGAVE_UNAME (default `uname -s`) say which
# platform this is, AGAVE_SETUP_FORCE_NO_ADAPTER=1 makes the check report no adapter: with --dry-run, for
# testing the install branch without installing.
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=0; dry_run=0; no_install=0
for a in "$@"; do
  case "$a" in
    --check-only) check_only=1 ;;
    --dry-run) dry_run=1 ;;
    --no-install) no_install=1; dry_run=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$a' (see --help)" >&2; exit 1 ;;
  esac
done

say() { echo "== setup: $*"; }
# Dawn reads XDG_RUNTIME_DIR; without it the Vulkan loader warns.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" 2>/dev/null || true

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "Node.js >= 20 and npm are needed (https://nodejs.org, or your system's package manager; on Debian/Ubuntu: the NodeSource packages)"
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  say "Node.js >= 20 is needed, this is $(node --version)"
  exit 1
fi

if [ "$check_only" -eq 0 ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  say "npm run build (train.js)"
  npm run build --silent
fi

check() { node scripts/check-webgpu.mjs 2>/dev/null; }

say "WebGPU adapter check"
rc=0; check || rc=$?
if [ "$rc" -eq 0 ]; then say "ready"; exit 0; fi
if [ "$rc" -eq 3 ]; then say "the webgpu package is missing: run scripts/setup.sh without --check-only (npm ci)"; exit 1; fi

os="${AGAVE_UNAME:-$(uname -s)}"
os_release="${AGAVE_OS_RELEASE:-/etc/os-release}"
id=""; id_like=""; codename=""; pretty=""
if [ "$os" = "Linux" ] && [ -r "$os_release" ]; then
  id="$(. "$os_release"; echo "${ID:-}")"
  id_like="$(. "$os_release"; echo "${ID_LIKE:-}")"
  codename="$(. "$os_release"; echo "${VERSION_CODENAME:-}")"
  pretty="$(. "$os_release"; echo "${PRETTY_NAME:-$id}")"
fi

debian_family=0
case " $id $id_like " in *" debian "*|*" ubuntu "*) debian_family=1 ;; esac

if [ "$os" != "Linux" ] || [ "$debian_family" -eq 0 ]; then
  case "$os" in
    Darwin) say "no WebGPU adapter: Dawn uses Metal, built into macOS 11 and later on Macs with a Metal GPU (every Apple-silicon Mac); update macOS, or run on Linux with Mesa lavapipe" ;;
    MINGW*|MSYS*|CYGWIN*|Windows_NT) say "no WebGPU adapter: Dawn uses Direct3D 12; install or update your GPU's driver (or enable the WARP software adapter), or use WSL2 with Ubuntu and run this script there" ;;
    Linux)
      say "no WebGPU adapter on ${pretty:-this Linux}: install a Vulkan driver, Mesa >= 24 for lavapipe (a CPU Vulkan driver, no GPU needed):"
      echo "   Fedora / RHEL:   sudo dnf install mesa-vulkan-drivers vulkan-loader"
      echo "   Arch:            sudo pacman -S vulkan-swrast vulkan-icd-loader"
      echo "   openSUSE:        sudo zypper install Mesa-vulkan-device-select libvulkan1 Mesa-libva"
      echo "   Alpine:          sudo apk add mesa-vulkan-swrast vulkan-loader"
      echo "   or your GPU's Vulkan driver; then run scripts/setup.sh --check-only" ;;
    *) say "no WebGPU adapter on $os: install a Vulkan, Metal or Direct3D 12 driver that Dawn supports" ;;
  esac
  exit 1
fi

# Debian family: Mesa lavapipe with apt.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 || [ "$dry_run" -eq 1 ]; then SUDO="sudo"
  else say "no WebGPU adapter, and installing Mesa lavapipe needs root: run this script as root, or install sudo"; exit 1; fi
fi
run() {
  if [ "$dry_run" -eq 1 ]; then echo "   would run: $*"; else "$@"; fi
}
packages="mesa-vulkan-drivers libvulkan1"
verb="installing"; [ "$dry_run" -eq 1 ] && verb="would install (--dry-run or --no-install: nothing is changed)"
if [ "$id" = "debian" ]; then
  if [ -z "$codename" ]; then say "no WebGPU adapter, and $os_release names no VERSION_CODENAME to find Debian's backports"; exit 1; fi
  say "no WebGPU adapter: $verb Mesa lavapipe (a CPU Vulkan driver: $packages) from ${codename}-backports${SUDO:+ with sudo}"
  if grep -rqs -- "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    say "${codename}-backports is already an apt source"
  else
    say "adding ${codename}-backports as /etc/apt/sources.list.d/backports.sources"
    src="Types: deb\nURIs: http://deb.debian.org/debian\nSuites: ${codename}-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    if [ "$dry_run" -eq 1 ]; then echo "   would run: printf '$src' | $SUDO tee /etc/apt/sources.list.d/backports.sources"
    else printf "$src" | $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null; fi
  fi
  install_args=(-t "${codename}-backports")
else
  say "no WebGPU adapter: $verb Mesa lavapipe (a CPU Vulkan driver: $packages) from the archive of ${pretty:-the distribution}${SUDO:+ with sudo}"
  install_args=()
fi
run $SUDO apt-get update -qq
run $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${install_args[@]}" $packages
if [ "$dry_run" -eq 1 ]; then say "nothing installed; no WebGPU adapter yet"; exit 1; fi

say "WebGPU adapter check, after the install"
if check; then say "ready"; exit 0; fi
mesa="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 'not installed')"
say "still no WebGPU adapter (mesa-vulkan-drivers $mesa): Dawn needs Mesa >= 24 for lavapipe; on $pretty a newer Mesa may come from the backports or updates of the distribution (Ubuntu: the kisak-mesa PPA)"
exit 1
