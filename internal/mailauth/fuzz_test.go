package mailauth

import (
	"bytes"
	"testing"
)

// FuzzXOAuth2Server feeds arbitrary client responses to the XOAUTH2
// server: it must never panic, and must accept only a well-formed response
// whose user and token the check accepts.
func FuzzXOAuth2Server(f *testing.F) {
	f.Add([]byte("user=desk@codedesk.test\x01auth=Bearer tok\x01\x01"))
	f.Add([]byte("user=\x01auth=Bearer \x01\x01"))
	f.Add([]byte("auth=Bearer tok"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, resp []byte) {
		var gotUser, gotToken string
		s := NewXOAuth2Server(func(user, token string) error {
			gotUser, gotToken = user, token
			if user == "desk@codedesk.test" && token == "tok" {
				return nil
			}
			return ErrBadToken
		})
		_, done, err := s.Next(resp)
		if done && err == nil {
			if gotUser != "desk@codedesk.test" || gotToken != "tok" {
				t.Fatalf("accepted user %q token %q", gotUser, gotToken)
			}
			if !bytes.Contains(resp, []byte("auth=Bearer tok")) {
				t.Fatalf("accepted a response without the token: %q", resp)
			}
		}
		if !done {
			// An error challenge (or a request for the initial response):
			// the client's empty answer must end it with a failure.
			if _, done2, err2 := s.Next([]byte{}); !done2 || err2 == nil {
				t.Fatalf("after %q and an empty answer: done %v, error %v; want a failure", resp, done2, err2)
			}
		}
	})
}
