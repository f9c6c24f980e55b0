package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// orderLine formats one record of an ICD-10-CM order file (fixed columns:
// order 1–5, code 7–13, flag 15, short 17–76, long 78–end; CRLF).
func orderLine(n int, code string, billable bool, short, long string) string {
	flag := "0"
	if billable {
		flag = "1"
	}
	return fmt.Sprintf("%05d %-7s %s %-60s %s\r\n", n, code, flag, short, long)
}

// searchDB imports a small synthetic ICD-10-CM order file into a fresh
// SQLite database and returns its path.
func searchDB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rows := []struct {
		code     string
		billable bool
		text     string
	}{
		{"E11", false, "Type 2 diabetes mellitus"},
		{"E112", false, "Type 2 diabetes mellitus with kidney complications"},
		{"E1122", true, "Type 2 diabetes mellitus with diabetic chronic kidney disease"},
		{"E119", true, "Type 2 diabetes mellitus without complications"},
		{"I10", true, "Essential (primary) hypertension"},
		{"I2109", true, "ST elevation (STEMI) myocardial infarction involving other coronary artery of anterior wall"},
		{"N390", true, "Urinary tract infection, site not specified"},
	}
	var b strings.Builder
	for i, r := range rows {
		b.WriteString(orderLine(i+1, r.code, r.billable, r.text, r.text))
	}
	order := filepath.Join(dir, "icd10cm_order_2025.txt")
	if err := os.WriteFile(order, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "codedesk.db")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"codes", "import", "--database-url", db, order}, stdio{strings.NewReader(""), &out, &errb}); code != 0 {
		t.Fatalf("codes import exit %d: %s", code, errb.String())
	}
	return db
}

func runSearch(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"search"}, args...), stdio{strings.NewReader(stdin), &out, &errb})
	return out.String(), errb.String(), code
}

func TestSearchCommand(t *testing.T) {
	t.Parallel()
	db := searchDB(t)

	t.Run("json", func(t *testing.T) {
		out, errs, code := runSearch(t, "", "--database-url", db, "--json", "T2DM", "w/", "CKD")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var got searchOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if got.Query != "T2DM w/ CKD" {
			t.Errorf("query = %q, want %q", got.Query, "T2DM w/ CKD")
		}
		if len(got.Results) == 0 || got.Results[0].Code != "E11.22" || got.Results[0].System != "icd10cm" {
			t.Fatalf("first result = %+v, want icd10cm E11.22", got.Results)
		}
		if got.Results[0].Evidence == "" || got.Results[0].Description == "" || got.Results[0].Score <= 0 {
			t.Errorf("first result lacks evidence, description or score: %+v", got.Results[0])
		}
	})

	t.Run("text", func(t *testing.T) {
		out, errs, code := runSearch(t, "", "--database-url", db, "--limit", "2", "high blood pressure")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if !strings.Contains(out, " 1. icd10cm I10 — Essential (primary) hypertension") {
			t.Errorf("output = %q, want I10 first", out)
		}
	})

	t.Run("json lines from stdin", func(t *testing.T) {
		in := strings.ReplaceAll("heart attack of the front wall\n\nUTI\nT2DM without complications\n", "\n", "\r\n")
		out, errs, code := runSearch(t, in, "--database-url", db, "--json", "--limit", "3", "-")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		want := []struct{ query, first string }{
			{"heart attack of the front wall", "I21.09"}, {"", ""}, {"UTI", "N39.0"}, {"T2DM without complications", "E11.9"},
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d (one per input line):\n%s", len(lines), len(want), out)
		}
		for i, w := range want {
			var got searchOutput
			if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
				t.Fatalf("line %d is not JSON: %v", i+1, err)
			}
			if got.Query != w.query {
				t.Errorf("line %d query = %q, want %q", i+1, got.Query, w.query)
			}
			if got.Results == nil {
				t.Errorf("line %d results = null, want a list", i+1)
			}
			first := ""
			if len(got.Results) > 0 {
				first = got.Results[0].Code
			}
			if first != w.first {
				t.Errorf("line %d first code = %q, want %q", i+1, first, w.first)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{"--system", "icd9", "fever"},
			{"--limit", "0", "fever"},
			{"--limit", "101", "fever"},
			{"--dos", "2025-13-01", "fever"},
		} {
			_, errs, code := runSearch(t, "", append([]string{"--database-url", db}, args...)...)
			if code == 0 || errs == "" {
				t.Errorf("search %v: exit %d, stderr %q; want an error", args, code, errs)
			}
		}
		long := strings.Repeat("x", maxQueryBytes+1) + "\n"
		_, errs, code := runSearch(t, long, "--database-url", db, "--json", "-")
		if code == 0 || !strings.Contains(errs, "line 1") {
			t.Errorf("over-long stdin line: exit %d, stderr %q; want an error naming line 1", code, errs)
		}
	})
}

func TestSearchCommandWithoutCodeSets(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "empty.db")
	_, errs, code := runSearch(t, "", "--database-url", db, "fever")
	if code == 0 || !strings.Contains(errs, "codes import") {
		t.Errorf("search on an empty database: exit %d, stderr %q; want an error pointing to codes import", code, errs)
	}
}
