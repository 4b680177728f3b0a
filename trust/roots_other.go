//go:build !windows

package trust

func platformRoots() []StoreCert { return unixRoots() }
