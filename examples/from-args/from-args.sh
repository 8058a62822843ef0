#!/bin/sh
# The helloarch index described by flags instead of a spec file: what a build
# script runs once it has pushed one image per platform, tagged
# helloarch:VERSION-OS-ARCH[-VARIANT]. An empty VARIANT also drops the "-"
# before it: linux/amd64 reads helloarch:1.0-linux-amd64, linux/arm/v7 reads
# helloarch:1.0-linux-arm-v7. The windows entry's os.version comes from its
# image config.
#
# Arguments are passed on to manifest-push, for example:
#
#   REGISTRY=localhost:5000 VERSION=1.0 ./from-args.sh --plain-http
#   ./from-args.sh --plain-http --dry-run --output json
set -eu

REGISTRY=${REGISTRY:-localhost:5000}
VERSION=${VERSION:-1.0}

exec "${MANIFEST_PUSH:-manifest-push}" from-args \
	--platforms linux/amd64,linux/arm64,linux/arm/v7,linux/ppc64le,linux/s390x,windows/amd64 \
	--template "$REGISTRY/helloarch:$VERSION-OS-ARCH-VARIANT" \
	--target "$REGISTRY/helloarch:$VERSION" \
	--tags 1,latest \
	"$@"
