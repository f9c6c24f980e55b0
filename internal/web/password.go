package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters (RFC 9106).
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams follow the OWASP password storage recommendation
// for argon2id (m=46 MiB, t=1, p=1 or stronger): 64 MiB, 2 passes, 2
// lanes, about 100 ms on one core of a small server.
var DefaultPasswordParams = PasswordParams{Memory: 64 << 10, Time: 2, Threads: 2}

// MinPasswordLength is the shortest password accepted for an account.
const MinPasswordLength = 12

// maxPasswordLength bounds the work one sign-in attempt can cause.
const maxPasswordLength = 1024

// ErrWeakPassword is returned by CheckPasswordStrength.
var ErrWeakPassword = fmt.Errorf("a password needs at least %d characters", MinPasswordLength)

// CheckPasswordStrength rejects passwords that are too short or too long.
func CheckPasswordStrength(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return ErrWeakPassword
	}
	if len(pw) > maxPasswordLength {
		return fmt.Errorf("a password may have at most %d bytes", maxPasswordLength)
	}
	return nil
}

// HashPassword hashes pw with argon2id and DefaultPasswordParams into the
// PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(pw string) (string, error) { return HashPasswordWith(pw, DefaultPasswordParams) }

// HashPasswordWith is HashPassword with explicit parameters (tests use cheap
// ones; the parameters travel in the hash, so verification needs none).
func HashPasswordWith(pw string, p PasswordParams) (string, error) {
	if len(pw) > maxPasswordLength {
		return "", errors.New("hashing password: too long")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches a hash made by HashPassword, in
// time independent of where the two differ.
func VerifyPassword(encoded, pw string) (bool, error) {
	if len(pw) > maxPasswordLength {
		return false, nil
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verifying password: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("verifying password: unsupported argon2 version %q", parts[2])
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("verifying password: bad parameters: %w", err)
	}
	if p.Memory == 0 || p.Memory > 1<<22 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return false, errors.New("verifying password: parameters out of range")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verifying password: bad salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("verifying password: bad hash: %w", err)
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
