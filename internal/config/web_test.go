package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebValidate(t *testing.T) {
	t.Parallel()
	good := Web{FirstResponseTarget: 4 * time.Hour, SessionIdle: 30 * time.Minute, SessionMaxAge: 12 * time.Hour}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() of the defaults = %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Web)
		want   string
	}{
		{"target too short", func(w *Web) { w.FirstResponseTarget = time.Second }, "first-response-target"},
		{"idle too short", func(w *Web) { w.SessionIdle = 0 }, "session-idle-timeout"},
		{"max age below idle", func(w *Web) { w.SessionMaxAge = 10 * time.Minute }, "session-max-age"},
	}
	for _, tc := range tests {
		w := good
		tc.mutate(&w)
		if err := w.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}
