//go:build !unix

package main

// privateUmask has no equivalent here; prepareDataDir still fixes the
// modes of existing files.
func privateUmask() {}
