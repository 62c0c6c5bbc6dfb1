// Package client is the device side of licet: it runs a whole license
// check the way the app should (the primary server, then the offline license
// on the organization's backend, then the backup server, then the last
// verified lease), verifies every answer with the keys the app trusts, and
// keeps the device's state (that lease, pinned and revoked keys, the latest
// time seen) in a StateStore: an encrypted local file by default, or the
// app's own database.
//
// The documents it verifies, their verifiers and their refusal codes are
// the protocol package's, which the server signs with too. It imports
// nothing of licet's internals: apps embed it, and its documentation is the
// algorithm for apps in other languages (docs/CLIENT.md).
package client
