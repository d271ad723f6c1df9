package activities

import (
	"context"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatEvery is how often network phases heartbeat: well inside the
// transcode's 20 s heartbeat timeout (workflows.transcodeHeartbeatTimeout).
const heartbeatEvery = 5 * time.Second

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

// keepAlive heartbeats until the returned stop is called.
func (p *progressBeat) keepAlive() (stop func()) {
	activity.RecordHeartbeat(p.ctx, int(p.percent.Load()))
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
			case <-p.ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(p.ctx, int(p.percent.Load()))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
