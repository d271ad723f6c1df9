package procstack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/anb-showcase/anb/devstack"
	"github.com/anb-showcase/anb/processing"
)

// StartPostgres starts (or restarts) the durable cluster in Dir/postgres.
func (s *Stack) StartPostgres(ctx context.Context) (err error) {
	s.PG, err = devstack.StartPostgres(ctx, devstack.PostgresOptions{
		Dir: filepath.Join(s.Dir, "postgres"), Port: s.Ports["postgres"], Database: "anb", Durable: true, Log: s.Log("postgres"),
	})
	return err
}

// StartTemporal starts (or restarts) the dev server over Dir/temporal.db.
func (s *Stack) StartTemporal(ctx context.Context) (err error) {
	s.Temporal, err = devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: os.Getenv("ANB_TEMPORAL_BIN"), DBFile: filepath.Join(s.Dir, "temporal.db"), Port: s.Ports["temporal"],
		SearchAttributes: processing.SearchAttributeTypes(), Log: s.Log("temporal"),
	})
	return err
}

// StartBroker starts (or restarts) anb-broker over Dir/kafka and waits
// until it listens.
func (s *Stack) StartBroker(ctx context.Context) (err error) {
	args := []string{"--port", strconv.Itoa(s.Ports["kafka"]), "--data", filepath.Join(s.Dir, "kafka"), "--topics", Topic + "," + DLQTopic}
	if s.opts.Partitions > 0 {
		args = append(args, "--partitions", strconv.Itoa(s.opts.Partitions))
	}
	cmd := exec.Command(filepath.Join(s.bins, "anb-broker"), args...)
	if s.Broker, err = devstack.Start("kafka", cmd, s.Log("kafka")); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return devstack.WaitListening(wctx, s.Broker, s.KafkaAddr())
}

// StartS3 starts (or restarts) versitygw over Dir/s3.
func (s *Stack) StartS3(ctx context.Context) (err error) {
	s.S3, err = devstack.StartS3(ctx, devstack.S3Options{
		Bin: os.Getenv("ANB_VERSITYGW_BIN"), Dir: filepath.Join(s.Dir, "s3"), Port: s.Ports["s3"],
		AccessKey: s.opts.Name, SecretKey: s.s3Secret(), Log: s.Log("s3"),
	})
	return err
}

// KafkaAddr is the broker's bootstrap address.
func (s *Stack) KafkaAddr() string { return devstack.Addr(s.Ports["kafka"]) }
