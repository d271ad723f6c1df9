package bench

import (
	"fmt"
	"io"
	"runtime"
	"strings"
)

func ms(d interface{ Seconds() float64 }) string { return fmt.Sprintf("%.1f", d.Seconds()*1000) }

// printTable writes the rows and whether each target is met.
func printTable(w io.Writer, rows []result, cfg settings) {
	fmt.Fprintf(w, "\nAPI speed: %d CPUs (GOMAXPROCS), %d connections for reads, %s per measurement; load generator in the same process\n",
		runtime.GOMAXPROCS(0), cfg.conns, cfg.duration)
	fmt.Fprintf(w, "| %-46s | %10s | %7s | %7s | %7s | %-32s | %6s | %-42s | %-7s |\n",
		"endpoint", "rate", "p50 ms", "p95 ms", "p99 ms", "compared with", "ratio", "target", "")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", dash(48), dash(12), dash(9), dash(9), dash(9), dash(34), dash(8), dash(44), dash(9))
	for _, r := range rows {
		upload := strings.Contains(r.name, "upload")
		unit := "/s"
		if upload {
			unit = " MB/s"
		}
		target := fmt.Sprintf(">= %.0f %%", r.minRatio*100)
		ok := r.ratio() >= r.minRatio && r.errors == 0
		if r.maxP99Ms > 0 {
			target += fmt.Sprintf(", p99 <= %.0f ms", r.maxP99Ms)
			ok = ok && r.p99.Seconds()*1000 <= r.maxP99Ms
		}
		if upload {
			target += fmt.Sprintf(", heap +%.1f MB (<= 32 MB)", float64(r.memGrowth)/(1<<20))
			ok = ok && r.memGrowth <= 32<<20
		}
		verdict := "met"
		if !ok {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "| %-46s | %10s | %7s | %7s | %7s | %-32s | %5.0f%% | %-42s | %-7s |\n",
			r.name, fmt.Sprintf("%.1f%s", r.rate, unit), ms(r.p50), ms(r.p95), ms(r.p99), r.baselineName, r.ratio()*100, target, verdict)
	}
	for _, r := range rows {
		if r.errors > 0 {
			fmt.Fprintf(w, "%s: %d of %d requests failed, first: %s\n", r.name, r.errors, r.requests, r.firstError)
		}
	}
}

func dash(n int) string { return strings.Repeat("-", n) }
