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
mkdir -p "$symbols/usr/lib/debug/usr/local/bin"
bin=$out/usr/local/bin/ecomshare
install -D -m 0755 "$dir/ecomshare" "$bin"
install -D -m 0644 deploy/ecomshare.toml "$out/etc/ecomshare/ecomshare.toml"
install -D -m 0644 README.md "$out/usr/share/doc/ecomshare/README.md"
# The debug info goes beside the binary's code into SYMBOLS, as Debian's
# dh_strip does: ecomshare.debug (the line tables left in the binary,
# found through its .gnu_debuglink) and, from the release profile
# (split-debuginfo = "packed"), ecomshare.dwp. gdb, eu-stack and addr2line
# read a crash's addresses with them under /usr/lib/debug.
if command -v objcopy >/dev/null 2>&1; then
    debug=$symbols/usr/lib/debug/usr/local/bin/ecomshare.debug
    objcopy --only-keep-debug "$bin" "$debug"
    chmod 0644 "$debug"
    objcopy --strip-all --add-gnu-debuglink="$debug" "$bin"
else
    echo "build.sh: objcopy (binutils) not found: the binary keeps its debug info" >&2
fi
if [ -f "$dir/ecomshare.dwp" ]; then
    install -m 0644 "$dir/ecomshare.dwp" "$symbols/usr/lib/debug/usr/local/bin/ecomshare.dwp"
fi
ls -l "$bin"
