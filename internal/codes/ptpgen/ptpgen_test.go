package ptpgen

import (
	"bytes"
	"testing"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

func TestWriteReadsBack(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	if err := Write(&a, 20000, 7); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
	if err := Write(&b, 20000, 7); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("Write() with the same seed wrote different files (%v)", err)
	}
	if f, err := codefile.Detect("ccipra-v321r0-f1.txt", a.Bytes()[:codefile.HeadSize]); err != nil || f != codefile.PTPPractitioner {
		t.Errorf("Detect(generated) = %q, %v; want %q", f, err, codefile.PTPPractitioner)
	}
	var (
		n, deleted, mod9, twice int
		last                    = map[[2]string]int{}
	)
	err := codefile.ReadPTP(bytes.NewReader(a.Bytes()), "generated.txt", func(r codefile.PTPRecord) error {
		n++
		if r.Deleted != 0 {
			deleted++
			if r.Deleted < r.Effective {
				t.Errorf("line %d: deleted %d before effective %d", r.Line, r.Deleted, r.Effective)
			}
		}
		if r.Modifier == 9 {
			mod9++
			if r.Deleted == 0 {
				t.Errorf("line %d: modifier 9 on an edit in force", r.Line)
			}
		}
		k := [2]string{r.Column1, r.Column2}
		if prevDel, ok := last[k]; ok && prevDel != 0 && prevDel < r.Effective {
			twice++
		}
		last[k] = r.Deleted
		return nil
	})
	if err != nil {
		t.Fatalf("ReadPTP(generated) error = %v", err)
	}
	if n != 20000 {
		t.Errorf("ReadPTP(generated) read %d edits, want 20000", n)
	}
	if deleted < n/10 || deleted > n/4 || mod9 == 0 || twice < n/100 {
		t.Errorf("generated %d edits: %d deleted, %d with modifier 9, %d pairs listed twice; want about 1/6 deleted, some 9s, about 3%% twice", n, deleted, mod9, twice)
	}
}
