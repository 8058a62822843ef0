#!/bin/sh
# demo.sh — make demo (and make playground, DEMO_CMD=playground): install
# the qemu user-mode emulators when root with apt-get (test-deps.sh --demo),
# compile the demo program (integration/cmd/demo), saying so every few
# seconds, then run it; its "Done in" counts from the start of this script,
# compiling included. Arguments go to the demo (-registry, ...).
set -eu
start=$(date +%s)
"$(dirname "$0")/test-deps.sh" --demo
cd "$(dirname "$0")/../integration"
mkdir -p ../bin
cmd=${DEMO_CMD:-demo}
echo "==> Compile the $cmd program (integration/cmd/$cmd and go-containerregistry's registry)"
echo "    the first run compiles Go's standard library for this machine: about 40 s on two cores"
${GO:-go} build -o "../bin/$cmd" "./cmd/$cmd" &
pid=$!
last=$start
while :; do
	sleep 1
	kill -0 "$pid" 2>/dev/null || break
	now=$(date +%s)
	if [ $((now - last)) -ge 5 ]; then
		echo "    $((now - start))s  still compiling the $cmd"
		last=$now
	fi
done
wait "$pid"
MP_DEMO_START=$start exec "../bin/$cmd" "$@"
