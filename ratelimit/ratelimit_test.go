package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyedTakeCheckDebit(t *testing.T) {
	l := NewKeyed(2, time.Hour)
	_, ok := l.Check("a")
	assert.True(t, ok, "check spends nothing")
	for range 2 {
		_, ok := l.Take("a")
		require.True(t, ok)
	}
	wait, ok := l.Take("a")
	assert.False(t, ok)
	assert.InDelta(t, 30*time.Minute, wait, float64(time.Minute), "one event back in period/burst")
	_, ok = l.Take("b")
	assert.True(t, ok, "keys count apart")

	l.Debit("b")
	l.Debit("b") // into debt: the wait grows
	wait, ok = l.Check("b")
	assert.False(t, ok)
	assert.Greater(t, wait, 30*time.Minute)
}

func TestOffLimitsAllowAll(t *testing.T) {
	var l *Keyed = NewKeyed(0, time.Hour)
	assert.Nil(t, l)
	for range 10 {
		_, ok := l.Take("a")
		require.True(t, ok)
	}
	l.Debit("a")
	f := NewInFlight(0)
	release, ok := f.Acquire("a")
	require.True(t, ok)
	release()
}

func TestInFlight(t *testing.T) {
	f := NewInFlight(1)
	release, ok := f.Acquire("ana")
	require.True(t, ok)
	_, ok = f.Acquire("ana")
	assert.False(t, ok, "one at a time")
	other, ok := f.Acquire("bea")
	require.True(t, ok, "per key")
	other()
	release()
	release() // a second release gives nothing back twice
	again, ok := f.Acquire("ana")
	require.True(t, ok)
	_, ok = f.Acquire("ana")
	assert.False(t, ok, "the double release did not free two places")
	again()
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"not an address":       "not an address",
	} {
		assert.Equal(t, want, AddressKey(in), in)
	}
}

func TestNetworkKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.0/24",
		"203.0.113.250":        "203.0.113.0/24",
		"::ffff:203.0.113.9":   "203.0.113.0/24",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::/64":    "2001:db8:1:2::/64", // an AddressKey
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
	} {
		assert.Equal(t, want, NetworkKey(in), in)
		assert.Equal(t, want, NetworkKey(AddressKey(in)), "from the AddressKey of "+in)
	}
}

func TestSignupsPerNetworkCountAcrossAddresses(t *testing.T) {
	ctx := context.Background()
	shared := NewShared(NewMemoryBuckets(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	signups := shared.Limit(SignupsPerAddress, 5, time.Hour)
	networks := shared.Limit(SignupsPerNetwork, 3, time.Hour)
	for i := range 3 {
		addr := AddressKey("198.51.100." + string(rune('1'+i)))
		_, ok, err := signups.Take(ctx, addr)
		require.NoError(t, err)
		require.True(t, ok)
		_, ok, err = networks.Take(ctx, NetworkKey(addr))
		require.NoError(t, err)
		require.True(t, ok)
	}
	// A fourth address of the /24 has its own allowance but not its network's.
	_, ok, err := signups.Check(ctx, "198.51.100.9")
	require.NoError(t, err)
	assert.True(t, ok)
	_, ok, err = networks.Check(ctx, NetworkKey("198.51.100.9"))
	require.NoError(t, err)
	assert.False(t, ok)
	_, ok, err = networks.Check(ctx, NetworkKey("198.51.101.9"))
	require.NoError(t, err)
	assert.True(t, ok, "the next /24 is another network")
}
