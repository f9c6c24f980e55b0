package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	lb := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("192.0.2.7/32")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured: header ignored", "10.0.0.5:4000", []string{"203.0.113.9"}, nil, "10.0.0.5"},
		{"direct client: header ignored", "198.51.100.4:4000", []string{"203.0.113.9"}, lb, "198.51.100.4"},
		{"one balancer", "10.0.0.5:4000", []string{"203.0.113.9"}, lb, "203.0.113.9"},
		{"client-sent spoof on the left is skipped", "10.0.0.5:4000", []string{"1.2.3.4, 203.0.113.9"}, lb, "203.0.113.9"},
		{"two trusted hops", "10.0.0.5:4000", []string{"203.0.113.9, 192.0.2.7"}, lb, "203.0.113.9"},
		{"several header lines", "10.0.0.5:4000", []string{"1.2.3.4", "203.0.113.9"}, lb, "203.0.113.9"},
		{"garbage stops the walk", "10.0.0.5:4000", []string{"203.0.113.9, not-an-ip"}, lb, "10.0.0.5"},
		{"no header from the balancer", "10.0.0.5:4000", nil, lb, "10.0.0.5"},
		{"ipv6 client", "10.0.0.5:4000", []string{"2001:db8::1"}, lb, "2001:db8::1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, tc.trusted); got != tc.want {
			t.Errorf("%s: clientIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}
