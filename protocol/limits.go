package protocol

import "time"

// Bounds every device applies to what it downloads and believes.
const (
	// MaxOfflineLicenseBytes is the largest offline license file a device
	// reads. A license for 10,000 users is about 400 KB; 8 MiB leaves room
	// for 200,000 and keeps a phone's memory safe from a hostile backend.
	MaxOfflineLicenseBytes = 8 << 20
	// MaxAnswerBytes is the largest check answer or key set a device reads.
	MaxAnswerBytes = 1 << 20

	// DefaultLeaseLength is the server's default --lease-duration, and so
	// the longest exp − iat a device believes in a lease unless the app is
	// configured for longer leases.
	DefaultLeaseLength = 7 * 24 * time.Hour
	// MaxLeaseLength is the longest --lease-duration a server accepts.
	MaxLeaseLength = 366 * 24 * time.Hour
	// DefaultBackupLeaseLength is the server's default --backup-lease: the
	// longest lease a backup (read-only) server signs.
	DefaultBackupLeaseLength = 24 * time.Hour
	// MaxOfflineValidity is the longest validity (exp − iat) of an offline
	// license: the server refuses to issue longer ones and a device refuses
	// to believe them.
	MaxOfflineValidity = 366 * 24 * time.Hour
	// DefaultDrift is how far a device's clock may be off from the server's.
	DefaultDrift = 5 * time.Minute
)
