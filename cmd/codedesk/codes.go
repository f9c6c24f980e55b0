package main

// The code-set commands are filled in by their owner; until then they report
// that they are missing.
type codesCmd struct {
	Import codesImportCmd `cmd:"" help:"Import official code-set files (format detected from the file)."`
	Fetch  codesFetchCmd  `cmd:"" help:"Download the current official releases and import them."`
	List   codesListCmd   `cmd:"" help:"List imported releases."`
}

type codesImportCmd struct{}

func (c *codesImportCmd) Run() error { return errNotYet }

type codesFetchCmd struct{}

func (c *codesFetchCmd) Run() error { return errNotYet }

type codesListCmd struct{}

func (c *codesListCmd) Run() error { return errNotYet }

type lookupCmd struct{}

func (c *lookupCmd) Run() error { return errNotYet }

type checkCmd struct{}

func (c *checkCmd) Run() error { return errNotYet }
