package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// sourceDateEpochVar is the variable of reproducible builds that gives a
// build's time: whole seconds since 1970-01-01 00:00:00 UTC, as date +%s
// prints them.
const sourceDateEpochVar = "SOURCE_DATE_EPOCH"

// maxSourceDateEpoch is 9999-12-31T23:59:59Z, the last time RFC 3339
// writes.
const maxSourceDateEpoch = 253402300799

// sourceDateEpoch reads SOURCE_DATE_EPOCH through lookup (nil:
// os.LookupEnv): the time the index records as created
// (publish.Options.Created), nil when it is unset or empty. A value that
// is not a Unix time (not digits only, or past year 9999) is a usage
// error naming the variable and the value, quoted.
func sourceDateEpoch(lookup func(string) (string, bool)) (*time.Time, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(sourceDateEpochVar)
	if !ok || v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > maxSourceDateEpoch || strings.TrimLeft(v, "0123456789") != "" {
		return nil, usagef("%s=%s is not a Unix time: give whole seconds since 1970-01-01 00:00:00 UTC (as date +%%s prints them), or unset it",
			sourceDateEpochVar, strconv.Quote(v))
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}
