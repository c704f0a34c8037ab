//go:build !dermqtest

package jobs

// crashForTest does nothing: only a test build (tag dermqtest) can make a
// job take its worker down on purpose (crashhook_dermqtest.go).
func crashForTest(string) {}
