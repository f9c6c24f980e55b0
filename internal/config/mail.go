package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Mail authentication methods for IMAP.Auth and SMTP.Auth.
const (
	AuthPassword = "password"
	AuthXOAuth2  = "xoauth2"
)

// OAuth is the OAuth application used for XOAUTH2 login to the desk's
// mailbox and SMTP server (Microsoft 365, Google Workspace). The refresh
// token given here only bootstraps: providers rotate it, and the newest is
// kept in the database.
type OAuth struct {
	ClientID         string        `name:"oauth-client-id" env:"CODEDESK_OAUTH_CLIENT_ID" help:"OAuth client ID for XOAUTH2 mail login."`
	ClientSecret     string        `name:"oauth-client-secret" env:"CODEDESK_OAUTH_CLIENT_SECRET" help:"OAuth client secret (or set CODEDESK_OAUTH_CLIENT_SECRET_FILE; empty for public clients)."`
	ClientSecretFile string        `name:"oauth-client-secret-file" env:"CODEDESK_OAUTH_CLIENT_SECRET_FILE" help:"File holding the OAuth client secret."`
	TokenURL         string        `name:"oauth-token-url" env:"CODEDESK_OAUTH_TOKEN_URL" help:"OAuth token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or https://oauth2.googleapis.com/token."`
	Scopes           string        `name:"oauth-scopes" env:"CODEDESK_OAUTH_SCOPES" help:"Space-separated scopes sent with each refresh (e.g. https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access)."`
	RefreshToken     string        `name:"oauth-refresh-token" env:"CODEDESK_OAUTH_REFRESH_TOKEN" help:"Initial refresh token (or set CODEDESK_OAUTH_REFRESH_TOKEN_FILE); used only until the database holds a newer one."`
	RefreshTokenFile string        `name:"oauth-refresh-token-file" env:"CODEDESK_OAUTH_REFRESH_TOKEN_FILE" help:"File holding the initial refresh token."`
	WarnBefore       time.Duration `name:"oauth-warn-before" env:"CODEDESK_OAUTH_WARN_BEFORE" default:"168h" help:"Report the refresh token as expiring (healthz, logs) this long before the provider's stated expiry."`
}

// ScopeList splits Scopes.
func (o OAuth) ScopeList() []string { return strings.Fields(strings.ReplaceAll(o.Scopes, ",", " ")) }

// validateMailAuth checks the XOAUTH2 settings when IMAP or SMTP uses them.
func (c *Serve) validateMailAuth() error {
	imapOAuth := c.IMAP.Auth == AuthXOAuth2 && !c.IMAP.Disabled
	smtpOAuth := c.SMTP.Auth == AuthXOAuth2
	if !imapOAuth && !smtpOAuth {
		return nil
	}
	var errs []error
	if c.OAuth.ClientID == "" {
		errs = append(errs, errors.New("oauth-client-id: required for xoauth2 login"))
	}
	if u, err := url.Parse(c.OAuth.TokenURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, fmt.Errorf("oauth-token-url: %q is not an http(s) URL", c.OAuth.TokenURL))
	}
	if smtpOAuth && c.SMTP.Username == "" {
		errs = append(errs, errors.New("smtp-username: required for xoauth2 login"))
	}
	return errors.Join(errs...)
}
