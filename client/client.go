// Package client is the device side of licet: it runs a whole license
// check the way the app should (the primary server, then the offline license
// on the organization's backend, then the backup server), verifies every
// answer with the keys the app trusts, and keeps the last verified lease in
// an encrypted local file. It imports nothing of licet's internals: apps
// embed it, and its documentation is the algorithm for apps in other
// languages (docs/CLIENT.md).
package client
