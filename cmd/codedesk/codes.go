package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// codesCmd groups the code-set commands.
type codesCmd struct {
	Import codesImportCmd `cmd:"" help:"Import official code-set files (format detected from the file; gzip accepted)."`
	Fetch  codesFetchCmd  `cmd:"" help:"Download the current official releases and import them."`
	List   codesListCmd   `cmd:"" help:"List imported releases with their effective ranges and row counts."`
}

// codesImportCmd imports code-set files.
type codesImportCmd struct {
	config.Database
	config.Log
	Paths     []string `arg:"" name:"path" type:"path" help:"Official code-set files (.txt, .xml, .csv, .tsv; .gz and release .zip archives accepted) or directories holding them."`
	Format    string   `help:"Force the file format instead of detecting it (icd10cm_order, icd10cm_codes, icd10cm_order_addenda, icd10cm_codes_addenda, icd10cm_tabular, icd10cm_index, pcs_order, pcs_codes, pcs_order_addenda, pcs_codes_addenda, hcpcs, ptp_practitioner, ptp_hospital, mue_practitioner, mue_hospital, mue_dme, cpt_descriptors)." placeholder:"FORMAT"`
	Release   string   `name:"release" placeholder:"VERSION" help:"Release version when the file name does not tell it: YYYY (ICD-10, CPT) or YYYY-Qn (HCPCS, NCCI)."`
	Effective string   `placeholder:"YYYY-MM-DD" help:"First date of service of the release (YYYY-MM-DD), when it differs from the published schedule."`
	JSON      bool     `help:"Print the results as JSON."`
}

// Run implements the command.
func (c *codesImportCmd) Run(ctx context.Context, io stdio) error {
	opts := codes.ImportOptions{Format: codefile.Format(c.Format), Version: c.Release}
	if c.Format != "" && !opts.Format.Valid() {
		return fmt.Errorf("--format %q: not one of %s", c.Format, formatList())
	}
	if c.Effective != "" {
		d, err := time.Parse(time.DateOnly, c.Effective)
		if err != nil {
			return fmt.Errorf("--effective %q: want YYYY-MM-DD", c.Effective)
		}
		opts.EffectiveFrom = d
	}
	db, err := openCodesDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	p := newProgress(io.Err)
	opts.Progress = p.update
	res, err := codes.Import(ctx, db, c.Paths, opts)
	p.finish()
	if c.JSON {
		if res == nil {
			res = []codes.ImportResult{}
		}
		if jerr := writeJSON(io.Out, map[string]any{"imported": res}); jerr != nil {
			return jerr
		}
	} else {
		printImported(io.Out, res)
	}
	return err
}

func printImported(w io.Writer, res []codes.ImportResult) {
	for _, r := range res {
		what := "imported"
		switch {
		case r.Unchanged:
			what = "unchanged"
		case r.Replaced:
			what = "replaced"
		}
		fmt.Fprintf(w, "%s: %s %s, %d rows, effective %s (%s)\n", filepath.Base(r.File), r.Release.Name, what,
			r.Rows, rangeText(r.Release), r.Duration.Round(time.Millisecond))
	}
}

// progress shows import progress: a bar on a terminal, plain lines
// otherwise (one when a file starts, every 25%, and when it ends).
type progress struct {
	w       io.Writer
	tty     bool
	bar     *progressbar.ProgressBar
	file    string
	quarter int64
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.tty = true
	}
	return p
}

