//go:build unix

package main

import "syscall"

// privateUmask makes every file the process creates from now on (the
// SQLite database and its -wal and -shm files among them) private to its
// user.
func privateUmask() { syscall.Umask(0o077) }
