package codes

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// buildZip makes a release archive the way publishers ship them: the
// code-set files beside a layout PDF and a spreadsheet, files in a folder,
// and (inner) a zip inside the zip.
func buildZip(t *testing.T, files map[string]string, inner map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for name, fixtureName := range files {
		b, err := os.ReadFile(fixture(fixtureName))
		if err != nil {
			t.Fatal(err)
		}
		add(name, b)
	}
	add("icd10OrderFiles.pdf", []byte("%PDF-1.4 layout document"))
	add("HCPC2025_JAN_ANWEB.xlsx", []byte("PK not really a spreadsheet"))
	add("README.txt", []byte("Release notes\r\nThis archive holds the files of the release.\r\n"))
	if len(inner) > 0 {
		add("nested.zip", buildZip(t, inner, nil))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetch(t *testing.T) {
	t.Parallel()
	archive := buildZip(t, map[string]string{
		"2025 Code Descriptions/icd10cm_order_2025.txt": "icd10cm_order_2025.txt",
		"icd10cm_order_addenda_2025.txt":                "icd10cm_order_addenda_2025.txt",
	}, map[string]string{"HCPC2025_JAN_ANWEB_fixture.txt": "HCPC2025_JAN_ANWEB_fixture.txt"})
	sum := sha256.Sum256(archive)
	mux := http.NewServeMux()
	mux.HandleFunc("/release.zip", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(archive) })
	mux.HandleFunc("/broken.zip", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(archive[:len(archive)/2]) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		src := []Source{{Name: "fixture", URL: srv.URL + "/release.zip", SHA256: hex.EncodeToString(sum[:])}}
		res, err := Fetch(ctx, db, FetchOptions{Sources: src, Client: srv.Client()})
		if err != nil {
			t.Fatalf("Fetch() error = %v", err)
		}
		names := map[string]bool{}
		for _, r := range res {
			names[r.Release.Name] = true
		}
		if len(res) != 3 || !names["ICD-10-CM FY2025"] || !names["ICD-10-CM FY2025 addenda"] || !names["HCPCS 2025-Q1"] {
			t.Fatalf("Fetch() imported %v, want the order file, its addenda and the HCPCS file from the nested zip", names)
		}
		kb := load(t, db)
		if e := one(t, kb, "E11.22", date("2025-01-01")); !e.Found {
			t.Errorf("after Fetch, Lookup(E11.22) = %+v", e)
		}
		// Again: nothing changes.
		again, err := Fetch(ctx, db, FetchOptions{Sources: src, Client: srv.Client()})
		if err != nil || len(again) != 3 || !again[0].Unchanged || !again[1].Unchanged || !again[2].Unchanged {
			t.Errorf("second Fetch() = %+v, %v; want 3 unchanged", again, err)
		}
	})

	db := dbtest.SQLite(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		src  Source
		want string
	}{
		{"checksum", Source{Name: "fixture", URL: srv.URL + "/release.zip", SHA256: strings.Repeat("0", 64)}, "SHA-256"},
		{"not found", Source{Name: "fixture", URL: srv.URL + "/missing.zip"}, "404"},
		{"truncated", Source{Name: "fixture", URL: srv.URL + "/broken.zip"}, "opening archive"},
	} {
		_, err := Fetch(ctx, db, FetchOptions{Sources: []Source{tt.src}, Client: srv.Client()})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Fetch(%s) error = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
	if _, err := Fetch(ctx, db, FetchOptions{Sources: []Source{{Name: "small", URL: srv.URL + "/release.zip"}}, Client: srv.Client(), MaxBytes: 100}); err == nil {
		t.Errorf("Fetch(MaxBytes: 100) error = nil, want a size error")
	}
	if rels, _ := ListReleases(ctx, db); len(rels) != 0 {
		t.Errorf("failed fetches imported %d releases, want none", len(rels))
	}
}

func TestImportZip(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	p := filepath.Join(t.TempDir(), "release.zip")
	if err := os.WriteFile(p, buildZip(t, map[string]string{"icd10cm_order_2025.txt": "icd10cm_order_2025.txt"}, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Import(context.Background(), db, []string{p}, ImportOptions{})
	if err != nil || len(res) != 1 || res[0].Rows != 28 || !strings.HasSuffix(res[0].File, ":icd10cm_order_2025.txt") {
		t.Errorf("Import(zip) = %+v, %v; want the order file imported", res, err)
	}
}

func TestImportDirectory(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	dir := t.TempDir()
	for _, n := range []string{"icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt"} {
		b, err := os.ReadFile(fixture(n))
		if err != nil {
			t.Fatal(err)
		}
		sub := filepath.Join(dir, strings.TrimSuffix(n, ".txt"))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "PROVENANCE.md"), []byte("# notes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("Release notes, not a code file.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Import(context.Background(), db, []string{dir}, ImportOptions{})
	if err != nil || len(res) != 2 {
		t.Fatalf("Import(dir) = %d results, %v; want the 2 code-set files", len(res), err)
	}
	if _, err := Import(context.Background(), db, []string{t.TempDir()}, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "no code-set files") {
		t.Errorf("Import(empty dir) error = %v, want no code-set files", err)
	}
}
