package codes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// sharedData is the folder of official files this project was given (see
// its PROVENANCE.md); tests that need them skip when it is absent.
const sharedData = "../../../shared/data"

// sharedFile returns the path of a file under ../shared/data, or skips the
// test when it is not there.
func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedData, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("official data file %s not present (needs ../shared/data): %v", rel, err)
	}
	return p
}

const (
	sharedICD10CMOrder = "icd10cm/fy2025/icd10cm_order_2025.txt.gz"
	sharedHCPCS        = "hcpcs/2025-jan/HCPC2025_JAN_ANWEB_12172024.txt.gz"
)

func TestSharedDataOrderAndHCPCS(t *testing.T) {
	t.Parallel()
	order := sharedFile(t, sharedICD10CMOrder)
	hcpcs := sharedFile(t, sharedHCPCS)
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		res, err := Import(context.Background(), db, []string{order, hcpcs}, ImportOptions{})
		if err != nil {
			t.Fatalf("Import() error = %v", err)
		}
		// Counts from PROVENANCE.md: 97,584 order rows; 8,259 HCPCS codes
		// and 383 modifiers.
		if res[0].Rows != 97584 || res[1].Rows != 8259+383 {
			t.Errorf("Import() rows = %d, %d; want 97584, 8642", res[0].Rows, res[1].Rows)
		}
		kb := load(t, db)
		dos := date("2025-01-15")
		for _, c := range []string{"E11.22", "I21.02", "M80.08XA", "Z20.822", "U07.1"} {
			if e := one(t, kb, c, dos); !e.Found || !e.Billable || e.Status != "active" {
				t.Errorf("Lookup(%s) = %+v, want billable and active", c, e)
			}
		}
		if e := one(t, kb, "K0001", dos); e.Description != "Standard wheelchair" || e.HCPCS.BETOS != "D1D" || e.HCPCS.Coverage != "C" {
			t.Errorf("Lookup(K0001) = %+v", e)
		}
		if e := one(t, kb, "J2405", dos); e.Description != "Injection, ondansetron hydrochloride, per 1 mg" {
			t.Errorf("Lookup(J2405).Description = %q", e.Description)
		}
		if e := one(t, kb, "A0426", dos); e.Description != "Ambulance service, advanced life support, non-emergency transport, level 1 (als 1)" {
			t.Errorf("Lookup(A0426).Description = %q", e.Description)
		}
		for _, m := range []string{"GA", "GY", "GZ", "JW", "KX", "LT", "RT", "XE"} {
			if e := one(t, kb, m, dos); !e.Modifier || !e.Found {
				t.Errorf("Lookup(%s) = %+v, want a Level II modifier", m, e)
			}
		}
		var terminated int
		for _, r := range kb.lists[HCPCS][0].recs {
			if r.hcpcs != nil && r.hcpcs.Terminated != 0 {
				terminated++
			}
		}
		if terminated != 1165 {
			t.Errorf("HCPCS records with a termination date = %d, want 1165", terminated)
		}
	})
}
