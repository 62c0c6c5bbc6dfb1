// Package vectors holds licet's conformance vectors: leases and offline
// licenses made by the server's own signing code, each with the outcome
// every verifier (the Go protocol package, sdk/js, sdk/java) must reach.
// The JSON files beside this one are the vectors; `go test ./sdk/vectors`
// makes them again and fails when they differ from the files (`-update`
// rewrites them). README.md describes the format.
package vectors
