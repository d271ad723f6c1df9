package capacity

import "time"

// Depth is one sample of a burst's queue, from PostgreSQL: videos still
// uploaded (waiting for a worker) and processing.
type Depth struct {
	At                  time.Duration // since the burst's first upload
	Waiting, Processing int
}

// WorkerRun is one burst through one worker setting.
type WorkerRun struct {
	Label       string
	Workers     int // worker processes
	Concurrency int // ANB_WORKER_CONCURRENCY of each
	Threads     int // ANB_FFMPEG_THREADS of each
	Videos      int
	Bytes       int64
	Uploading   time.Duration // until the last upload was answered
	Elapsed     time.Duration // first upload to last video processed
	Depth       []Depth
	// CPU over the burst in percent of one core: the machine's, and the
	// worker processes' with their ffmpeg runs.
	MachineCPU, WorkersCPU float64
}

// PerMinute is the burst's throughput in videos per minute.
func (r WorkerRun) PerMinute() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Videos) / r.Elapsed.Minutes()
}

// CPUPerVideo is the worker processes' CPU seconds (ffmpeg included) per
// video of the burst: it moves much less than videos per minute with
// what else runs on a shared machine.
func (r WorkerRun) CPUPerVideo() float64 {
	if r.Videos == 0 {
		return 0
	}
	return r.WorkersCPU / 100 * r.Elapsed.Seconds() / float64(r.Videos)
}
