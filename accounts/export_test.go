package accounts

// PBKDF2Runs is how many key derivations this process has run.
func PBKDF2Runs() int64 { return pbkdf2Runs.Load() }
