package fake

import "sync"

// outage is a fake's lock and its switch that makes every method fail, as
// a database that cannot be reached (licet.EUNAVAILABLE) or one that fails.
type outage struct {
	mu   sync.Mutex
	down error
}

// Down makes every method fail with err until Down(nil).
func (o *outage) Down(err error) {
	o.mu.Lock()
	o.down = err
	o.mu.Unlock()
}

// enter locks the store; while it is down it unlocks and fails. On
// success the caller unlocks.
func (o *outage) enter() error {
	o.mu.Lock()
	if o.down != nil {
		err := o.down
		o.mu.Unlock()
		return err
	}
	return nil
}
