// Package faults holds the fault-injection tests: the whole system runs as
// real processes (api, bridge, worker, PostgreSQL, Temporal, the Kafka
// broker, versitygw), a batch of uploads goes through while one part is
// killed or stopped, and every accepted video must end processed exactly
// once. Run them with `make test-faults`.
package faults
