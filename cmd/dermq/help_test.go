package main

import (
	"strings"
	"testing"
)

func TestEveryCommandsHelpExitsZero(t *testing.T) {
	t.Parallel()

	for name := range commands {
		t.Run(name+" --help exits 0 with its usage", func(t *testing.T) {
			t.Parallel()

			code, stderr := runDermq(t, nil, name, "--help")
			if code != exitOK {
				t.Fatalf("dermq %s --help exited %d; stderr:\n%s", name, code, stderr)
			}
			if !strings.Contains(stderr, "usage: dermq "+name) {
				t.Fatalf("dermq %s --help printed no usage:\n%s", name, stderr)
			}
		})
	}
}

func TestSubmitHelpNamesItsEnvironment(t *testing.T) {
	t.Parallel()

	_, stderr := runDermq(t, nil, "submit", "--help")
	if !strings.Contains(stderr, "environment") || !strings.Contains(stderr, "DERMQ_SERVER") {
		t.Fatalf("dermq submit --help has no environment section naming DERMQ_SERVER:\n%s",
			stderr)
	}
}

func TestHelpRedactsSecretsFromTheEnvironment(t *testing.T) {
	t.Parallel()

	env := []string{
		"REDIS_URL=redis://:hunter2-password@redis.internal:6379/3",
		"DERMQ_WEBHOOK_SECRET=whsec_c2VjcmV0LXNpZ25pbmcta2V5",
	}
	for _, name := range []string{"web", "worker", "run"} {
		t.Run("dermq "+name+" --help shows no password and no webhook secret", func(t *testing.T) {
			t.Parallel()

			_, stderr := runDermq(t, env, name, "--help")
			for _, secret := range []string{"hunter2-password", "c2VjcmV0LXNpZ25pbmcta2V5"} {
				if strings.Contains(stderr, secret) {
					t.Fatalf("dermq %s --help prints the secret %q:\n%s", name, secret, stderr)
				}
			}
			if name != "worker" && !strings.Contains(stderr, "DERMQ_TRUSTED_PROXIES") {
				t.Fatalf("dermq %s --help does not list DERMQ_TRUSTED_PROXIES:\n%s", name, stderr)
			}
			if !strings.Contains(stderr, "redis://:redacted@redis.internal:6379/3") {
				t.Fatalf("dermq %s --help does not show REDIS_URL redacted:\n%s", name, stderr)
			}
		})
	}
}
