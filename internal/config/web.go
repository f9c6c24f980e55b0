package config

import (
	"errors"
	"fmt"
	"time"
)

// Web configures the staff desk served by "codedesk serve".
type Web struct {
	FirstResponseTarget time.Duration `name:"first-response-target" env:"CODEDESK_FIRST_RESPONSE_TARGET" default:"4h" help:"First-response target: the queue colours a case's age amber past half of it and red past it."`
	SessionIdle         time.Duration `name:"session-idle-timeout" env:"CODEDESK_SESSION_IDLE_TIMEOUT" default:"30m" help:"Sign a desk user out after this long without a request."`
	SessionMaxAge       time.Duration `name:"session-max-age" env:"CODEDESK_SESSION_MAX_AGE" default:"12h" help:"Sign a desk user out this long after sign-in, whatever the activity."`
	SecureCookies       bool          `name:"secure-cookies" env:"CODEDESK_SECURE_COOKIES" help:"Mark desk cookies Secure on plain HTTP too (set it behind a TLS-terminating proxy; cookies on TLS are always Secure)."`
}

// Validate checks the desk settings.
func (w Web) Validate() error {
	var errs []error
	if w.FirstResponseTarget < time.Minute {
		errs = append(errs, fmt.Errorf("first-response-target: %v must be at least 1m", w.FirstResponseTarget))
	}
	if w.SessionIdle < time.Minute {
		errs = append(errs, fmt.Errorf("session-idle-timeout: %v must be at least 1m", w.SessionIdle))
	}
	if w.SessionMaxAge < w.SessionIdle {
		errs = append(errs, fmt.Errorf("session-max-age: %v must not be below session-idle-timeout %v", w.SessionMaxAge, w.SessionIdle))
	}
	return errors.Join(errs...)
}
