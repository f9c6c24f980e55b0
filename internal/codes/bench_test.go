package codes

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes/ptpgen"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// Benchmarks over the official files in ../shared/data (skipped without
// them) and a generated NCCI PTP file of 2.5 million edits. Run with
//
//	go test -run '^$' -bench . -count 5 ./internal/codes
//
// docs/bench/codes.md has the figures.

// benchDBs runs fn on a fresh SQLite database and, when
// CODEDESK_TEST_DATABASE_URL is set, on a fresh PostgreSQL schema.
func benchDBs(b *testing.B, fn func(b *testing.B, newDB func() *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, func() *store.DB { return dbtest.SQLite(b) }) })
	if os.Getenv(dbtest.EnvURL) != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, func() *store.DB { return dbtest.Postgres(b) }) })
	}
}

func benchImport(b *testing.B, rels ...string) {
	var paths []string
	for _, r := range rels {
		paths = append(paths, sharedFile(b, r))
	}
	benchDBs(b, func(b *testing.B, newDB func() *store.DB) {
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			db := newDB()
			b.StartTimer()
			if _, err := Import(ctx, db, paths, ImportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkImportICD10CM imports the ICD-10-CM order file, Tabular List and
// Alphabetic Index (target ≤ 20 s).
func BenchmarkImportICD10CM(b *testing.B) {
	benchImport(b, sharedICD10CMOrder, sharedTabular, sharedIndex)
}

// BenchmarkImportHCPCS imports the HCPCS Level II file.
func BenchmarkImportHCPCS(b *testing.B) { benchImport(b, sharedHCPCS) }

// BenchmarkImportMUE imports the practitioner MUE table.
func BenchmarkImportMUE(b *testing.B) { benchImport(b, sharedMUE) }

const ptpRows = 2_500_000

// benchDirs are the temporary directories the shared benchmark fixtures
// live in; TestMain removes them.
var benchDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

var (
	ptpOnce sync.Once
	ptpPath string
	ptpErr  error
)

// generatedPTP writes the 2.5M-edit PTP file once per process.
func generatedPTP(b *testing.B) string {
	ptpOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codedesk-ptp-")
		if err != nil {
			ptpErr = err
			return
		}
		benchDirs = append(benchDirs, dir)
		ptpPath = filepath.Join(dir, "ccipra-v321r0-f1.txt")
		f, err := os.Create(ptpPath)
		if err != nil {
			ptpErr = err
			return
		}
		if ptpErr = ptpgen.Write(f, ptpRows, 1); ptpErr == nil {
			ptpErr = f.Close()
		}
	})
	if ptpErr != nil {
		b.Fatal(ptpErr)
	}
	return ptpPath
}

// peakRSS returns the process's peak resident set size in MB (VmHWM).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkImportPTP imports a generated practitioner PTP file of 2.5
// million edits (target ≤ 60 s, peak RSS ≤ 500 MB; run it alone for a
// meaningful peak-RSS figure).
func BenchmarkImportPTP(b *testing.B) {
	if testing.Short() {
		b.Skip("2.5M-row import skipped in -short mode")
	}
	path := generatedPTP(b)
	benchDBs(b, func(b *testing.B, newDB func() *store.DB) {
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			db := newDB()
			b.StartTimer()
			res, err := Import(ctx, db, []string{path}, ImportOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if res[0].Rows != ptpRows {
				b.Fatalf("imported %d rows, want %d", res[0].Rows, ptpRows)
			}
		}
		b.ReportMetric(peakRSS(), "peak-RSS-MB")
		b.ReportMetric(float64(ptpRows)/b.Elapsed().Seconds()*float64(b.N), "rows/s")
	})
}

var (
	kbOnce sync.Once
	kbFull *KB
	kbErr  error
)

// fullKB imports every shared file plus the generated PTP file into one
// SQLite database (once per process) and loads it.
func fullKB(b *testing.B) *KB {
	var paths []string
	for _, f := range sharedAll {
		paths = append(paths, sharedFile(b, f.rel))
	}
	paths = append(paths, generatedPTP(b))
	kbOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codedesk-kb-")
		if err != nil {
			kbErr = err
			return
		}
		benchDirs = append(benchDirs, dir)
		ctx := context.Background()
		db, err := store.Open(ctx, filepath.Join(dir, "codedesk.db"), store.Options{})
		if err != nil {
			kbErr = err
			return
		}
		if _, err := store.Migrate(ctx, db); err != nil {
			kbErr = err
			return
		}
		if _, err := Import(ctx, db, paths, ImportOptions{}); err != nil {
			kbErr = err
			return
		}
		kbFull, kbErr = Load(ctx, db)
	})
	if kbErr != nil {
		b.Fatal(kbErr)
	}
	return kbFull
}

// BenchmarkLoad builds a KB from the full database (what serve does at
// start-up and after imports).
func BenchmarkLoad(b *testing.B) {
	kb := fullKB(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := Load(ctx, kb.db); err != nil {
			b.Fatal(err)
		}
	}
}

// lookupCodes is a varied set: billable and header ICD-10-CM codes (with
// notes and inherited 7th characters), HCPCS codes and modifiers, CPT
// codes known by number, PCS codes, deleted and unknown codes.
var lookupCodes = []string{"E11.22", "e1122", "I21.02", "M80.08XA", "S72.001A", "Z20.822", "U07.1", "E11.9", "J45.909",
	"N18.30", "I10", "F32.A", "E11", "S72", "M51.36", "K0001", "J2405", "A0426", "G0008", "GA", "XE", "99213", "36415",
	"0DTJ4ZZ", "02HM3JZ", "C81.0A", "R07.9", "O24.410", "T81.32XA", "E11.23"}

// BenchmarkLookup measures KB.Lookup over varied codes at a date of
// service, reporting the median and 99th percentile of single calls
// (target p50 ≤ 10 µs).
func BenchmarkLookup(b *testing.B) {
	kb := fullKB(b)
	dos := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)
	lat := make([]time.Duration, 0, 1<<16)
	i := 0
	for b.Loop() {
		c := lookupCodes[i%len(lookupCodes)]
		i++
		t0 := time.Now()
		if es := kb.Lookup(c, dos); len(es) == 0 {
			b.Fatal("no entry")
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkCheck5 checks five codes billed together (three procedures, two
// diagnoses) against the full database with 2.5M PTP edits.
func BenchmarkCheck5(b *testing.B) {
	kb := fullKB(b)
	ctx := context.Background()
	dos := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sets := [][]string{
		{"29881", "29877", "J2405", "E11.9", "E10.9"},
		{"99213", "36415", "93000", "I21.02", "E11.22"},
		{"11042", "97597", "20610", "M80.08XA", "S72.001A"},
	}
	lat := make([]time.Duration, 0, 1<<14)
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := kb.Check(ctx, sets[i%len(sets)], dos); err != nil {
			b.Fatal(err)
		}
		i++
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	reportPercentiles(b, lat)
}
