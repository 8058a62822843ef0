#!/bin/sh
# test-deps.sh — make sure the programs the tests run are installed, before
# any test starts (make test runs it first).
#
# The tests run qemu-user-static (the demo's and the examples' foreign
# platforms), skopeo (an independent client reading what manifest-push
# wrote), zsh and fish (their completion scripts must parse). When one is
# missing: as root with apt-get (Debian, Ubuntu: CI and a fresh machine),
# install them all; otherwise stop at once with the one command to run, so
# that no test fails half-way for want of a program.
set -eu

packages="qemu-user-static skopeo zsh fish"
missing=
for prog in qemu-aarch64-static skopeo zsh fish; do
	command -v "$prog" >/dev/null 2>&1 || missing="$missing $prog"
done
[ -z "$missing" ] && exit 0

echo "test-deps: not installed:$missing" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing $packages with apt-get (about a minute)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq --no-install-recommends $packages >/dev/null
	exit 0
fi
echo "test-deps: run this, then make test again:" >&2
echo "    sudo apt-get install -y --no-install-recommends $packages" >&2
exit 1
