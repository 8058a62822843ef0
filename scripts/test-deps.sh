#!/bin/sh
# test-deps.sh — make sure the programs the tests run are installed, before
# any test starts (make test runs it first).
#
# The tests run qemu-user-static (the demo's and the examples' foreign
# platforms), skopeo (an independent client reading what manifest-push
# wrote), zsh and fish (their completion scripts must parse), and cosign
# (signing in the push) and oras, which are built with Go. When one is
# missing: as root with apt-get (Debian, Ubuntu: CI and a fresh machine),
# install them all; otherwise stop at once with the one command to run, so
# that no test fails half-way for want of a program.
#
# test-deps.sh --demo is make demo's first step (scripts/demo.sh): the
# qemu user-mode emulators only, for the linux platforms the demo greets
# that this machine cannot run natively. As root with apt-get, missing ones
# are installed, saying so; otherwise, or when the install fails, the demo
# goes on and, at its end, says the one command to run.
set -eu

# can_install: root, with apt-get.
can_install() {
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

# apt_install PACKAGE...: install the packages with apt-get, quietly.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "${1:-}" = --demo ]; then
	# The emulators the demo looks for (qemu-ARCH-static or qemu-ARCH), for
	# linux amd64, arm64, arm/v7, ppc64le and s390x, but this machine's own.
	case $(uname -m) in
	x86_64 | amd64) native=x86_64 ;;
	aarch64 | arm64) native=aarch64 ;;
	armv7l | armv8l) native=arm ;;
	*) native=$(uname -m) ;;
	esac
	missing=
	for arch in x86_64 aarch64 arm ppc64le s390x; do
		[ "$arch" = "$native" ] && continue
		command -v "qemu-$arch-static" >/dev/null 2>&1 || command -v "qemu-$arch" >/dev/null 2>&1 ||
			missing="$missing qemu-$arch-static"
	done
	[ -z "$missing" ] && exit 0
	can_install || exit 0
	echo "==> Install qemu-user-static with apt-get, so that all five Linux platforms are greeted (about 20 s)"
	echo "    not installed:$missing"
	if ! apt_install qemu-user-static; then
		echo "    could not install qemu-user-static: the demo runs without it"
	fi
	exit 0
fi

packages="qemu-user-static skopeo zsh fish"
missing=
for prog in qemu-aarch64-static skopeo zsh fish; do
	command -v "$prog" >/dev/null 2>&1 || missing="$missing $prog"
done
if [ -n "$missing" ]; then
	echo "test-deps: not installed:$missing" >&2
	if ! can_install; then
		echo "test-deps: run this, then make test again:" >&2
		echo "    sudo apt-get install -y --no-install-recommends $packages" >&2
		exit 1
	fi
	echo "test-deps: installing $packages with apt-get (about a minute)" >&2
	# shellcheck disable=SC2086 # one word per package
	apt_install $packages
fi

# cosign (the signing tests) and oras (an independent client discovering
# what manifest-push wrote): each built once with Go into the user's cache
# directory, keyed by its version (the tests look for it there), so a warm
# make test does not pay for it again.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/manifest-push/tools"
# go_tool NAME VERSION PACKAGE MINUTES: build PACKAGE@VERSION into
# $tools/NAME-VERSION unless it is there.
go_tool() {
	dir="$tools/$1-$2"
	[ -x "$dir/$1" ] && return 0
	echo "test-deps: building $1 $2 once into $dir (about $4 on two cores)" >&2
	mkdir -p "$dir"
	if ! GOBIN="$dir" CGO_ENABLED=0 "${GO:-go}" install "$3@$2"; then
		echo "test-deps: building $1 failed; run this, then make test again:" >&2
		echo "    GOBIN=$dir go install $3@$2" >&2
		exit 1
	fi
}
go_tool cosign v2.6.5 github.com/sigstore/cosign/v2/cmd/cosign "7 minutes"
go_tool oras v1.3.6 oras.land/oras/cmd/oras "a minute"

