package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
)

// concrete turns a route pattern into a path on the seeded case.
func (b *testBundle) concrete(pattern string) string {
	return strings.NewReplacer("{id}", fmt.Sprint(b.caseID), "{mid}", fmt.Sprint(b.msgID), "{did}", fmt.Sprint(b.draft),
		"{part}", "2", "{file}", "desk.css", "{$}", "").Replace(pattern)
}

// actionForm is a valid form for any POST route.
func (b *testBundle) actionForm() url.Values {
	return url.Values{"draft_id": {fmt.Sprint(b.draft)}, "body": {"Edited reply."}, "reason": {"test"}, "note": {"a note"},
		"assignee": {"me"}, "email": {"rita@codedesk.test"}, "password": {testPassword}}
}

// TestAccess walks every registered route signed out, as a reviewer and as
// an admin, and checks that each is refused or allowed as its access level
// says.
func TestAccess(t *testing.T) {
	t.Parallel()
	for _, who := range []string{"", "rita@codedesk.test", "adam@codedesk.test"} {
		t.Run(map[string]string{"": "signed_out", "rita@codedesk.test": "reviewer", "adam@codedesk.test": "admin"}[who], func(t *testing.T) {
			t.Parallel()
			b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{})
			var c *client
			var role store.Role
			if who == "" {
				c = b.client(t)
			} else {
				c = b.signedIn(t, who)
				role = store.RoleReviewer
				if strings.HasPrefix(who, "adam") {
					role = store.RoleAdmin
				}
			}
			routes := b.srv.Routes()
			// Signing out last keeps the session for the other routes.
			sort.SliceStable(routes, func(i, j int) bool { return routes[j].Pattern == "/logout" })
			if len(routes) < 15 {
				t.Fatalf("Routes() = %d routes; the table looks incomplete", len(routes))
			}
			for _, rt := range routes {
				path := b.concrete(rt.Pattern)
				var res response
				method := rt.Method
				if method == "" {
					method = http.MethodGet
				}
				if rt.Pattern == "/login" && method == http.MethodPost {
					// A wrong password: the route answers with the form
					// (and must not replace the session under test).
					form := url.Values{"email": {"rita@codedesk.test"}, "password": {"not the password"}}
					if res = c.post(path, form); res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, "not right") {
						t.Errorf("POST /login with a wrong password = %d, want 401 and the form again", res.StatusCode)
					}
					continue
				}
				if method == http.MethodPost {
					res = c.post(path, b.actionForm())
				} else {
					res = c.get(path)
				}
				allowed := rt.Access == web.Public || (role != "" && (rt.Access == web.Reviewer || role == store.RoleAdmin))
				toLogin := res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
				if rt.Pattern == "/logout" && allowedSession(role) {
					// Signing out ends on the sign-in page by design; the
					// session must be gone afterwards.
					if !toLogin || c.get("/queue").StatusCode != http.StatusSeeOther {
						t.Errorf("POST /logout = %d %s, want the session ended and a redirect to /login", res.StatusCode, res.Header.Get("Location"))
					}
					continue
				}
				refused := res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden || toLogin
				name := method + " " + rt.Pattern
				switch {
				case res.StatusCode >= 500:
					t.Errorf("%s = %d, want no server error", name, res.StatusCode)
				case allowed && refused:
					t.Errorf("%s (%s) = %d %s, want it allowed", name, rt.Access, res.StatusCode, res.Header.Get("Location"))
				case !allowed && !refused:
					t.Errorf("%s (%s) = %d, want it refused", name, rt.Access, res.StatusCode)
				case !allowed && role == "" && method == http.MethodGet && !toLogin:
					t.Errorf("%s signed out = %d, want a redirect to the sign-in page", name, res.StatusCode)
				case !allowed && role == store.RoleReviewer && res.StatusCode != http.StatusForbidden:
					t.Errorf("%s as reviewer = %d, want 403", name, res.StatusCode)
				}
				// Nothing a signed-out visitor gets may show patient details.
				if role == "" && strings.Contains(res.Body, "pat@clinic.test") {
					t.Errorf("%s signed out shows the requester's address", name)
				}
			}
		})
	}
}

func allowedSession(r store.Role) bool { return r != "" }
