package main

import "errors"

// errNotYet marks a command whose implementation has not landed yet.
var errNotYet = errors.New("this command is not implemented yet")

type draftCmd struct{}

func (c *draftCmd) Run() error { return errNotYet }
