package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// tab is one state tab of the queue.
type tab struct {
	Key      string
	Label    string
	Statuses []store.CaseStatus
}

// tabs are the queue's state tabs, in order. "open" holds cases on their
// way through the workers.
var tabs = []tab{
	{"review", "Awaiting review", []store.CaseStatus{store.StatusAwaitingReview}},
	{"attention", "Needs attention", []store.CaseStatus{store.StatusNeedsAttention}},
	{"failed", "Failed", []store.CaseStatus{store.StatusFailed}},
	{"ignored", "Ignored", []store.CaseStatus{store.StatusIgnored}},
	{"sent", "Sent", []store.CaseStatus{store.StatusSent}},
	{"rejected", "Rejected", []store.CaseStatus{store.StatusRejected}},
	{"progress", "In progress", []store.CaseStatus{store.StatusReceived, store.StatusParsed, store.StatusAnalysed,
		store.StatusDrafted, store.StatusApproved, store.StatusSending}},
	{"all", "All", nil},
}

func findTab(key string) tab {
	for _, t := range tabs {
		if t.Key == key {
			return t
		}
	}
	return tabs[0]
}

type tabView struct {
	tab
	Count  int
	Active bool
	URL    string
}

type queueRow struct {
	store.Case
	Age      string
	AgeClass string // ok, due, late, done
	AgeTitle string
	Mine     bool
}

type queueView struct {
	Tabs     []tabView
	Tab      tab
	Search   string
	Assignee string // "", "me", "none"
	Oldest   bool
	Rows     []queueRow
	NextURL  string
	FirstURL string
	Target   time.Duration
}

const maxSearch = 200

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	qs := r.URL.Query()
	t := findTab(qs.Get("tab"))
	v := queueView{Tab: t, Search: strings.TrimSpace(qs.Get("q")), Assignee: qs.Get("assignee"),
		Oldest: qs.Get("order") == "oldest", Target: s.cfg.FirstResponseTarget}
	if len(v.Search) > maxSearch {
		v.Search = v.Search[:maxSearch]
	}
	f := store.QueueFilter{Statuses: t.Statuses, Search: v.Search, OldestFirst: v.Oldest, Limit: 50}
	switch v.Assignee {
	case "me":
		f.Assignee = u.Email
	case "none":
		f.Assignee = store.UnassignedOnly
	default:
		v.Assignee = ""
	}
	if after, err := strconv.ParseInt(qs.Get("after"), 10, 64); err == nil && after > 0 {
		f.After = after
	}
	counts, err := store.CountCasesByStatus(ctx, s.cfg.DB)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The queue could not be read.", err)
		return
	}
	cases, more, err := store.ListQueue(ctx, s.cfg.DB, f)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The queue could not be read.", err)
		return
	}
	for _, tb := range tabs {
		n := 0
		if tb.Statuses == nil {
			for _, c := range counts {
				n += c
			}
		}
		for _, st := range tb.Statuses {
			n += counts[st]
		}
		v.Tabs = append(v.Tabs, tabView{tab: tb, Count: n, Active: tb.Key == t.Key, URL: v.url(tb.Key, 0)})
	}
	now := s.now()
	for _, c := range cases {
		row := queueRow{Case: c, Mine: c.Assignee == u.Email}
		row.Age, row.AgeClass, row.AgeTitle = ageOf(c, now, s.cfg.FirstResponseTarget)
		v.Rows = append(v.Rows, row)
	}
	if more && len(cases) > 0 {
		v.NextURL = v.url(t.Key, cases[len(cases)-1].ID)
	}
	if f.After > 0 {
		v.FirstURL = v.url(t.Key, 0)
	}
	s.render(w, r, http.StatusOK, "queue", t.Label, v)
}

// url builds a queue link that keeps the current filters.
func (v queueView) url(tabKey string, after int64) string {
	q := url.Values{}
	q.Set("tab", tabKey)
	if v.Search != "" {
		q.Set("q", v.Search)
	}
	if v.Assignee != "" {
		q.Set("assignee", v.Assignee)
	}
	if v.Oldest {
		q.Set("order", "oldest")
	}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	return "/queue?" + q.Encode()
}

// ageOf is a case's age for the queue, coloured against the first-response
// target: answered cases show how long the first reply took.
func ageOf(c store.Case, now time.Time, target time.Duration) (text, class, title string) {
	if c.FirstResponseAt != nil {
		d := c.FirstResponseAt.Sub(c.CreatedAt)
		cls := "done"
		if d > target {
			cls = "done-late"
		}
		return shortDuration(d), cls, "first reply after " + shortDuration(d) + " (target " + shortDuration(target) + ")"
	}
	d := now.Sub(c.CreatedAt)
	switch {
	case c.Status == store.StatusIgnored || c.Status == store.StatusRejected:
		return shortDuration(d), "closed", "closed without a reply"
	case d > target:
		return shortDuration(d), "late", "over the first-response target of " + shortDuration(target)
	case d > target/2:
		return shortDuration(d), "due", "past half of the first-response target of " + shortDuration(target)
	}
	return shortDuration(d), "ok", "within the first-response target of " + shortDuration(target)
}

func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0m"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - 60*h
		if h < 10 && m > 0 {
			return strconv.Itoa(h) + "h " + strconv.Itoa(m) + "m"
		}
		return strconv.Itoa(h) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}