func (p *progress) update(ev codes.Progress) {
	if ev.File != p.file {
		p.finish()
		p.file = ev.File
		p.quarter = 0
		if p.tty {
			p.bar = progressbar.NewOptions64(ev.Total, progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(filepath.Base(ev.File)), progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish())
		} else {
			fmt.Fprintf(p.w, "importing %s (%s)\n", filepath.Base(ev.File), ev.Format)
		}
	}
	if p.bar != nil {
		_ = p.bar.Set64(ev.Read)
	} else if ev.Total > 0 && !ev.Done {
		if q := ev.Read * 4 / ev.Total; q > p.quarter && q < 4 {
			p.quarter = q
			fmt.Fprintf(p.w, "  %s: %d%%, %d rows\n", filepath.Base(ev.File), q*25, ev.Rows)
		}
	}
	if ev.Done {
		p.finish()
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// codesFetchCmd downloads and imports the current releases.
type codesFetchCmd struct {
	config.Database
	config.Log
	Source  []string      `name:"source" env:"CODEDESK_CODESETS_SOURCES" sep:" " placeholder:"NAME=URL[#sha256=HEX]" help:"Release archive to download instead of the defaults (repeatable; the environment variable takes a space-separated list). A #sha256= suffix pins the archive's checksum."`
	List    bool          `help:"Print the download locations and exit."`
	Timeout time.Duration `default:"10m" help:"Timeout of each download."`
	JSON    bool          `help:"Print the results as JSON."`
}

// Run implements the command.
func (c *codesFetchCmd) Run(ctx context.Context, io stdio) error {
	srcs := codes.DefaultSources()
	if len(c.Source) > 0 {
		srcs = nil
		for _, s := range c.Source {
			src, err := parseSource(s)
			if err != nil {
				return err
			}
			srcs = append(srcs, src)
		}
	}
	if c.List {
		for _, s := range srcs {
			fmt.Fprintf(io.Out, "%s\t%s\n", s.Name, s.URL)
		}
		return nil
	}
	db, err := openCodesDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	p := newProgress(io.Err)
	log := newLogger(c.Log, io.Err)
	res, err := codes.Fetch(ctx, db, codes.FetchOptions{Sources: srcs, Client: &http.Client{Timeout: c.Timeout},
		Import: codes.ImportOptions{Progress: p.update}, Logger: log})
	p.finish()
	if c.JSON {
		if res == nil {
			res = []codes.ImportResult{}
		}
		if jerr := writeJSON(io.Out, map[string]any{"imported": res}); jerr != nil {
			return jerr
		}
	} else {
		printImported(io.Out, res)
	}
	return err
}

// parseSource reads NAME=URL[#sha256=HEX].
func parseSource(s string) (codes.Source, error) {
	name, u, ok := strings.Cut(s, "=")
	if !ok || name == "" || u == "" {
		return codes.Source{}, fmt.Errorf("--source %q: want NAME=URL[#sha256=HEX]", s)
	}
	src := codes.Source{Name: name, URL: u}
	if i := strings.Index(u, "#sha256="); i >= 0 {
		src.URL, src.SHA256 = u[:i], u[i+len("#sha256="):]
		if len(src.SHA256) != 64 {
			return codes.Source{}, fmt.Errorf("--source %q: a SHA-256 is 64 hex digits", s)
		}
	}
	if !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://") {
		return codes.Source{}, fmt.Errorf("--source %q: the URL must be http:// or https://", s)
	}
	return src, nil
}

// codesListCmd lists imported releases.
type codesListCmd struct {
	config.Database
	JSON bool `help:"Print the releases as JSON."`
}

// Run implements the command.
func (c *codesListCmd) Run(ctx context.Context, io stdio) error {
	db, err := openCodesDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	rels, err := codes.ListReleases(ctx, db)
	if err != nil {
		return err
	}
	if c.JSON {
		if rels == nil {
			rels = []codes.Release{}
		}
		return writeJSON(io.Out, map[string]any{"releases": rels})
	}
	if len(rels) == 0 {
		fmt.Fprintln(io.Out, "no code sets imported; run: codedesk codes import PATH… (or codedesk codes fetch)")
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tRELEASE\tFORMAT\tEFFECTIVE\tROWS\tFILE\tIMPORTED")
	for _, r := range rels {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.System, r.Name, r.Format, rangeText(r), r.Rows, r.SourceFile,
			r.ImportedAt.Format(time.DateTime))
	}
	return tw.Flush()
}

// lookupCmd prints everything known about codes.
type lookupCmd struct {
	config.Database
	Codes []string `arg:"" name:"code" help:"Codes to look up (ICD-10-CM, ICD-10-PCS, HCPCS, CPT; dots and case optional)."`
	DOS   string   `name:"dos" help:"Date of service (YYYY-MM-DD); default today." placeholder:"YYYY-MM-DD"`
	JSON  bool     `help:"Print {\"codes\": [...]} as JSON."`
}

// Run implements the command.
func (c *lookupCmd) Run(ctx context.Context, io stdio) error {
	dos, err := parseDOS(c.DOS)
	if err != nil {
		return err
	}
	kb, db, err := loadKB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	var out []codes.Entry
	for _, code := range c.Codes {
		out = append(out, kb.Lookup(code, dos)...)
	}
	if c.JSON {
		return writeJSON(io.Out, map[string]any{"codes": out})
	}
	for i, e := range out {
		if i > 0 {
			fmt.Fprintln(io.Out)
		}
		printEntry(io.Out, e)
	}
	return nil
}

func printEntry(w io.Writer, e codes.Entry) {
	if !e.Found {
		fmt.Fprintf(w, "%s: not found\n", e.Code)
		for _, n := range e.NearMatches {
			fmt.Fprintf(w, "  did you mean %s %s (%s): %s\n", n.System, n.Code, n.Reason, n.Description)
		}
		return
	}
	kind := "billable"
	if !e.Billable {
		kind = "not billable"
	}
	fmt.Fprintf(w, "%s %s — %s [%s, %s]\n", e.System, e.Code, e.Description, e.Status, kind)
	if e.Release != "" {
		fmt.Fprintf(w, "  release: %s\n", e.Release)
	}
	if e.Short != "" && e.Short != e.Description {
		fmt.Fprintf(w, "  short: %s\n", e.Short)
	}
	if e.Parent != nil {
		fmt.Fprintf(w, "  parent: %s %s\n", e.Parent.Code, e.Parent.Description)
	}
	if len(e.Children) > 0 {
		fmt.Fprintf(w, "  %d billable codes below; children:\n", e.BillableCount)
		for _, ch := range e.Children {
			b := ""
			if ch.Billable {
				b = " (billable)"
			}
			fmt.Fprintf(w, "    %s %s%s\n", ch.Code, ch.Description, b)
		}
	}
	if h := e.HCPCS; h != nil {
		if t := h.CoverageText(); t != "" {
			fmt.Fprintf(w, "  coverage: %s (%s)\n", h.Coverage, t)
		}
		if len(h.Pricing) > 0 {
			fmt.Fprintf(w, "  pricing indicator: %s\n", strings.Join(h.Pricing, ", "))
		}
		if h.BETOS != "" {
			fmt.Fprintf(w, "  BETOS: %s\n", h.BETOS)
		}
		if h.Terminated != 0 {
			fmt.Fprintf(w, "  termination date: %d\n", h.Terminated)
		}
	}
	if e.Hierarchy != nil {
		if h := e.Hierarchy.Chapter; h != nil {
			fmt.Fprintf(w, "  chapter %s: %s\n", h.Code, h.Description)
		}
		if h := e.Hierarchy.Block; h != nil {
			fmt.Fprintf(w, "  block %s: %s\n", h.Code, h.Description)
		}
	}
	if e.Change != nil {
		fmt.Fprintf(w, "  %s in %s (effective %s)", e.Change.Action, e.Change.Release, e.Change.Effective.Format(time.DateOnly))
		if e.Change.Was != "" {
			fmt.Fprintf(w, "; was: %s", e.Change.Was)
		}
		fmt.Fprintln(w)
	}
	for _, r := range e.ReplacedBy {
		fmt.Fprintf(w, "  replaced by %s %s\n", r.Code, r.Description)
	}
	printNotes(w, e.Notes)
	for _, m := range e.MUE {
		fmt.Fprintf(w, "  MUE (%s): %d unit(s), MAI %d — %s (%s)\n", m.Table, m.Value, m.MAI, m.Explained, m.Release)
	}
	if e.LicenceNeeded {
		fmt.Fprintln(w, "  descriptor: needs your AMA CPT licence (import your licensed CPT descriptor file)")
	}
	for _, x := range e.Warnings {
		fmt.Fprintf(w, "  note: %s\n", x)
	}
}

// checkCmd reports edits among codes billed together.
type checkCmd struct {
	config.Database
	Codes []string `arg:"" name:"code" help:"Codes billed together: procedures (CPT, HCPCS) and diagnoses (ICD-10-CM)."`
	DOS   string   `name:"dos" help:"Date of service (YYYY-MM-DD); default today." placeholder:"YYYY-MM-DD"`
	JSON  bool     `help:"Print {\"ncci\": [...], \"mue\": [...], \"excludes\": [...], \"warnings\": [...]} as JSON."`
}

// Run implements the command.
func (c *checkCmd) Run(ctx context.Context, io stdio) error {
	dos, err := parseDOS(c.DOS)
	if err != nil {
		return err
	}
	kb, db, err := loadKB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := kb.Check(ctx, c.Codes, dos)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(io.Out, res)
	}
	w := io.Out
	fmt.Fprintf(w, "date of service %s\n", res.DOS)
	switch {
	case !res.PTPChecked:
		fmt.Fprintln(w, "NCCI PTP: not checked — no PTP edits are imported (codedesk codes import ccipra-….txt)")
	case len(res.NCCI) == 0:
		fmt.Fprintln(w, "NCCI PTP: no edit among these codes")
	}
	for _, f := range res.NCCI {
		del := ""
		if f.Deleted != nil {
			del = ", deleted " + *f.Deleted
		}
		fmt.Fprintf(w, "NCCI PTP (%s): column 1 %s, column 2 %s — modifier %s\n  effective %s%s; %s (%s)\n",
			f.Table, f.Column1, f.Column2, f.Explained, f.Effective, del, f.Rationale, f.Release)
	}
	for _, m := range res.MUE {
		fmt.Fprintf(w, "MUE (%s): %s — %d unit(s); MAI %d: %s (%s)\n", m.Table, m.Code, m.Value, m.MAI, m.Explained, m.Release)
		if m.Warning != "" {
			fmt.Fprintf(w, "  note: %s\n", m.Warning)
		}
	}
	for _, x := range res.Excludes {
		fmt.Fprintf(w, "Excludes1: %s and %s are not coded together — at %s: %q (%s)\n", x.Code, x.Excluded, x.Source, x.Note, x.Release)
	}
	for _, x := range res.Warnings {
		fmt.Fprintf(w, "warning (%s): %s\n", x.Kind, x.Message)
	}
	return nil
}

