package videos

import (
	"context"
	"sync"
	"time"

	"github.com/anb-showcase/anb/db"
)

// MemoryLeases keep the leases of one process in memory, counted as
// PostgreSQL counts them: for tests and a server without a database.
type MemoryLeases struct {
	mu     sync.Mutex
	leases map[string]memoryLease
	now    func() time.Time
}

type memoryLease struct {
	player, video string
	expires       time.Time
}

// NewMemoryLeases holds no lease.
func NewMemoryLeases() *MemoryLeases {
	return &MemoryLeases{leases: map[string]memoryLease{}, now: time.Now}
}

// TakeStreamLease is db.DB's TakeStreamLease in memory.
func (m *MemoryLeases) TakeStreamLease(_ context.Context, l db.StreamLease, perPlayer, perVideo int) (db.StreamRefusal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var player, video int
	for id, x := range m.leases {
		switch {
		case !x.expires.After(now):
			delete(m.leases, id)
			continue
		case x.player == l.PlayerID:
			player++
		}
		if x.video == l.VideoID {
			video++
		}
	}
	switch {
	case perPlayer > 0 && player >= perPlayer:
		return db.StreamPlayerFull, nil
	case perVideo > 0 && video >= perVideo:
		return db.StreamVideoFull, nil
	}
	m.leases[l.ID] = memoryLease{player: l.PlayerID, video: l.VideoID, expires: now.Add(l.Life)}
	return db.StreamGranted, nil
}

// DropStreamLease is db.DB's DropStreamLease in memory.
func (m *MemoryLeases) DropStreamLease(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, id)
	return nil
}

// PruneStreamLeases is db.DB's PruneStreamLeases in memory: the takers
// already delete every expired lease.
func (m *MemoryLeases) PruneStreamLeases(context.Context) (int64, error) { return 0, nil }

// held is how many live leases there are.
func (m *MemoryLeases) held() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.leases)
}
