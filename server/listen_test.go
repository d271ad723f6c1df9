package server

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listenConnections counts the database connections that listen for
// notifications (each one's last statement is a LISTEN).
func listenConnections(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, rawDB(t).QueryRowContext(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&n))
	return n
}

// TestOneListenConnection: with live event streams, the gallery and a
// player's list being served, the process holds one LISTEN connection,
// which feeds both the streams and the player cache.
func TestOneListenConnection(t *testing.T) {
	servers.Get(t)
	// The servers of earlier tests close their connection as they end.
	require.Eventually(t, func() bool { return listenConnections(t) == 0 }, 20*time.Second, 50*time.Millisecond)
	h := newHarness(t)
	p := h.newPlayer("Cali")
	first, second := h.addVideo(p, "Uno", "uploaded"), h.addVideo(p, "Dos", "processing")
	for _, id := range []string{first, second} {
		s := h.openStream("/api/videos/"+id+"/events", bearerAuth(p.Token))
		require.Equal(t, 200, s.resp.StatusCode)
		_, ok := s.next(nil)
		require.True(t, ok)
	}
	serve := func() {
		require.Equal(t, 200, h.do("GET", "/", "", nil, "").Code)
		require.Equal(t, 200, h.do("GET", "/api/public/videos", p.Token, nil, "").Code)
		require.Equal(t, 200, h.do("GET", "/api/videos", p.Token, nil, "").Code)
	}
	serve()
	require.Eventually(t, func() bool { return listenConnections(t) == 1 }, 20*time.Second, 50*time.Millisecond)
	serve()
	// A change reaches the streams through the same connection.
	require.NoError(t, otherInstance(t).MarkProcessing(context.Background(), first))
	serve()
	assert.Equal(t, 1, listenConnections(t))
}