func printNotes(w io.Writer, n codes.Notes) {
	if n.Empty() {
		return
	}
	fmt.Fprintf(w, "  notes (%s", n.Release)
	if n.From != "" {
		fmt.Fprintf(w, ", from %s", n.From)
	}
	fmt.Fprintln(w, "):")
	for _, g := range []struct {
		name  string
		notes []codes.Note
	}{
		{"inclusion term", n.InclusionTerms}, {"includes", n.Includes}, {"excludes1", n.Excludes1},
		{"excludes2", n.Excludes2}, {"code first", n.CodeFirst}, {"use additional code", n.UseAdditionalCode},
		{"code also", n.CodeAlso}, {"note", n.General}, {"7th character", n.SeventhCharacterNote},
	} {
		for _, x := range g.notes {
			fmt.Fprintf(w, "    %s: %s [%s]\n", g.name, x.Text, x.Source)
		}
	}
	for _, s := range n.SeventhCharacters {
		fmt.Fprintf(w, "    7th character %s: %s [%s]\n", s.Char, s.Text, s.Source)
	}
}

// openCodesDB opens the database and applies codedesk's migrations (the
// code-set tables are codedesk's own; River's are not needed here).
func openCodesDB(ctx context.Context, c config.Database) (*store.DB, error) {
	db, err := openDB(ctx, c)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating: %w", err)
	}
	return db, nil
}

// loadKB opens the database and loads the code knowledge base.
func loadKB(ctx context.Context, c config.Database) (*codes.KB, *store.DB, error) {
	db, err := openCodesDB(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	kb, err := codes.Load(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return kb, db, nil
}

func parseDOS(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--dos %q: want YYYY-MM-DD", s)
	}
	return d, nil
}

func rangeText(r codes.Release) string {
	to := "open"
	if !r.To.IsZero() {
		to = r.To.Format(time.DateOnly)
	}
	return r.From.Format(time.DateOnly) + " to " + to
}

func formatList() string {
	var s []string
	for _, f := range codefile.Formats {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
