//go:build !race

package e2e

// raceDetector is set when the tests are built with -race.
const raceDetector = false
