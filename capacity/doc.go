// Package capacity measures what one machine running the whole system
// sustains and writes the capacity plan, docs/capacity.md, with its plots
// under docs/capacity/. Scenario 1 ramps virtual users through the web
// tier's mixed flow; scenario 2 times a burst of phone-sized uploads
// through one and then two worker processes. `make bench` runs both
// (ANB_CAPACITY=1); every other test run skips them.
package capacity
