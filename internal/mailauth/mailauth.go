// Package mailauth provides XOAUTH2 login for the desk's IMAP and SMTP
// accounts (Microsoft 365, Google Workspace): OAuth access tokens refreshed
// with golang.org/x/oauth2, rotated refresh tokens persisted in the
// database so a restart never falls back to a revoked one, and alerts (log,
// metrics, Status for /healthz) on the first refresh failure and before the
// refresh token expires.
//
// Tokens are credentials: they are never logged.
package mailauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
)

// Config says how to refresh one account's tokens.
type Config struct {
	// Name identifies the account's row in the database (e.g. "desk").
	Name string
	// ClientID, ClientSecret and TokenURL are the OAuth application's;
	// Scopes are sent with each refresh (may be empty).
	ClientID, ClientSecret, TokenURL string
	Scopes                           []string
	// RefreshToken bootstraps the account when the database holds no token
	// yet; afterwards the stored (possibly rotated) one is used.
	RefreshToken string
	// WarnBefore is how long before the refresh token's expiry (when the
	// provider states one) Status reports it as expiring. Default 7 days.
	WarnBefore time.Duration
	// HTTPClient, when set, is used for the token endpoint (tests, proxies).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Metrics    *Metrics
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Status is a snapshot for /healthz.
type Status struct {
	AccessExpiry        time.Time `json:"access_expiry,omitzero"`
	RefreshExpiry       time.Time `json:"refresh_expiry,omitzero"` // zero when the provider gives none
	LastRefresh         time.Time `json:"last_refresh,omitzero"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastError           string    `json:"last_error,omitempty"`
	// Expiring is set when the refresh token expires within WarnBefore:
	// someone must re-consent before mail login stops.
	Expiring bool `json:"expiring"`
}

// Healthy reports whether mail login can go on: the last refresh worked
// and the refresh token is not about to expire.
func (s Status) Healthy() bool { return s.ConsecutiveFailures == 0 && !s.Expiring }

// Source hands out valid access tokens for one account. It is safe for
// concurrent use; one refresh runs at a time.
type Source struct {
	cfg Config
	db  *store.DB
	oc  oauth2.Config
	log *slog.Logger

	mu     sync.Mutex
	tok    store.OAuthToken
	loaded bool
	status Status
}

// New returns a Source over db. Nothing is fetched until Token is called.
func New(cfg Config, db *store.DB) (*Source, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("oauth: account name is empty"))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("oauth: client ID is empty"))
	}
	if cfg.TokenURL == "" {
		errs = append(errs, errors.New("oauth: token URL is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.WarnBefore <= 0 {
		cfg.WarnBefore = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, db: db, log: log.With("oauth_account", cfg.Name), oc: oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: cfg.Scopes,
		Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL},
	}}, nil
}

// Status returns the current state of the account's tokens.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Expiring = !st.RefreshExpiry.IsZero() && st.RefreshExpiry.Sub(s.cfg.Now()) < s.cfg.WarnBefore
	return st
}

// Token returns an access token valid for at least another minute,
// refreshing (and persisting a rotated refresh token) when needed.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		t, err := store.GetOAuthToken(ctx, s.db, s.cfg.Name)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrNotFound):
			if s.cfg.RefreshToken == "" {
				return "", s.failed(fmt.Errorf("oauth account %s: no refresh token stored or configured", s.cfg.Name))
			}
			t = store.OAuthToken{Name: s.cfg.Name, RefreshToken: s.cfg.RefreshToken}
		default:
			return "", err
		}
		s.tok, s.loaded = t, true
		if t.RefreshExpiry != nil {
			s.status.RefreshExpiry = *t.RefreshExpiry
		}
		if t.AccessExpiry != nil {
			s.status.AccessExpiry = *t.AccessExpiry
		}
	}
	now := s.cfg.Now()
	if s.tok.AccessToken != "" && s.tok.AccessExpiry != nil && s.tok.AccessExpiry.Sub(now) > time.Minute {
		return s.tok.AccessToken, nil
	}
	return s.refresh(ctx, now)
}

// Keep refreshes the token whenever it is due (checked every interval,
// default 5 minutes) until ctx ends, so a revoked or expiring refresh token
// raises its alert within minutes even while an IMAP session stays logged
// in for days and no send needs a token.
func (s *Source) Keep(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = s.Token(ctx) // failures are logged, counted and in Status
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh asks the token endpoint for a new access token. Called with mu
// held.
//
// Several nodes may share the account's row. A provider that rotates
// refresh tokens accepts each one once, so two nodes refreshing with the
// same token would lock one of them out (and some providers then revoke the
// whole family). So a refresh holds a database lock on the account
// (store.LockOAuthToken), re-reads the stored token under it, and uses the
// access token another node has just obtained when it is still valid.
func (s *Source) refresh(ctx context.Context, now time.Time) (string, error) {
	if s.cfg.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var access string
	var endpointErr error
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := store.LockOAuthToken(ctx, tx, s.cfg.Name); err != nil {
			return err
		}
		cur, err := store.GetOAuthToken(ctx, tx, s.cfg.Name)
		switch {
		case err == nil:
			s.tok = cur
			if cur.AccessToken != "" && cur.AccessExpiry != nil && cur.AccessExpiry.Sub(now) > time.Minute {
				access = cur.AccessToken // another node refreshed it
				return nil
			}
		case errors.Is(err, store.ErrNotFound):
		default:
			return err
		}
		t, err := s.exchange(ctx, now)
		if err != nil {
			endpointErr = err
			return nil // nothing to write; the failure is reported below
		}
		// Persist before using: a rotated refresh token replaced the old
		// one at the provider, and losing it would lock the desk out.
		if err := store.SaveOAuthToken(ctx, tx, t); err != nil {
			return fmt.Errorf("persisting the oauth token of %s: %w", s.cfg.Name, err)
		}
		s.tok, access = t, t.AccessToken
		return nil
	})
	if endpointErr != nil {
		return "", s.failed(endpointErr)
	}
	if err != nil {
		return "", s.failed(err)
	}
	s.succeeded(now)
	return access, nil
}

// exchange calls the token endpoint with the refresh token in s.tok and
// returns the new token row (not yet stored).
func (s *Source) exchange(ctx context.Context, now time.Time) (store.OAuthToken, error) {
	t := s.tok
	nt, err := s.oc.TokenSource(ctx, &oauth2.Token{RefreshToken: t.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// The endpoint's own error code (invalid_grant: revoked or
			// expired), never the body, which may echo secrets.
			err = fmt.Errorf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)
		}
		return t, fmt.Errorf("refreshing the oauth token of %s: %w", s.cfg.Name, err)
	}
	rotated := nt.RefreshToken != "" && nt.RefreshToken != t.RefreshToken
	if rotated {
		t.RefreshToken = nt.RefreshToken
	}
	t.AccessToken = nt.AccessToken
	exp := now.Add(time.Hour)
	switch {
	case nt.ExpiresIn > 0:
		exp = now.Add(time.Duration(nt.ExpiresIn) * time.Second)
	case !nt.Expiry.IsZero():
		exp = nt.Expiry
	}
	t.AccessExpiry = &exp
	if secs := extraSeconds(nt, "refresh_token_expires_in"); secs > 0 {
		re := now.Add(time.Duration(secs) * time.Second)
		t.RefreshExpiry = &re
	} else if rotated {
		t.RefreshExpiry = nil // a new refresh token; its expiry is unknown
	}
	t.UpdatedAt = now
	s.cfg.Metrics.refreshed(s.cfg.Name, exp, t.RefreshExpiry, rotated)
	s.log.Info("oauth token refreshed", "rotated", rotated, "access_expires_in", exp.Sub(now).Round(time.Second).String())
	return t, nil
}

// succeeded records that s.tok holds a usable access token. Called with mu
// held.
func (s *Source) succeeded(now time.Time) {
	t := s.tok
	if s.status.ConsecutiveFailures > 0 {
		s.log.Info("oauth token refresh recovered", "after_failures", s.status.ConsecutiveFailures)
	}
	s.status.ConsecutiveFailures, s.status.LastError = 0, ""
	s.status.LastRefresh = now
	if t.AccessExpiry != nil {
		s.status.AccessExpiry = *t.AccessExpiry
	}
	s.status.RefreshExpiry = time.Time{}
	if t.RefreshExpiry != nil {
		s.status.RefreshExpiry = *t.RefreshExpiry
		if left := t.RefreshExpiry.Sub(now); left < s.cfg.WarnBefore {
			s.log.Warn("oauth refresh token expires soon: re-consent needed before mail login stops",
				"expires_in", left.Round(time.Minute).String())
		}
	}
}

// failed records a refresh failure; the first of a run is logged as an
// error (the alert), later ones as warnings.
func (s *Source) failed(err error) error {
	s.status.ConsecutiveFailures++
	s.status.LastError = err.Error()
	s.cfg.Metrics.failed(s.cfg.Name)
	if s.status.ConsecutiveFailures == 1 {
		s.log.Error("oauth token refresh failed: mail login will fail until it works", "error", err)
	} else {
		s.log.Warn("oauth token refresh still failing", "error", err, "consecutive_failures", s.status.ConsecutiveFailures)
	}
	return err
}

func extraSeconds(t *oauth2.Token, key string) int64 {
	switch v := t.Extra(key).(type) {
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case int64:
		return v
	}
	return 0
}

// Metrics are the token collectors, labelled by account. A nil *Metrics
// records nothing.
type Metrics struct {
	accessExpiry  *prometheus.GaugeVec
	refreshExpiry *prometheus.GaugeVec
	refreshes     *prometheus.CounterVec
	failures      *prometheus.CounterVec
}

// NewMetrics registers the token collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accessExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codedesk_oauth_access_token_expiry_timestamp_seconds",
			Help: "When the current OAuth access token expires."}, []string{"account"}),
		refreshExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "codedesk_oauth_refresh_token_expiry_timestamp_seconds",
			Help: "When the OAuth refresh token expires, when the provider says (alert well before it)."}, []string{"account"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_oauth_refreshes_total",
			Help: "OAuth token refreshes, by whether the provider rotated the refresh token."}, []string{"account", "rotated"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_oauth_refresh_failures_total",
			Help: "Failed OAuth token refreshes (alert on any increase)."}, []string{"account"}),
	}
	reg.MustRegister(m.accessExpiry, m.refreshExpiry, m.refreshes, m.failures)
	return m
}

func (m *Metrics) refreshed(account string, access time.Time, refresh *time.Time, rotated bool) {
	if m == nil {
		return
	}
	m.accessExpiry.WithLabelValues(account).Set(float64(access.Unix()))
	if refresh != nil {
		m.refreshExpiry.WithLabelValues(account).Set(float64(refresh.Unix()))
	}
	m.refreshes.WithLabelValues(account, strconv.FormatBool(rotated)).Inc()
}

func (m *Metrics) failed(account string) {
	if m != nil {
		m.failures.WithLabelValues(account).Inc()
	}
}
