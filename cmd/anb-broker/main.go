// Command anb-broker is the local stand-in for Kafka: a single broker that
// speaks the Kafka wire protocol (kfake), keeping topics and committed
// consumer-group offsets in a data directory so queued tasks survive a
// restart. Production uses a real Kafka.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/anb-showcase/anb/devstack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "anb-broker:", err)
		os.Exit(1)
	}
}

func run() error {
	port := flag.Int("port", 19092, "loopback port to listen on")
	dataDir := flag.String("data", ".data/kafka", "data directory (empty: in memory)")
	topics := flag.String("topics", "video_tasks", "comma-separated topics to create")
	partitions := flag.Int("partitions", 3, "partitions per topic")
	flag.Parse()

	k, err := devstack.StartKafka(devstack.KafkaOptions{
		Port: *port, DataDir: *dataDir, Topics: strings.Split(*topics, ","), Partitions: int32(*partitions),
	})
	if err != nil {
		return err
	}
	slog.Info("kafka broker listening", "addr", k.Addr(), "data", *dataDir, "topics", *topics)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	k.Close()
	slog.Info("kafka broker stopped")
	return nil
}
