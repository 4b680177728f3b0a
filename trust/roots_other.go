//go:build !windows

package trust

func platformRoots() ([]storeDER, []string) { return unixRoots() }
