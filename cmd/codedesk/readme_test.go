package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table")

// configTable renders the flags of "codedesk serve" as a Markdown table:
// flag, environment variable, default and description.
func configTable(t *testing.T) string {
	t.Helper()
	var c cli
	parser, err := kong.New(&c, kong.Name("codedesk"), kong.Vars{"version": version})
	if err != nil {
		t.Fatal(err)
	}
	var serve *kong.Node
	for _, n := range parser.Model.Children {
		if n.Name == "serve" {
			serve = n
		}
	}
	if serve == nil {
		t.Fatal("no serve command")
	}
	var b strings.Builder
	b.WriteString("| flag | environment variable | default | what it does |\n|---|---|---|---|\n")
	for _, f := range serve.Flags {
		if f.Name == "help" {
			continue
		}
		env := ""
		if len(f.Envs) > 0 {
			env = "`" + strings.Join(f.Envs, "`, `") + "`"
		}
		def := f.Default
		switch {
		case def == "" && f.Value.Target.Kind() == reflect.Bool:
			def = "false"
		case def == "":
			def = "—"
		default:
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", f.Name, env, def, strings.ReplaceAll(f.Help, "|", "\\|"))
	}
	return b.String()
}

var reTable = regexp.MustCompile(`(?s)<!-- config-table -->\n.*?<!-- /config-table -->`)

// TestREADMEConfigTable keeps the README's configuration table equal to
// the flags "codedesk serve" really has (go test -run README -update
// rewrites it).
func TestREADMEConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "<!-- config-table -->\n" + configTable(t) + "<!-- /config-table -->"
	if *update {
		out := reTable.ReplaceAllLiteralString(string(readme), want)
		if err := os.WriteFile("../../README.md", []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := reTable.FindString(string(readme))
	if got != want {
		t.Errorf("README configuration table is out of date; run: go test ./cmd/codedesk -run README -update\n--- want\n%s", want)
	}
}
