package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/codedesk/codedesk/internal/codes/search"
	"github.com/codedesk/codedesk/internal/config"
)

// searchCmd ranks codes for a narrative.
type searchCmd struct {
	config.Database
	Text   []string `arg:"" name:"text" help:"The narrative, e.g. \"T2DM w/ CKD stage 3\" (quotes optional), or - to read one query per line from standard input."`
	System string   `help:"Only codes of this system: icd10cm, pcs, hcpcs or cpt." placeholder:"SYSTEM"`
	Limit  int      `help:"Maximum number of results per query (1-100)." default:"10"`
	DOS    string   `name:"dos" help:"Date of service (YYYY-MM-DD): search the code sets in force then; default today." placeholder:"YYYY-MM-DD"`
	JSON   bool     `help:"Print {\"query\", \"results\": [...]} as JSON; with -, one object per line (JSON Lines)."`
}

// maxQueryBytes bounds one query (a line of standard input, or the
// arguments): a narrative longer than this is not a search.
const maxQueryBytes = 64 << 10

// searchOutput is the --json shape of one query's answer
// (docs/design.md, "Machine-readable output").
type searchOutput struct {
	Query   string       `json:"query"`
	Results []searchJSON `json:"results"`
}

type searchJSON struct {
	System      string  `json:"system"`
	Code        string  `json:"code"`
	Description string  `json:"description"`
	Score       float64 `json:"score"`
	Evidence    string  `json:"evidence"`
	Billable    bool    `json:"billable"`
}

// Run implements the command.
func (c *searchCmd) Run(ctx context.Context, io stdio) error {
	switch c.System {
	case "", "icd10cm", "pcs", "hcpcs", "cpt":
	default:
		return fmt.Errorf("--system %q: want icd10cm, pcs, hcpcs or cpt", c.System)
	}
	if c.Limit < 1 || c.Limit > search.MaxLimit {
		return fmt.Errorf("--limit %d: want 1 to %d", c.Limit, search.MaxLimit)
	}
	stdin := len(c.Text) == 1 && c.Text[0] == "-"
	query := strings.Join(c.Text, " ")
	if !stdin && len(query) > maxQueryBytes {
		return fmt.Errorf("query is %d bytes; at most %d", len(query), maxQueryBytes)
	}
	dos, err := parseDOS(c.DOS)
	if err != nil {
		return err
	}
	kb, db, err := loadKB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	ix := kb.SearchIndex(dos)
	if ix.Len() == 0 {
		return errors.New("no code sets are imported; run \"codedesk codes import FILE…\" first")
	}
	opts := search.Options{System: c.System, Limit: c.Limit}
	out := bufio.NewWriter(io.Out)
	defer out.Flush()
	if !stdin {
		return c.answer(out, query, ix.Search(query, opts))
	}
	sc := bufio.NewScanner(io.In)
	sc.Buffer(make([]byte, 0, 64<<10), maxQueryBytes)
	line := 0
	for sc.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return err
		}
		q := strings.TrimSuffix(sc.Text(), "\r")
		if err := c.answer(out, q, ix.Search(q, opts)); err != nil {
			return err
		}
		if !c.JSON {
			// Text answers for several queries are easier to read apart.
			fmt.Fprintln(out)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("standard input line %d: longer than %d bytes", line+1, maxQueryBytes)
		}
		return fmt.Errorf("reading standard input: %w", err)
	}
	return nil
}

// answer prints one query's results: one JSON object on one line, or a
// numbered list with the evidence under each code.
func (c *searchCmd) answer(w io.Writer, query string, rs []search.Result) error {
	if c.JSON {
		o := searchOutput{Query: query, Results: make([]searchJSON, len(rs))}
		for i, r := range rs {
			o.Results[i] = searchJSON{System: r.System, Code: r.Code, Description: r.Description,
				Score: r.Score, Evidence: r.Evidence, Billable: r.Billable}
		}
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("encoding results: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	fmt.Fprintf(w, "query: %s\n", query)
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "  no matching codes")
		return err
	}
	for i, r := range rs {
		kind := ""
		if !r.Billable {
			kind = " [header, not billable]"
		}
		fmt.Fprintf(w, "%2d. %s %s — %s%s (score %.3f)\n", i+1, r.System, r.Code, r.Description, kind, r.Score)
		if r.Evidence != "" && r.Evidence != "Descriptor: "+r.Description {
			fmt.Fprintf(w, "    %s\n", r.Evidence)
		}
	}
	return nil
}
