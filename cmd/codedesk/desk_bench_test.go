package main

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// BenchmarkApproveToSMTP measures a reviewer's approval on the desk (POST
// /cases/N/approve with the draft text) until the test SMTP server has
// accepted the reply: the approval transaction, River picking up the send
// job, rendering and SMTP. It reports the p50 and p90.
func BenchmarkApproveToSMTP(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = dbtest.SQLite(b, queue.Migrate)
			} else {
				db = dbtest.Postgres(b, queue.Migrate)
			}
			d := startDesk(b, db)
			// Drafts waiting for review, made by the real pipeline.
			ids := make([]int64, b.N)
			for i := range ids {
				ids[i] = d.ask(b, questionMail(1000+i, "dana@clinic.test", fmt.Sprintf("Question %d", i), "What is E11.22?"))
			}
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := hc.PostForm(d.base+"/login", url.Values{"email": {"rita@codedesk.test"}, "password": {deskPassword}})
			if err != nil || res.StatusCode != http.StatusSeeOther {
				b.Fatalf("signing in: %v", err)
			}
			res.Body.Close()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i, id := range ids {
				dr, err := store.LatestDraft(d.ctx, db, id)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				res, err := hc.PostForm(fmt.Sprintf("%s/cases/%d/approve", d.base, id), url.Values{"draft_id": {fmt.Sprint(dr.ID)}, "body": {dr.BodyText}})
				if err != nil || res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/queue" {
					b.Fatalf("approve case %d: %v %v", id, err, res.Header.Get("Location"))
				}
				res.Body.Close()
				if _, err := d.smtp.Wait(d.ctx, i+1); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90_ms")
		})
	}
}
