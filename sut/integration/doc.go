// Package integration holds the shop's integration tests: every service as a
// real child process of the sut binary, killed with SIGKILL under load.
package integration
