// Package version names the build, for results headers and --version.
package version

// Version is stormtest's release. Results files record it so that a reader knows which
// generator wrote them.
const Version = "0.1.0"

// Generator is the string results headers carry.
func Generator() string { return "stormtest " + Version }
