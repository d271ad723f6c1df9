// Package procstack runs the whole system as separate processes on
// loopback: PostgreSQL, the Temporal dev server, the anb-broker Kafka
// stand-in, versitygw and any number of `anb api|bridge|worker` instances,
// each with a fixed port and data directory so that any part can be
// killed and started again. The fault, cluster and capacity tests share
// it; it also holds the small HTTP client they drive the API with.
package procstack
