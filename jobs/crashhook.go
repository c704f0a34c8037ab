//go:build !dermqtest

package jobs

import "context"

// crashForTest does nothing: only a test build (tag dermqtest) can make a
// job take its worker down on purpose (crashhook_dermqtest.go).
func crashForTest(string) {}

// hogForTest does nothing: only a test build can make a job hold memory
// past the hard limit on purpose.
func hogForTest(context.Context, string) {}
