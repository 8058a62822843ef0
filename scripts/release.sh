#!/bin/sh
# release.sh VERSION DIST — build manifest-push's release binaries.
#
# VERSION is vMAJOR.MINOR.PATCH[-PRERELEASE] (it is stamped as main.version);
# the binaries go to DIST as manifest-push_<version>_<os>_<arch>[.exe], where
# <version> is VERSION without its "v" and <arch> carries an arm variant
# (armv7), with SHA256SUMS beside them (sha256sum -c SHA256SUMS checks them).
# TARGETS (space-separated os/arch[/variant]) overrides the platform list.
#
# The builds are reproducible: static (CGO_ENABLED=0), -trimpath (no paths
# of this machine), -buildvcs=false (no git state), an empty build ID, no
# timestamps; the same source and Go toolchain give the same bytes.
set -eu

version=${1:-}
dist=${2:-dist}
if ! printf '%s\n' "$version" | grep -Eq '^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$'; then
	echo "release: VERSION=\"$version\" is not a release version: give vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. make release VERSION=v1.2.3" >&2
	exit 2
fi
targets=${TARGETS:-linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le linux/s390x linux/riscv64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}

cd "$(dirname "$0")/.."
mkdir -p "$dist"
rm -f "$dist"/manifest-push_* "$dist/SHA256SUMS"
for target in $targets; do
	os=${target%%/*}
	rest=${target#*/}
	arch=${rest%%/*}
	variant=
	if [ "$rest" != "$arch" ]; then variant=${rest#*/}; fi
	ext=
	if [ "$os" = windows ]; then ext=.exe; fi
	out="$dist/manifest-push_${version#v}_${os}_${arch}${variant}${ext}"
	echo "release: $out" >&2
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=${variant#v} GOFLAGS=-mod=readonly \
		go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X main.version=$version" \
		-o "$out" ./cmd/manifest-push
done
cd "$dist"
if command -v sha256sum >/dev/null 2>&1; then
	sha256sum manifest-push_* >SHA256SUMS
else
	shasum -a 256 manifest-push_* >SHA256SUMS
fi
cat SHA256SUMS
