// Package cluster holds the test of many instances on one machine: three
// API processes behind HAProxy, two bridges in one consumer group and two
// workers, all as real processes beside PostgreSQL, Temporal, the Kafka
// broker and versitygw. Uploads, votes and reads go through the balancer
// while an API and a worker are killed. Run it with `make test-cluster`.
package cluster
