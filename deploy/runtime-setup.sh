#!/bin/sh
# The container's runtime stage, also run by deploy/check.sh: the service
# user (uid and gid 10001, no login) and its data directory, under ROOT.
#   sh deploy/runtime-setup.sh ROOT
# With ROOT = / (in the image) it also installs curl for the health check;
# under another ROOT (the CI check) the user goes into ROOT/etc's files.
set -eu
root=${1:?usage: runtime-setup.sh ROOT}
if [ "$root" = / ]; then
    apt-get update
    apt-get install -y --no-install-recommends ca-certificates curl
    rm -rf /var/lib/apt/lists/*
    prefix=
else
    prefix="--prefix $root"
fi
# shellcheck disable=SC2086 # $prefix is empty or two words
groupadd $prefix --system -K SYS_GID_MAX=10001 --gid 10001 ecomshare
# shellcheck disable=SC2086
useradd $prefix --system -K SYS_UID_MAX=10001 --uid 10001 --gid 10001 --no-create-home \
    --home-dir /var/lib/ecomshare --shell /usr/sbin/nologin ecomshare
install -d -m 0750 -o 10001 -g 10001 "$root/var/lib/ecomshare"
