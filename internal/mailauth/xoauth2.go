package mailauth

import (
	"bytes"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
)

// XOAuth2 is the SASL mechanism name used by Google and Microsoft.
const XOAuth2 = "XOAUTH2"

// xoauth2Client is the client side of XOAUTH2: one initial response
// "user=<user>^Aauth=Bearer <token>^A^A". On failure the server sends a
// JSON challenge, answered with an empty response, and then fails the
// command.
type xoauth2Client struct{ user, token string }

// NewXOAuth2Client returns a SASL client logging in as user with an OAuth
// access token.
func NewXOAuth2Client(user, token string) sasl.Client {
	return &xoauth2Client{user: user, token: token}
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return XOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next([]byte) ([]byte, error) { return []byte{}, nil }

// ErrBadToken is what an XOAUTH2 server built by NewXOAuth2Server returns
// when check rejects the token.
var ErrBadToken = errors.New("invalid OAuth token")

// NewXOAuth2Server returns the server side of XOAUTH2 (test servers and the
// development mail server): check decides whether token is valid for
// user.
func NewXOAuth2Server(check func(user, token string) error) sasl.Server {
	return &xoauth2Server{check: check}
}

type xoauth2Server struct {
	check  func(user, token string) error
	failed error
}

func (s *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if s.failed != nil {
		// The client acknowledged the error challenge.
		return nil, true, s.failed
	}
	if resp == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		switch k, v, _ := strings.Cut(string(f), "="); k {
		case "user":
			user = v
		case "auth":
			token, _ = strings.CutPrefix(v, "Bearer ")
		}
	}
	if user == "" || token == "" {
		return nil, true, errors.New("malformed XOAUTH2 response")
	}
	if err := s.check(user, token); err != nil {
		s.failed = err
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.example/"}`), false, nil
	}
	return nil, true, nil
}
