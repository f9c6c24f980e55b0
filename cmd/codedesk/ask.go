package main

// askCmd is filled in by its owner; until then it reports that it is missing.
type askCmd struct{}

// Run runs the command.
func (c *askCmd) Run() error { return errNotYet }
