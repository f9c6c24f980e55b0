package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func validServe() Serve {
	return Serve{
		Database: Database{URL: "var/codedesk.db"},
		IMAP:     IMAP{Addr: "127.0.0.1:1143", PollInterval: 30 * time.Second},
		SMTP:     SMTP{Addr: "127.0.0.1:1025", From: "desk@codedesk.test"},
		Policy:   Policy{MinConfidence: 0.6},
		Queue: Queue{Workers: 50, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
			JobTimeout: time.Minute, RescueStuckAfter: 2 * time.Minute},
		HTTP:    HTTP{Addr: "127.0.0.1:8080"},
		Cluster: Cluster{LeaseTTL: 6 * time.Second},
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := validServe()
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() of a good config = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Serve)
		want   string
	}{
		{"no database", func(c *Serve) { c.Database.URL = "" }, "database-url"},
		{"bad imap addr", func(c *Serve) { c.IMAP.Addr = "localhost" }, "imap-addr"},
		{"imap disabled needs no addr", func(c *Serve) { c.IMAP.Addr = ""; c.IMAP.Disabled = true }, ""},
		{"confidence above 1", func(c *Serve) { c.Policy.MinConfidence = 1.5 }, "min-confidence"},
		{"no workers", func(c *Serve) { c.Queue.Workers = 0 }, "workers"},
		{"cooldown too small", func(c *Serve) { c.Queue.FetchCooldown = 0 }, "fetch-cooldown"},
		{"poll below cooldown", func(c *Serve) { c.Queue.FetchPollInterval = time.Millisecond }, "fetch-poll-interval"},
		{"poll interval too small", func(c *Serve) { c.IMAP.PollInterval = time.Millisecond }, "imap-poll-interval"},
		{"from not an address", func(c *Serve) { c.SMTP.From = "desk" }, "from"},
		{"negative reply limit", func(c *Serve) { c.Policy.ReplyLimitPerThread = -1 }, "reply-limit-per-thread"},
		{"reply window too short", func(c *Serve) { c.Policy.ReplyLimitWindow = time.Second }, "reply-limit-window"},
		{"copy-to not an address", func(c *Serve) { c.SMTP.CopyTo = "desk" }, "smtp-copy-to"},
		{"xoauth2 without client", func(c *Serve) { c.IMAP.Auth = AuthXOAuth2; c.OAuth.TokenURL = "https://login.test/token" }, "oauth-client-id"},
		{"xoauth2 bad token url", func(c *Serve) { c.SMTP.Auth = AuthXOAuth2; c.OAuth.ClientID = "id"; c.OAuth.TokenURL = "login" }, "oauth-token-url"},
		{"xoauth2 complete", func(c *Serve) {
			c.SMTP.Auth, c.SMTP.Username = AuthXOAuth2, "desk@codedesk.test"
			c.OAuth.ClientID, c.OAuth.TokenURL = "id", "https://login.test/token"
		}, ""},
		{"rescue before job timeout", func(c *Serve) { c.Queue.RescueStuckAfter = 30 * time.Second }, "rescue-stuck-after"},
		{"job timeout too small", func(c *Serve) { c.Queue.JobTimeout = 0 }, "job-timeout"},
		{"negative retry cap", func(c *Serve) { c.Queue.RetryMaxDelay = -time.Second }, "retry-max-delay"},
		{"step-down too quick", func(c *Serve) { c.Cluster.StepDown = time.Second }, "imap-step-down-after"},
		{"step-down off", func(c *Serve) { c.Cluster.StepDown = 0 }, ""},
		{"lease too short", func(c *Serve) { c.Cluster.LeaseTTL = 500 * time.Millisecond }, "imap-lease-ttl"},
		{"sent folder without imap", func(c *Serve) { c.IMAP.Disabled = true; c.IMAP.SentFolder = "Sent" }, "imap-sent-folder"},
	}
	for _, tc := range tests {
		c := validServe()
		tc.mutate(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate() = %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	// Every problem is reported at once.
	c := validServe()
	c.Queue.Workers, c.SMTP.From = 0, "x"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "workers") || !strings.Contains(err.Error(), "from") {
		t.Errorf("Validate() = %v, want both problems", err)
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	if got, err := Secret("inline", ""); err != nil || got != "inline" {
		t.Errorf("Secret(inline) = %q, %v", got, err)
	}
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Secret("ignored", path); err != nil || got != "s3cret" {
		t.Errorf("Secret(file) = %q, %v; want the file's content without the newline", got, err)
	}
	if _, err := Secret("", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Secret(missing file) = nil error")
	}
}
