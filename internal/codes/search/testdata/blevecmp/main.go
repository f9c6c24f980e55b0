// Command blevecmp measures bleve on the same documents and queries as the
// hand-written index in package search, for the engine decision recorded
// in docs/search.md. It is a separate module (so bleve stays out of
// codedesk's go.mod) kept under testdata so the go tool ignores it.
//
//	mkdir -p /tmp/dump
//	CODEDESK_SEARCH_DUMP=/tmp/dump go test ./internal/codes/search -run TestDumpCorpus
//	cd internal/codes/search/testdata/blevecmp && go run . -dump /tmp/dump
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/search/query"
)

type doc struct {
	System, Code, Text, Field, Evidence string
	Billable                            bool
}

func main() {
	dump := flag.String("dump", "/tmp/dump", "folder written by TestDumpCorpus")
	lay := flag.String("lay", "../lay_phrasings.tsv", "lay phrasings file")
	step := flag.Int("step", 20, "use every step-th official descriptor for accuracy")
	flag.Parse()

	var docs []doc
	readJSONL(*dump+"/docs.jsonl", func(b []byte) {
		var d doc
		must(json.Unmarshal(b, &d))
		docs = append(docs, d)
	})
	// Same rule as search.Build: a short descriptor only where no long one.
	hasLong := map[string]bool{}
	for _, d := range docs {
		if d.Field == "long" {
			hasLong[d.System+" "+d.Code] = true
		}
	}
	kept := docs[:0]
	for _, d := range docs {
		if d.Field == "short" && hasLong[d.System+" "+d.Code] {
			continue
		}
		kept = append(kept, d)
	}
	docs = kept

	m := bleve.NewIndexMapping()
	dm := bleve.NewDocumentMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer = en.AnalyzerName
	kw := bleve.NewKeywordFieldMapping()
	dm.AddFieldMappingsAt("text", text)
	dm.AddFieldMappingsAt("system", kw)
	dm.AddFieldMappingsAt("code", kw)
	m.DefaultMapping = dm
	m.DefaultAnalyzer = en.AnalyzerName

	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	ix, err := bleve.NewMemOnly(m)
	must(err)
	b := ix.NewBatch()
	for i, d := range docs {
		must(b.Index(fmt.Sprint(i), map[string]any{"text": d.Text, "system": d.System, "code": d.Code}))
		if b.Size() == 2000 {
			must(ix.Batch(b))
			b = ix.NewBatch()
		}
	}
	must(ix.Batch(b))
	build := time.Since(t0)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	fmt.Printf("bleve %s: indexed %d docs in %v, heap %.0f MiB\n", "v2.6.3", len(docs), build.Round(time.Millisecond),
		float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20))

	search := func(q, system string, limit int) []string {
		mq := bleve.NewMatchQuery(q)
		mq.SetField("text")
		var qq query.Query = mq
		if system != "" {
			tq := bleve.NewTermQuery(system)
			tq.SetField("system")
			qq = bleve.NewConjunctionQuery(mq, tq)
		}
		req := bleve.NewSearchRequestOptions(qq, 5*limit, 0, false)
		res, err := ix.Search(req)
		must(err)
		var codes []string
		for _, h := range res.Hits {
			var n int
			fmt.Sscan(h.ID, &n)
			c := docs[n].Code
			if !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
			if len(codes) == limit {
				break
			}
		}
		return codes
	}

	var qs []string
	readJSONL(*dump+"/bench_queries.jsonl", func(b []byte) {
		var q string
		must(json.Unmarshal(b, &q))
		qs = append(qs, q)
	})
	var lat []time.Duration
	for round := 0; round < 5; round++ {
		for _, q := range qs {
			t := time.Now()
			search(q, "", 10)
			lat = append(lat, time.Since(t))
		}
	}
	slices.Sort(lat)
	fmt.Printf("latency over %d queries x5: p50 %v p99 %v max %v\n", len(qs),
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))

	type acc struct{ n, top1, top5 int }
	score := func(a *acc, got []string, want []string) {
		a.n++
		for k, c := range got {
			if slices.Contains(want, c) {
				if k == 0 {
					a.top1++
				}
				a.top5++
				return
			}
		}
	}
	res := map[string]*acc{"icd10cm": {}, "hcpcs": {}}
	i := 0
	readJSONL(*dump+"/evals.jsonl", func(b []byte) {
		var e [3]string
		must(json.Unmarshal(b, &e))
		if i%*step == 0 {
			score(res[e[0]], search(e[2], e[0], 5), []string{e[1]})
		}
		i++
	})
	for _, sys := range []string{"icd10cm", "hcpcs"} {
		a := res[sys]
		fmt.Printf("%s official descriptors (every %dth): n=%d top-1 %.2f%% top-5 %.2f%%\n", sys, *step, a.n,
			100*float64(a.top1)/float64(a.n), 100*float64(a.top5)/float64(a.n))
	}
	f, err := os.Open(*lay)
	must(err)
	var la acc
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		score(&la, search(c[1], c[0], 5), strings.Split(c[2], ","))
	}
	fmt.Printf("lay phrasings: n=%d top-1 %.2f%% top-5 %.2f%%\n", la.n, 100*float64(la.top1)/float64(la.n), 100*float64(la.top5)/float64(la.n))
}

func readJSONL(path string, fn func([]byte)) {
	f, err := os.Open(path)
	must(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	must(sc.Err())
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
