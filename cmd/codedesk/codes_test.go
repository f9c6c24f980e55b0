package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs codedesk with args against a database URL and returns the
// exit code, standard output and standard error.
func runCLI(t *testing.T, dbURL string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append(args, "--database-url", dbURL), stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func fixturePath(name string) string {
	return filepath.Join("..", "..", "internal", "codes", "testdata", name)
}

func TestCodesCommands(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "codedesk.db")
	code, out, errs := runCLI(t, db, "codes", "import", fixturePath("icd10cm_order_2025.txt.gz"), fixturePath("HCPC2025_JAN_ANWEB_fixture.txt"),
		fixturePath("icd10cm_tabular_fixture_2023.xml"), fixturePath("ccipra-v321r0-f1.txt"), fixturePath("MCR_MUE_PractitionerServices_Eff_04-01-2026.csv"))
	if code != 0 || !strings.Contains(out, "ICD-10-CM FY2025 imported, 28 rows") || !strings.Contains(out, "NCCI PTP practitioner 2026-Q2 imported, 7 rows") {
		t.Fatalf("codes import = %d\n%s\n%s", code, out, errs)
	}
	// Not a terminal: plain progress lines on standard error.
	if !strings.Contains(errs, "importing icd10cm_order_2025.txt.gz (icd10cm_order)") {
		t.Errorf("codes import progress = %q, want plain lines", errs)
	}
	code, out, _ = runCLI(t, db, "codes", "import", fixturePath("icd10cm_order_2025.txt"))
	if code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("codes import (again) = %d %q, want unchanged", code, out)
	}

	code, out, _ = runCLI(t, db, "codes", "list", "--json")
	var list struct {
		Releases []struct {
			Name, Format string
			Rows         int
		} `json:"releases"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list.Releases) != 5 {
		t.Errorf("codes list --json = %d %v %+v", code, err, list)
	}

	code, out, _ = runCLI(t, db, "lookup", "--json", "--dos", "2025-02-01", "e1122", "M80.08A")
	var lk struct {
		Codes []map[string]json.RawMessage `json:"codes"`
	}
	if err := json.Unmarshal([]byte(out), &lk); code != 0 || err != nil || len(lk.Codes) != 2 {
		t.Fatalf("lookup --json = %d %v\n%s", code, err, out)
	}
	for _, k := range []string{"system", "code", "found", "billable", "description", "status", "release", "notes"} {
		if _, ok := lk.Codes[0][k]; !ok {
			t.Errorf("lookup --json entry lacks %q: %s", k, out)
		}
	}
	if string(lk.Codes[0]["code"]) != `"E11.22"` || string(lk.Codes[1]["found"]) != "false" {
		t.Errorf("lookup --json = %s", out)
	}

	code, out, _ = runCLI(t, db, "check", "--json", "--dos", "2026-04-15", "99213", "36415", "E11", "M80.08")
	var ck struct {
		NCCI     []map[string]any `json:"ncci"`
		MUE      []map[string]any `json:"mue"`
		Excludes []map[string]any `json:"excludes"`
		Warnings []map[string]any `json:"warnings"`
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &ck); code != 0 || err != nil || json.Unmarshal([]byte(out), &keys) != nil {
		t.Fatalf("check --json = %d %v\n%s", code, err, out)
	}
	for _, k := range []string{"ncci", "mue", "excludes", "warnings"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("check --json lacks %q: %s", k, out)
		}
	}
	if len(ck.NCCI) != 1 || ck.NCCI[0]["column1"] != "99213" || ck.NCCI[0]["modifier_indicator"] != "1" || ck.NCCI[0]["deleted"] != nil {
		t.Errorf("check --json ncci = %v", ck.NCCI)
	}
	if len(ck.MUE) != 2 || len(ck.Warnings) != 2 {
		t.Errorf("check --json mue = %v, warnings = %v; want 2 MUEs and 2 warnings", ck.MUE, ck.Warnings)
	}

	code, out, _ = runCLI(t, db, "check", "--dos", "2026-04-15", "99213", "36415")
	if code != 0 || !strings.Contains(out, "column 1 99213, column 2 36415") || !strings.Contains(out, "MAI 3") {
		t.Errorf("check = %d\n%s", code, out)
	}

	code, _, errs = runCLI(t, db, "codes", "import", fixturePath("../codes_test.go"))
	if code == 0 || !strings.Contains(errs, "format not recognised") {
		t.Errorf("codes import (not a code file) = %d %q, want a clear error", code, errs)
	}
	code, _, errs = runCLI(t, db, "lookup", "--dos", "2025-13-01", "E11")
	if code == 0 || !strings.Contains(errs, "--dos") {
		t.Errorf("lookup --dos 2025-13-01 = %d %q, want an error naming --dos", code, errs)
	}
}
