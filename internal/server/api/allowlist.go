package api

import (
	"context"
	"net"
	"net/url"

	"github.com/licet/licet"
	"github.com/licet/licet/protocol"
)

// AllowList names the hosts an organization's firewall must let its devices
// and administrators reach: the primary licensing server (checks and the
// console), the read-only backup, the offline license's location on the
// organization's own server, and that server as the place licet saves the
// file to. Firewalls allow names, so an address instead of a name is flagged.
func (s *API) AllowList(ctx context.Context, o *licet.Organization) []licet.Host {
	primary, backup := s.PublicURL, s.BackupURL
	if s.ReadOnly {
		primary, backup = s.PrimaryURL, s.PublicURL
	}
	var out []licet.Host
	add := func(raw, purpose string) {
		u, err := url.Parse(raw)
		if raw == "" || err != nil || u.Host == "" {
			return
		}
		h := licet.Host{Host: u.Host, URL: raw, Purpose: purpose}
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			h.Warning = "an IP address, not a host name: firewalls and devices need a stable name (set the server's public URL to one)"
		}
		out = append(out, h)
	}
	add(primary, "devices: license checks (the primary licensing server); administrators: the console")
	add(backup, "devices: license checks when the primary cannot be reached (the read-only backup server)")
	if o.Settings.Offline {
		loc, backend := protocol.OfflineLocation(o.URL), ""
		if cfg, err := s.Store.OfflineConfig(ctx, o.ID); err == nil {
			if cfg.Location != "" {
				loc = cfg.Location
			}
			backend = cfg.Backend
		}
		add(loc, "devices: the offline license file, when no licensing server answers (on the organization's own server)")
		add(backend, "inbound from the licensing server: it saves the offline license here (the organization's WebDAV server)")
	}
	return out
}
