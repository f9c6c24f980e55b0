package main

// devmailCmd is filled in by its owner; until then it reports that it is missing.
type devmailCmd struct{}

// Run runs the command.
func (c *devmailCmd) Run() error { return errNotYet }
