#!/usr/bin/env bash
# Installs everything walden needs to build, test and run on Debian 12, from
# Debian's packages. Idempotent: installs only what is missing. Run as root.
# With --build: only what building walden and its Debian package needs
# (scripts/build-deb.sh), none of the test servers. With --bench: also what
# the benchmarks compare with; with --coverage: also lcov and setfacl
# (scripts/coverage.sh).
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config
  libpq-dev libzstd-dev zlib1g-dev libssl-dev libcurl4-openssl-dev
  postgresql-server-dev-15 # storage/checksum_impl.h: the data page checksum
  # the Debian package (scripts/build-deb.sh)
  debhelper dpkg-dev fakeroot
)
packages=(
  "${build_packages[@]}"
  clang-format
  # tests; clang-14 and its libFuzzer runtime for the fuzz targets
  # (scripts/fuzz.sh)
  clang-14 libclang-rt-14-dev
  libcmocka-dev zstd gzip postgresql-15 postgresql-contrib util-linux procps time
  # object-store tests: OpenStack Swift with s3api (a local S3 server that
  # verifies SigV4), memcached for it, python3 for the fault proxy, curl;
  # openssl makes the TLS test's certificates
  swift swift-proxy swift-account swift-container swift-object memcached python3 curl openssl
  # xxd: the forgery tests sign as an attacker would, with openssl(1)
  xxd
  # the man page check; lintian on the built packages; systemd-analyze
  # (verify and security of the units)
  groff-base lintian systemd
  # promtool (checks the metrics files, tests the alert rules of
  # packaging/prometheus on series a test makes with python3-yaml)
  prometheus python3-yaml
  # abidw and abidiff: the ABI check against packaging/abi/ (tests/api/;
  # the header's C++ compile test uses build-essential's g++)
  abigail-tools
  # the PostgreSQL version matrix: a Debian root per suite
  # (scripts/pg-rootfs.sh); unshare comes with util-linux
  debootstrap
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(pgbackrest time bc)
fi
if [[ "${1:-}" == "--coverage" ]]; then
  packages+=(lcov acl)
fi
if [[ "${1:-}" == "--build" ]]; then
  packages=("${build_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages ${missing[*]}: run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ "${1:-}" == "--build" ]]; then
  echo "install-deps: build dependencies present"
  exit 0
fi
# Azurite (the local Azure Blob server of the tests) comes from npm, into
# /opt/walden-test-tools (tests/integration/objstore.sh looks there).
AZURITE_DIR=/opt/walden-test-tools
if [[ ! -x $AZURITE_DIR/node_modules/.bin/azurite-blob ]] && ! command -v azurite-blob >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: azurite is missing: run this script as root" >&2
    exit 1
  fi
  if ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "install-deps: installing azurite from npm into $AZURITE_DIR"
  mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error azurite@3 >/dev/null
fi
# Debian's postgresql package creates and starts a default cluster; walden's
# tests and demo start their own throwaway servers and need none of it.
echo "install-deps: all dependencies present"
