package search

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkBuild builds the index over the shared ICD-10-CM (descriptors,
// inclusion terms, Index paths), ICD-10-PCS and HCPCS data, as the KB does
// at server start. It reports the documents indexed and the heap the index
// keeps beyond the documents themselves.
func BenchmarkBuild(b *testing.B) {
	c := loadShared(b)
	b.ReportAllocs()
	for b.Loop() {
		runtime.KeepAlive(Build(c.docs))
	}
	b.StopTimer()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ix := Build(c.docs)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(ix.Len()), "docs")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "index-MiB")
	runtime.KeepAlive(ix)
}

// benchQueries returns 1,000 varied queries: official long descriptors,
// their first words, lay phrasings, abbreviated clinical notes and
// procedure and supply phrases, from every system.
func benchQueries(tb testing.TB, c *sharedCorpus) []string {
	tb.Helper()
	var qs []string
	for _, l := range readLayCases(tb) {
		qs = append(qs, l.query)
	}
	qs = append(qs,
		"T2DM w/ CKD stage 3", "CHF exacerbation", "COPD w/ acute exacerbation", "HTN w/ CKD",
		"UTI in pregnancy", "acute MI of anterior wall", "fx of left radius, initial", "T1DM w/o complications",
		"closed fx right femoral neck", "NSTEMI", "DVT left leg", "afib with rvr", "GERD w/o esophagitis",
		"pneumonia due to MRSA", "sepsis due to e coli", "s/p CABG", "hx of breast ca", "ESRD on dialysis",
	)
	// Descriptors and their first two to four words, spread over the codes.
	step := len(c.evals) / 420
	for i := 0; i < len(c.evals) && len(qs) < 1000; i += step {
		e := c.evals[i]
		qs = append(qs, e.text)
		w := strings.Fields(e.text)
		n := 2 + i%3
		if len(w) > n {
			qs = append(qs, strings.Join(w[:n], " "))
		}
	}
	if len(qs) < 1000 {
		tb.Fatalf("benchQueries: only %d queries", len(qs))
	}
	return qs[:1000]
}

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// BenchmarkSearch runs 1,000 varied queries per iteration over the full
// index and reports per-query latency percentiles: wall clock, and the CPU
// time of the searching thread (the wall clock on a shared 2-core machine
// also counts the time other processes held the CPU).
func BenchmarkSearch(b *testing.B) {
	ix, c := loadSharedIndex(b)
	qs := benchQueries(b, c)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]time.Duration, 0, len(qs)*b.N)
	cpu := make([]time.Duration, 0, len(qs)*b.N)
	b.ResetTimer()
	for b.Loop() {
		for _, q := range qs {
			t0, c0 := time.Now(), threadCPU()
			ix.Search(q, Options{Limit: 10})
			cpu = append(cpu, threadCPU()-c0)
			lat = append(lat, time.Since(t0))
		}
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) / 1e3
	}
	slices.Sort(lat)
	slices.Sort(cpu)
	b.ReportMetric(pct(lat, 0.50), "p50-µs")
	b.ReportMetric(pct(lat, 0.99), "p99-µs")
	b.ReportMetric(pct(cpu, 0.50), "cpu-p50-µs")
	b.ReportMetric(pct(cpu, 0.99), "cpu-p99-µs")
	b.ReportMetric(float64(len(qs)), "queries/op")
}

// BenchmarkAccuracy reports the full accuracy figures (every billable
// ICD-10-CM and active HCPCS code's long descriptor, and the lay
// phrasings) as metrics, so they land beside the timings.
func BenchmarkAccuracy(b *testing.B) {
	ix, c := loadSharedIndex(b)
	var cm, hc, lay accuracy
	for b.Loop() {
		cm = officialAccuracy(ix, c.evals, "icd10cm", 1)
		hc = officialAccuracy(ix, c.evals, "hcpcs", 1)
		lay = layAccuracy(ix, readLayCases(b))
	}
	b.ReportMetric(100*cm.rate1(), "icd10cm-top1-%")
	b.ReportMetric(100*cm.rate5(), "icd10cm-top5-%")
	b.ReportMetric(100*hc.rate1(), "hcpcs-top1-%")
	b.ReportMetric(100*hc.rate5(), "hcpcs-top5-%")
	b.ReportMetric(100*lay.rate1(), "lay-top1-%")
	b.ReportMetric(100*lay.rate5(), "lay-top5-%")
	b.Logf("icd10cm %v; hcpcs %v; lay %v", cm, hc, lay)
}
