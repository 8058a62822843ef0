# syntax=docker/dockerfile:1
#
# manifest-push's container image: a static binary on Alpine (CA
# certificates, and a shell, which GitLab CI jobs need), with the ECR, Google
# and Azure credential helpers and cosign (the signer --sign runs), run as a
# non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t manifest-push .
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/ppc64le,linux/s390x \
#     --build-arg VERSION=1.0.0 -t registry.example.com/manifest-push:1.0.0 --push .
#
# The builder runs on the build machine's platform and cross-compiles for the
# target platform, so a multi-platform build needs no emulation.

ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS TARGETARCH TARGETVARIANT
# GOARM is the digit of an arm variant (v7 → 7); other architectures ignore
# it. -buildvcs=false: the image has no git to read the .git directory with.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
	go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" \
	-o /out/manifest-push ./cmd/manifest-push

# The Docker credential helpers of Amazon ECR, Google (GCR, Artifact
# Registry) and Azure (ACR, from the environment), at the versions
# credhelpers/go.mod pins, so that a Docker config's credsStore or
# credHelpers naming them works inside the image.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	cd credhelpers && CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
	go build -trimpath -ldflags "-s -w" -o /out/ \
	github.com/awslabs/amazon-ecr-credential-helper/ecr-login/cli/docker-credential-ecr-login \
	github.com/GoogleCloudPlatform/docker-credential-gcr/v2 \
	github.com/chrismellard/docker-credential-acr-env

# cosign, the signer --sign runs by default (found on PATH), at the version
# signers/go.mod pins (a module of its own, so that its dependencies do not
# mix with the credential helpers'). Built from that module, cosign would
# say "devel" to `cosign version`: -X gives it the pinned version, as
# cosign's own release builds do.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	cd signers && COSIGN_VERSION=$(go list -m -f '{{.Version}}' github.com/sigstore/cosign/v2) \
	&& CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
	go build -trimpath -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=${COSIGN_VERSION}" \
	-o /out/cosign github.com/sigstore/cosign/v2/cmd/cosign

FROM alpine:${ALPINE_VERSION}
# The user has a home directory: cosign keeps the sigstore trust root it
# fetches for keyless signing under $HOME/.sigstore.
RUN apk add --no-cache ca-certificates \
	&& adduser -D -u 65532 -s /sbin/nologin nonroot
COPY --from=build /out/manifest-push /out/docker-credential-* /out/cosign /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["manifest-push"]
