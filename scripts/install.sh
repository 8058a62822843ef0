#!/bin/sh
# install.sh — install a manifest-push release binary, checksum verified.
#
#   VERSION=v1.2.3 scripts/install.sh
#
# Downloads manifest-push_<version>_<os>_<arch>[.exe] and SHA256SUMS from
# $RELEASES/$VERSION (default: the project's GitHub releases), checks the
# binary against SHA256SUMS, and installs it as manifest-push in $BIN_DIR
# (default: $RUNNER_TEMP/manifest-push/bin or ~/.local/bin), which is added
# to $GITHUB_PATH when running under GitHub Actions. The platform is this
# machine's (uname), or GOOS/GOARCH when set.
set -eu

version=${VERSION:-}
if ! printf '%s\n' "$version" | grep -Eq '^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$'; then
	echo "install: VERSION=\"$version\" is not a release version: give the action's version input (vMAJOR.MINOR.PATCH), or use the action at a release tag" >&2
	exit 2
fi
releases=${RELEASES:-https://github.com/manifest-push/manifest-push/releases/download}

os=${GOOS:-}
if [ -z "$os" ]; then
	case $(uname -s) in
	Linux) os=linux ;;
	Darwin) os=darwin ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT) os=windows ;;
	*) echo "install: unsupported system $(uname -s)" >&2; exit 1 ;;
	esac
fi
arch=${GOARCH:-}
if [ -z "$arch" ]; then
	case $(uname -m) in
	x86_64 | amd64) arch=amd64 ;;
	aarch64 | arm64) arch=arm64 ;;
	armv7l | armv7*) arch=armv7 ;;
	ppc64le) arch=ppc64le ;;
	s390x) arch=s390x ;;
	riscv64) arch=riscv64 ;;
	*) echo "install: unsupported machine $(uname -m)" >&2; exit 1 ;;
	esac
fi
ext=
if [ "$os" = windows ]; then ext=.exe; fi
asset="manifest-push_${version#v}_${os}_${arch}${ext}"

bin_dir=${BIN_DIR:-}
if [ -z "$bin_dir" ]; then
	if [ -n "${RUNNER_TEMP:-}" ]; then bin_dir=$RUNNER_TEMP/manifest-push/bin; else bin_dir=$HOME/.local/bin; fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/$asset" "$releases/$version/$asset"
curl -fsSL --retry 3 -o "$work/SHA256SUMS" "$releases/$version/SHA256SUMS"
want=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$work/SHA256SUMS")
if [ -z "$want" ]; then
	echo "install: $asset is not in SHA256SUMS of $version" >&2
	exit 1
fi
if command -v sha256sum >/dev/null 2>&1; then
	got=$(sha256sum "$work/$asset" | awk '{ print $1 }')
else
	got=$(shasum -a 256 "$work/$asset" | awk '{ print $1 }')
fi
if [ "$got" != "$want" ]; then
	echo "install: $asset has SHA-256 $got, SHA256SUMS says $want: not installed" >&2
	exit 1
fi
mkdir -p "$bin_dir"
install -m 0755 "$work/$asset" "$bin_dir/manifest-push$ext"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$bin_dir" >>"$GITHUB_PATH"; fi
echo "install: manifest-push $version ($os/$arch) in $bin_dir" >&2
