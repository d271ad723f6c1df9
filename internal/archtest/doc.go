// Package archtest checks that the project's packages depend on each other
// in the one-way direction of the architecture (ARCHITECTURE §1a): each
// package imports only the packages its row allows, and the API, the bridge
// and the outbox never reach the worker side, not even through a package
// they share with it.
package archtest
