package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// funcs are the helpers every desk template may call.
var funcs = template.FuncMap{
	"statusLabel": statusLabel,
	"confidence": func(c *float64) string {
		if c == nil {
			return "–"
		}
		return fmt.Sprintf("%.0f%%", *c*100)
	},
	"confClass": func(c *float64) string {
		switch {
		case c == nil:
			return "conf-none"
		case *c >= 0.8:
			return "conf-high"
		case *c >= 0.6:
			return "conf-mid"
		}
		return "conf-low"
	},
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"kind":  func(k string) string { return strings.ReplaceAll(k, "_", " ") },
	"size":  humanSize,
	"dash":  func(s string) string { return orDash(s) },
	"deref": func(p *int64) int64 { return *p },
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "–"
	}
	return s
}

func statusLabel(s store.CaseStatus) string {
	switch s {
	case store.StatusAwaitingReview:
		return "awaiting review"
	case store.StatusNeedsAttention:
		return "needs attention"
	}
	return string(s)
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
