package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
	"golang.org/x/term"
)

// usersCmd manages the staff accounts of the web desk.
type usersCmd struct {
	Add     usersAddCmd     `cmd:"" help:"Create a staff account, or set a new password and role for an existing one."`
	List    usersListCmd    `cmd:"" help:"List staff accounts."`
	Disable usersDisableCmd `cmd:"" help:"Disable an account and end its sessions."`
	Enable  usersEnableCmd  `cmd:"" help:"Enable a disabled account again."`
}

type usersAddCmd struct {
	config.Database
	Email string `arg:"" help:"Email address (the sign-in name)."`
	Role  string `name:"role" required:"" enum:"reviewer,admin" help:"reviewer (works the queue) or admin (also the audit trail, accounts and River's job UI)."`
	Name  string `name:"name" help:"Display name."`
}

// passwordEnv lets scripts pass a password without a terminal.
const passwordEnv = "CODEDESK_USER_PASSWORD"

// Run implements the command.
func (c *usersAddCmd) Run(ctx context.Context, io stdio) error {
	email := store.NormalizeEmail(c.Email)
	if at := strings.IndexByte(email, '@'); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t<>") {
		return fmt.Errorf("%q is not an email address", c.Email)
	}
	pw, err := readPassword(io)
	if err != nil {
		return err
	}
	if err := web.CheckPasswordStrength(pw); err != nil {
		return err
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	// The first account is often made before the first "serve": bring the
	// schema up to date as serve would.
	if err := migrateAll(ctx, db, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	u := &store.User{Email: email, Name: c.Name, Role: store.Role(c.Role), PasswordHash: hash}
	var created bool
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if created, err = store.UpsertUser(ctx, tx, u); err != nil {
			return err
		}
		action := "user_created"
		if !created {
			action = "user_updated"
		}
		return store.AddEvent(ctx, tx, 0, "cli", action, fmt.Sprintf("user_id=%d role=%s", u.ID, u.Role))
	})
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(io.Out, "account %s created (%s)\n", u.Email, u.Role)
	} else {
		fmt.Fprintf(io.Out, "account %s updated (%s); its sessions were ended\n", u.Email, u.Role)
	}
	return nil
}

// readPassword takes the password from CODEDESK_USER_PASSWORD, or prompts
// twice on a terminal, or reads the first line of standard input.
func readPassword(sio stdio) (string, error) {
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return pw, nil
	}
	if f, ok := sio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(sio.Err, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(sio.Err)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		fmt.Fprint(sio.Err, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(sio.Err)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(limitReader(sio.In, 4096)).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", fmt.Errorf("reading password from standard input (or set %s): %w", passwordEnv, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func limitReader(r io.Reader, n int64) io.Reader { return io.LimitReader(r, n) }

type usersListCmd struct {
	config.Database
	JSON bool `name:"json" help:"Print JSON."`
}

// Run implements the command.
func (c *usersListCmd) Run(ctx context.Context, io stdio) error {
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := store.ListUsers(ctx, db)
	if err != nil {
		return err
	}
	if c.JSON {
		type row struct {
			Email     string `json:"email"`
			Name      string `json:"name,omitempty"`
			Role      string `json:"role"`
			Disabled  bool   `json:"disabled"`
			LastLogin string `json:"last_login,omitempty"`
		}
		out := []row{}
		for _, u := range users {
			r := row{Email: u.Email, Name: u.Name, Role: string(u.Role), Disabled: u.Disabled}
			if u.LastLoginAt != nil {
				r.LastLogin = u.LastLoginAt.UTC().Format(time.RFC3339)
			}
			out = append(out, r)
		}
		return json.NewEncoder(io.Out).Encode(map[string]any{"users": out})
	}
	if len(users) == 0 {
		fmt.Fprintln(io.Out, "no accounts; create one with: codedesk users add EMAIL --role admin")
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tROLE\tSTATE\tLAST SIGN-IN")
	for _, u := range users {
		state, last := "active", "-"
		if u.Disabled {
			state = "disabled"
		}
		if u.LastLoginAt != nil {
			last = u.LastLoginAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Role, state, last)
	}
	return tw.Flush()
}

type usersDisableCmd struct {
	config.Database
	Email string `arg:"" help:"Email address of the account."`
}

// Run implements the command.
func (c *usersDisableCmd) Run(ctx context.Context, io stdio) error {
	return setDisabled(ctx, c.Database, c.Email, true, io)
}

type usersEnableCmd struct {
	config.Database
	Email string `arg:"" help:"Email address of the account."`
}

// Run implements the command.
func (c *usersEnableCmd) Run(ctx context.Context, io stdio) error {
	return setDisabled(ctx, c.Database, c.Email, false, io)
}

func setDisabled(ctx context.Context, dbc config.Database, email string, disabled bool, io stdio) error {
	db, err := openDB(ctx, dbc)
	if err != nil {
		return err
	}
	defer db.Close()
	action := "user_enabled"
	if disabled {
		action = "user_disabled"
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		ok, err := store.SetUserDisabled(ctx, tx, email, disabled)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("there is no account %s", store.NormalizeEmail(email))
		}
		u, err := store.GetUserByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		return store.AddEvent(ctx, tx, 0, "cli", action, fmt.Sprintf("user_id=%d", u.ID))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "account %s %s\n", store.NormalizeEmail(email), strings.TrimPrefix(action, "user_"))
	return nil
}

// demoAccount is the admin account created for a newcomer on the
// development path (serve --devmail), shown once in the start-up banner.
type demoAccount struct {
	Email    string
	Password string
}

const demoAdminEmail = "admin@codedesk.test"

// ensureDemoAdmin creates admin@codedesk.test with a random password when
// the database has no account yet. It runs only with --devmail (make run),
// never in a production deployment.
func ensureDemoAdmin(ctx context.Context, db *store.DB) (*demoAccount, error) {
	n, err := store.CountUsers(ctx, db)
	if err != nil || n > 0 {
		return nil, err
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	pw := base64.RawURLEncoding.EncodeToString(b)
	hash, err := web.HashPassword(pw)
	if err != nil {
		return nil, err
	}
	u := &store.User{Email: demoAdminEmail, Name: "Demo admin", Role: store.RoleAdmin, PasswordHash: hash}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := store.UpsertUser(ctx, tx, u); err != nil {
			return err
		}
		return store.AddEvent(ctx, tx, 0, store.ActorSystem, "user_created", fmt.Sprintf("user_id=%d role=admin demo", u.ID))
	})
	if err != nil {
		return nil, fmt.Errorf("creating the demo admin: %w", err)
	}
	return &demoAccount{Email: demoAdminEmail, Password: pw}, nil
}

// printDeskAccount tells a newcomer how to sign in to the desk.
func (n *node) printDeskAccount(w io.Writer) {
	if n.demo != nil {
		fmt.Fprintf(w, "  Desk sign-in (demo admin, created because no account existed; shown once):\n")
		fmt.Fprintf(w, "                        %s / %s\n", n.demo.Email, n.demo.Password)
		fmt.Fprintf(w, "                        change it with: ./bin/codedesk users add %s --role admin\n", n.demo.Email)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := store.CountUsers(ctx, n.db); err == nil && c == 0 {
		fmt.Fprintf(w, "  No desk account yet. Create one:  ./bin/codedesk users add you@example.org --role admin\n")
	}
}
