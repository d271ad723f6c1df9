package activities

import (
	"context"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatEvery is how often network phases heartbeat. A cancellation
// reaches an activity only in the answer to a heartbeat, so this (with the
// worker's HeartbeatThrottle) bounds how long a deleted video's transcode
// goes on; the SDK sends no more than one beat per throttle interval.
const heartbeatEvery = time.Second

// HeartbeatThrottle is the longest the SDK may hold back a heartbeat
// (worker.Options.MaxHeartbeatThrottleInterval). Left alone it is 80 % of
// the heartbeat timeout, 16 s for the transcode: a cancellation would wait
// that long for the beat that carries it.
const HeartbeatThrottle = time.Second

// progressBeat heartbeats the transcode's progress (0-100). ffmpeg's
// progress drives it while rendering; during the S3 download and upload,
// which report nothing, keepAlive repeats the last value so a large file on
// a slow link is not mistaken for a dead worker. ffmpeg itself is never
// covered by keepAlive: a hung ffmpeg must stop heartbeating.
type progressBeat struct {
	ctx     context.Context
	percent atomic.Int64
}

func (p *progressBeat) set(percent int) {
	p.percent.Store(int64(percent))
	activity.RecordHeartbeat(p.ctx, percent)
}

// keepAlive heartbeats until the returned stop is called or the activity
// is cancelled.
func (p *progressBeat) keepAlive() (stop func()) { return p.keepAliveOn(p.ctx) }

// keepAliveOn is keepAlive heartbeating through ctx, which may outlive the
// activity's cancellation (work that must finish once started).
func (p *progressBeat) keepAliveOn(ctx context.Context) (stop func()) {
	activity.RecordHeartbeat(ctx, int(p.percent.Load()))
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, int(p.percent.Load()))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
