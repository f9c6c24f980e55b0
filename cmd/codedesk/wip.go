package main

import "errors"

// errNotYet marks a command whose implementation has not landed yet.
var errNotYet = errors.New("this command is not implemented yet")

type serveCmd struct{}

func (c *serveCmd) Run() error { return errNotYet }

type migrateCmd struct{}

func (c *migrateCmd) Run() error { return errNotYet }

type draftCmd struct{}

func (c *draftCmd) Run() error { return errNotYet }

type reviewCmd struct{}

func (c *reviewCmd) Run() error { return errNotYet }
