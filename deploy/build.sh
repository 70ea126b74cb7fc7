#!/bin/sh
# The container's build stage, also run by deploy/check.sh: builds the
# binary and lays out what the image installs under OUT (binary, example
# configuration, README) and the debug info under SYMBOLS (a separate file,
# for reading crash reports; not shipped in the image).
#   sh deploy/build.sh OUT SYMBOLS
# ECOMSHARE_BUILD_PROFILE picks the cargo profile (default release; the CI
# check uses dev to reuse the test build).
set -eu
out=${1:?usage: build.sh OUT SYMBOLS}
symbols=${2:?usage: build.sh OUT SYMBOLS}
profile=${ECOMSHARE_BUILD_PROFILE:-release}
cargo build --locked --profile "$profile" --bin ecomshare
case $profile in
    dev) dir=target/debug ;;
    *) dir=target/$profile ;;
esac
install -D -m 0755 "$dir/ecomshare" "$out/usr/local/bin/ecomshare"
install -D -m 0644 deploy/ecomshare.toml "$out/etc/ecomshare/ecomshare.toml"
install -D -m 0644 README.md "$out/usr/share/doc/ecomshare/README.md"
# The release profile packs the line tables into ecomshare.dwp beside the
# binary (split-debuginfo = "packed"); gdb, addr2line and eu-stack find it
# next to the binary or under /usr/lib/debug.
mkdir -p "$symbols"
if [ -f "$dir/ecomshare.dwp" ]; then
    install -D -m 0644 "$dir/ecomshare.dwp" "$symbols/usr/lib/debug/usr/local/bin/ecomshare.dwp"
fi
ls -l "$out/usr/local/bin/ecomshare"
