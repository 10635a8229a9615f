package ottavo

import "context"

// Lease is the answer of Lock.TryLock: whether the lock was taken, and how to
// give it back:
//
//	lease, err := client.Lock.TryLock(ctx, "lock_demo", "orders", "me", 30)
//	if err != nil { ... }
//	if lease.Acquired {
//		defer lease.Unlock(ctx)
//		...
//	}
type Lease struct {
	// Acquired is true when the caller now holds the lock.
	Acquired bool
	release  func(context.Context) (int32, error)
	released bool
}

func newLease(acquired bool, release func(context.Context) (int32, error)) *Lease {
	return &Lease{Acquired: acquired, release: release}
}

// Unlock releases the lock if this lease holds it and has not released it yet.
// It answers the runtime's unlock status (0 is SUCCESS: see runtimev1.UnlockResponse_Status).
func (l *Lease) Unlock(ctx context.Context) (int32, error) {
	if !l.Acquired || l.released {
		return 0, nil
	}
	l.released = true
	return l.release(ctx)
}
