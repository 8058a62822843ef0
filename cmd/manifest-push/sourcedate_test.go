package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSourceDateEpoch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		set         bool
		want        string // RFC 3339; empty: nil
		wantErr     string
	}{
		{name: "unset"},
		{name: "empty", set: true},
		{name: "a Unix time", value: "1700000000", set: true, want: "2023-11-14T22:13:20Z"},
		{name: "zero", value: "0", set: true, want: "1970-01-01T00:00:00Z"},
		{name: "the last second of year 9999", value: "253402300799", set: true, want: "9999-12-31T23:59:59Z"},
		{name: "past year 9999", value: "253402300800", set: true, wantErr: `SOURCE_DATE_EPOCH="253402300800" is not a Unix time`},
		{name: "overflowing", value: "99999999999999999999", set: true, wantErr: `SOURCE_DATE_EPOCH="99999999999999999999" is not a Unix time`},
		{name: "negative", value: "-1", set: true, wantErr: `SOURCE_DATE_EPOCH="-1" is not a Unix time`},
		{name: "minus zero", value: "-0", set: true, wantErr: `SOURCE_DATE_EPOCH="-0" is not a Unix time`},
		{name: "a plus sign", value: "+5", set: true, wantErr: `SOURCE_DATE_EPOCH="+5" is not a Unix time`},
		{name: "fractional", value: "1700000000.5", set: true, wantErr: `SOURCE_DATE_EPOCH="1700000000.5" is not a Unix time`},
		{name: "a date", value: "2023-11-14", set: true, wantErr: `SOURCE_DATE_EPOCH="2023-11-14" is not a Unix time`},
		{name: "spaces", value: " 1700000000", set: true, wantErr: `SOURCE_DATE_EPOCH=" 1700000000" is not a Unix time`},
		{name: "control characters escaped", value: "1\x1b[2J", set: true, wantErr: `SOURCE_DATE_EPOCH="1\x1b[2J" is not a Unix time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lookup := func(name string) (string, bool) {
				if name != "SOURCE_DATE_EPOCH" {
					t.Errorf("looked up %q", name)
				}
				return tc.value, tc.set
			}
			got, err := sourceDateEpoch(lookup)
			if tc.wantErr != "" {
				var u *usageError
				if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.wantErr) || exitCode(err) != exitInvalid {
					t.Errorf("error %v (exit %d), want a usage error (exit 2) with %q", err, exitCode(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("got %v, want nil", got)
			case tc.want != "" && (got == nil || got.Format(time.RFC3339) != tc.want):
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
}
