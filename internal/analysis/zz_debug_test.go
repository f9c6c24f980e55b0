package analysis

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/store"
)

func TestZZDebug(t *testing.T) {
	q := os.Getenv("DBGQ")
	if q == "" {
		t.Skip()
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "/tmp/h4e.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := codes.Load(ctx, db)
	r := &run{ctx: ctx, kb: kb, dos: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)}
	fmt.Println("NARR:", narrative(q))
	for _, c := range clauses(q) {
		fmt.Println("CLAUSE:", c)
	}
	for i, c := range r.candidates(q, os.Getenv("DBGSYS")) {
		if i > 12 {
			break
		}
		fmt.Printf("%s %.3f %s | %s\n", c.Code, c.Score, c.Description, c.Evidence)
	}
}

func TestZZComp(t *testing.T) {
	q := os.Getenv("DBGQ")
	if q == "" {
		t.Skip()
	}
	ctx := context.Background()
	db, _ := store.Open(ctx, "/tmp/h4e.db", store.Options{})
	kb, _ := codes.Load(ctx, db)
	r := &run{ctx: ctx, kb: kb, dos: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)}
	refs := parseRefs("code to identify stage of chronic kidney disease (N18.1-N18.6)")
	fmt.Println(refs, tokens(narrative(q)))
	fmt.Println(r.companion(refs, q, ""))
	en, _ := r.lookupFound("N18", codes.ICD10CM)
	fmt.Println(en.BillableChildren)
}
