package main

import (
	"io"
	"net"
	"testing"
)

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != ":3000" || o.heraldURL != "http://localhost:8000" ||
		o.page != pageApp || o.interval.Seconds() != 5 || o.apiKey != "my_api_key" {
		t.Fatalf("defaults: %+v", o)
	}
	for _, args := range [][]string{
		{"-page", "v3"},
		{"-interval", "0s"},
		{"-herald-url", "localhost:8000"},
		{"extra"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) accepted", args)
		}
	}
}

func TestUpstreamURL(t *testing.T) {
	for addr, want := range map[string]string{
		"[::]:3000":      "http://localhost:3000",
		"0.0.0.0:3000":   "http://localhost:3000",
		"127.0.0.1:4321": "http://127.0.0.1:4321",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := upstreamURL(a).String(); got != want {
			t.Errorf("upstreamURL(%s) = %s; want %s", addr, got, want)
		}
	}
}
