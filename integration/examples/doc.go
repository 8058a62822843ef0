// Package examples holds the tests of the product's examples/ directory, so
// that the examples cannot rot: every spec is pushed with --dry-run by the
// real manifest-push binary against the embedded registry, after images
// matching its entries have been pushed; the from-args script runs the same
// way; the CI snippets are valid YAML that call manifest-push with flags it
// knows, --output json, --password-stdin and a spec that the first test
// validates. A file under examples/ that no test knows is a failure.
package examples
