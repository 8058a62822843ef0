// Command hello greets the platform it was built for: the program of the
// helloarch story, built once per platform and published under one name.
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func main() {
	fmt.Printf("Hello, %s!\n", platform())
}

// platform is GOOS/GOARCH, plus the ARM variant (v5, v6, v7) for 32-bit ARM.
func platform() string {
	p := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH != "arm" {
		return p
	}
	variant := "v7"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOARM" && s.Value != "" {
				variant = "v" + s.Value[:1]
			}
		}
	}
	return p + "/" + variant
}
