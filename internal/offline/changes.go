package offline

import (
	"context"
	"encoding/json"

	"github.com/licet/licet"
	"github.com/licet/licet/protocol"
)

// Changes compares the users who hold a license now with the newest
// offline license: how many an Update would add, and how many it would
// drop because they were unassigned (or deleted) or disabled.
func (s *Service) Changes(ctx context.Context, orgID string) (*licet.OfflineChanges, error) {
	o, err := s.Store.Organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	c := &licet.OfflineChanges{AutoAssign: o.Settings.AutoAssign}
	inFile := map[string]string{} // user → type
	is, err := s.Store.OfflineDocument(ctx, orgID)
	switch {
	case licet.ErrorCode(err) == licet.ENOTFOUND:
	case err != nil:
		return nil, err
	default:
		c.Serial, c.IssuedAt = is.Serial, is.IssuedAt
		_, _, payload, err := protocol.SplitOffline(is.Document)
		var l protocol.OfflineLicense
		if err == nil {
			err = json.Unmarshal(payload, &l)
		}
		if err != nil {
			return nil, err
		}
		for typ, ids := range l.Users {
			for _, id := range ids {
				inFile[id] = typ
			}
		}
	}
	pools, err := s.Store.Pools(ctx, orgID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	licensed, off, err := s.Store.OfflineHolders(ctx, orgID)
	if err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(licensed))
	for id, typ := range licensed {
		if _, ok := licet.ActiveUntil(now, pools, typ); !ok {
			continue // not in a file either: its pool has ended
		}
		held[id] = true
		if t, ok := inFile[id]; !ok || t != typ {
			c.Licensed++
		}
	}
	for id := range inFile {
		switch {
		case held[id]:
		case off[id]:
			c.Disabled++
		default:
			c.Unassigned++
		}
	}
	return c, nil
}
