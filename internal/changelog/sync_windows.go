package changelog

// syncDir does nothing on Windows: a directory cannot be opened for
// flushing there, and NTFS journals its metadata.
func syncDir(string) error { return nil }
