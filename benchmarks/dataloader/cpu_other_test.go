//go:build !unix

package dataloader_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
