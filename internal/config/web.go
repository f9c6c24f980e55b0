package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Web configures the staff desk served by "codedesk serve".
type Web struct {
	FirstResponseTarget time.Duration `name:"first-response-target" env:"CODEDESK_FIRST_RESPONSE_TARGET" default:"4h" help:"First-response target: the queue colours a case's age amber past half of it and red past it."`
	SessionIdle         time.Duration `name:"session-idle-timeout" env:"CODEDESK_SESSION_IDLE_TIMEOUT" default:"30m" help:"Sign a desk user out after this long without a request."`
	SessionMaxAge       time.Duration `name:"session-max-age" env:"CODEDESK_SESSION_MAX_AGE" default:"12h" help:"Sign a desk user out this long after sign-in, whatever the activity."`
	SecureCookies       bool          `name:"secure-cookies" env:"CODEDESK_SECURE_COOKIES" help:"Mark desk cookies Secure on plain HTTP too (set it behind a TLS-terminating proxy; cookies on TLS are always Secure)."`
	TrustedProxies      []string      `name:"trusted-proxies" env:"CODEDESK_TRUSTED_PROXIES" sep:"," help:"Addresses or CIDR ranges of the load balancers in front of the desk, whose X-Forwarded-For names the browser's address (for the sign-in throttle). Empty: X-Forwarded-For is ignored."`
}

// Proxies parses TrustedProxies.
func (w Web) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range w.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted-proxies: %q is not an address or CIDR range", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is not an address or CIDR range", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
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
	if _, err := w.Proxies(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
