package main

// searchCmd is filled in by its owner; until then it reports that it is missing.
type searchCmd struct{}

// Run runs the command.
func (c *searchCmd) Run() error { return errNotYet }
