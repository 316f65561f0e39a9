//go:build !linux

package backlog

import "errors"

// mapSupported: blocks stay on the Go heap outside Linux.
const mapSupported = false

func mapRegion(int) ([]byte, error) { return nil, errors.New("backlog: mapped memory not supported") }

func releasePages([]byte) {}
