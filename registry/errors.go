package registry

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/manifest-push/manifest-push/content"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
)

var (
	// ErrNotFound: the registry says a repository, manifest or blob does
	// not exist (404, NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN) in
	// answer to a read. A write answered so (a manifest PUT refused with
	// MANIFEST_BLOB_UNKNOWN, an upload with BLOB_UNKNOWN) is a failed write,
	// not a missing image, and does not match it: see IsBlobUnknown.
	ErrNotFound = content.ErrNotFound
	// ErrUnauthorized: authentication or authorisation was refused (401,
	// 403, UNAUTHORIZED, DENIED).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDigestMismatch: content read from a registry does not match its
	// digest or size.
	ErrDigestMismatch = content.ErrDigestMismatch
	// ErrInvalidReference: a reference given to Inspect does not parse.
	ErrInvalidReference = errors.New("invalid reference")
	// ErrDockerConfig: the Docker config named cannot be used: the path
	// given does not exist, or its config.json does not parse.
	ErrDockerConfig = errors.New("unusable Docker config")
	// ErrUnsupported: a manifest of a media type manifest-push cannot handle
	// (for example a schema 1 manifest).
	ErrUnsupported = content.ErrUnsupported
	// ErrImmutableTag: the registry refused to move a tag because it is
	// immutable there (ECR 400 TAG_INVALID, Harbor 412, Docker Hub 403 and
	// Artifactory 400 naming immutability, ACR 405 on a locked image). It is
	// never retried.
	ErrImmutableTag = errors.New("the tag is immutable")
	// ErrNoRepository: the registry refused a write because the repository
	// (or its project) does not exist and is not created by a push (ECR
	// NAME_UNKNOWN, Harbor's 401 "project P not found").
	ErrNoRepository = errors.New("the repository does not exist")
	// ErrRateLimited: the registry answered 429 Too Many Requests and the
	// retries, if any, did not get through.
	ErrRateLimited = errors.New("rate limited")
)

// Hint names the likely cause of a failed request, so that a caller can
// suggest a fix in its own terms (the CLI names its flags). Its String is
// the cause in words, which Error's message carries.
type Hint int

// Hints an *Error may carry.
const (
	HintNone Hint = iota
	// HintPlainHTTP: an HTTPS request was answered in plain HTTP.
	HintPlainHTTP
	// HintTLS: the registry's certificate is not trusted (unknown CA, wrong
	// host name, expired).
	HintTLS
	// HintIndexType: the registry refused an OCI index for its media type;
	// a Docker manifest list may be taken.
	HintIndexType
	// HintReadOnly: the registry refuses writes (read-only, maintenance).
	HintReadOnly
	// HintNoCredentials: the registry asked for credentials (401) and none
	// were given for it.
	HintNoCredentials
	// HintOCIOnly: the registry refused a Docker manifest or manifest list
	// for its media type (zot without its Docker support answers 415): it
	// takes OCI manifests only.
	HintOCIOnly
)

func (h Hint) String() string {
	switch h {
	case HintPlainHTTP:
		return "the registry speaks plain HTTP"
	case HintTLS:
		return "the registry's certificate is not trusted"
	case HintIndexType:
		return "the registry rejected the OCI index media type"
	case HintReadOnly:
		return "the registry refuses writes: it is read-only or in maintenance mode"
	case HintNoCredentials:
		return "the registry wants credentials and none were given for it"
	case HintOCIOnly:
		return "the sources are Docker images and the registry accepts OCI only: rebuild them as OCI, or enable the registry's Docker support"
	}
	return ""
}

// Error is a failed registry request: its method and URL, the HTTP status
// and the registry's error codes when a response came back, or the
// transport error when none did. It unwraps to ErrNotFound or
// ErrUnauthorized when the registry said so, and to the transport error.
type Error struct {
	// Method and URL of the request; the URL has no credentials in it.
	// Host and Path are the URL's host (with its port, if any) and path.
	Method string
	URL    string
	Host   string
	Path   string
	// StatusCode is the HTTP status, 0 when no response came back.
	StatusCode int
	// Codes are the registry's error codes (MANIFEST_UNKNOWN, DENIED, ...).
	Codes []string
	// Messages are the registry's error messages, one per code.
	Messages []string
	// Details are the registry's error details, one per code: the detail
	// as the registry wrote it (a string as it is, anything else as compact
	// JSON), control characters escaped, at most maxDetail bytes; empty
	// when it gave none.
	Details []string
	// User is the user name the request was authenticated as, if any.
	User string
	// Hint names the likely cause, or is HintNone.
	Hint Hint
	// Err is the transport or authorization error, when there is one.
	Err error
	// Text is the first line of an answer that is not a registry's JSON
	// error (nor an HTML page), such as a plain-text 429.
	Text string
	// RetryAfter is how long the registry asked to wait (429 or 503, from
	// the Retry-After header or, failing that, a "retry-after" hint in the
	// body), zero when it said nothing; At is when the answer came, so
	// At+RetryAfter is when the registry's limit resets.
	RetryAfter time.Duration
	At         time.Time
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Method, e.URL)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	for i, c := range e.Codes {
		b.WriteString(": ")
		b.WriteString(c)
		if i < len(e.Messages) && e.Messages[i] != "" {
			b.WriteString(" ")
			b.WriteString(e.Messages[i])
		}
		if i < len(e.Details) && e.Details[i] != "" {
			fmt.Fprintf(&b, " (detail: %s)", e.Details[i])
		}
	}
	if e.Text != "" {
		fmt.Fprintf(&b, ": %q", e.Text)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (the registry asks to wait %s: its limit resets at %s)",
			e.RetryAfter.Round(time.Millisecond), e.At.Add(e.RetryAfter).UTC().Format(time.RFC3339))
	}
	if e.User != "" && errors.Is(e, ErrUnauthorized) {
		fmt.Fprintf(&b, " (as user %q)", e.User)
	}
	if e.Hint != HintNone {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

// Unwrap gives the sentinel the failure maps to, and the transport error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.isNotFound() {
		errs = append(errs, ErrNotFound)
	}
	if e.isUnauthorized() {
		errs = append(errs, ErrUnauthorized)
	}
	if slices.Contains(e.Codes, "DIGEST_INVALID") {
		// The registry found the bytes sent are not those of the digest.
		errs = append(errs, ErrDigestMismatch)
	}
	if e.StatusCode == http.StatusTooManyRequests {
		errs = append(errs, ErrRateLimited)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func (e *Error) isNotFound() bool {
	if isWrite(e.Method) {
		return false
	}
	if e.StatusCode == http.StatusNotFound {
		return true
	}
	for _, c := range e.Codes {
		switch c {
		case "NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN":
			return true
		}
	}
	return e.StatusCode == 0 && e.Err != nil && errdefs.IsNotFound(e.Err)
}

func (e *Error) isUnauthorized() bool {
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		return true
	}
	for _, c := range e.Codes {
		switch c {
		case "UNAUTHORIZED", "DENIED":
			return true
		}
	}
	if e.StatusCode != 0 || e.Err == nil {
		return false
	}
	if errors.Is(e.Err, docker.ErrInvalidAuthorization) || errdefs.IsUnauthorized(e.Err) || errdefs.IsPermissionDenied(e.Err) {
		return true
	}
	if st, ok := errors.AsType[remoteerrors.ErrUnexpectedStatus](e.Err); ok {
		return st.StatusCode == http.StatusUnauthorized || st.StatusCode == http.StatusForbidden
	}
	return false
}

// IsBlobUnknown reports whether err is a manifest PUT refused because the
// registry does not (yet) have what the manifest refers to
// (MANIFEST_BLOB_UNKNOWN, or BLOB_UNKNOWN as some registries answer).
func IsBlobUnknown(err error) bool {
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Method != http.MethodPut {
		return false
	}
	for _, c := range e.Codes {
		if c == "MANIFEST_BLOB_UNKNOWN" || c == "BLOB_UNKNOWN" {
			return true
		}
	}
	return false
}

// registryErrors is the body of a registry's error response.
type registryErrors struct {
	Errors []struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"errors"`
}

// maxDetail is the most of a registry error's detail an Error keeps.
const maxDetail = 256

// detailText renders a registry error's detail for a message: a string as
// it is, anything else as compact JSON; nothing for null or an empty
// value. Control characters are escaped, and the text is cut at maxDetail
// bytes.
func detailText(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) != nil {
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil {
			return ""
		}
		text = b.String()
	}
	switch strings.TrimSpace(text) {
	case "", "null", "{}", "[]":
		return ""
	}
	return escapeText(text, maxDetail)
}

// escapeText makes text from a registry safe to print: each control or
// format character (which could move a terminal's cursor or reorder the
// line) and each invalid byte is written as a Go escape, and the result is
// cut at limit bytes, with "..." after it.
func escapeText(s string, limit int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= limit {
			b.WriteString("...")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			if r < 0x100 {
				fmt.Fprintf(&b, "\\x%02x", r)
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// responseError turns a failed response into an *Error. It reads (a
// bounded part of) the body, and does not close it.
func responseError(resp *http.Response, body []byte) *Error {
	e := requestError(resp.Request, nil)
	e.StatusCode = resp.StatusCode
	if resp.StatusCode == http.StatusMethodNotAllowed && isWrite(resp.Request.Method) {
		// distribution in read-only mode answers a plain 405, Allow: GET, HEAD.
		e.Hint = HintReadOnly
	}
	var re registryErrors
	if json.Unmarshal(body, &re) == nil {
		for _, x := range re.Errors {
			e.Codes = append(e.Codes, x.Code)
			e.Messages = append(e.Messages, x.Message)
			e.Details = append(e.Details, detailText(x.Detail))
		}
	} else if text := firstLine(body); text != "" && !isHTML(resp) {
		// A plain-text answer (Docker Hub's abuse limiter, a proxy in
		// front of the registry) says what went wrong in its first line.
		e.Text = text
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.At = time.Now()
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), e.At); ok {
			e.RetryAfter = d
		} else if d, ok := bodyRetryAfter(body); ok {
			e.RetryAfter = d
		}
	}
	return e
}

// firstLine is the first non-empty line of a text body, trimmed and cut
// at 200 bytes.
func firstLine(body []byte) string {
	for line := range strings.Lines(string(body)) {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 200 {
				line = line[:200] + "..."
			}
			return line
		}
	}
	return ""
}

func isHTML(resp *http.Response) bool {
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")
}

// retryAfterHint finds a wait named in an error body, as GHCR sends it
// ("retry-after: 10ms"): a number and an optional unit (ms, s, m, h;
// seconds when none).
var retryAfterHint = regexp.MustCompile(`(?i)retry[-_ ]?after"?\s*[:=]\s*"?(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\b`)

// bodyRetryAfter reads the wait a registry named only in its error body.
func bodyRetryAfter(body []byte) (time.Duration, bool) {
	m := retryAfterHint.FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || n < 0 {
		return 0, false
	}
	unit := time.Second
	switch strings.ToLower(string(m[2])) {
	case "ms":
		unit = time.Millisecond
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	}
	return time.Duration(n * float64(unit)), true
}

// immutableRefusal reports whether e, the answer to a PUT of a manifest
// under a tag, says that the tag is immutable: ECR's 400 TAG_INVALID,
// Harbor's 412, ACR's 405 on a locked image, or any 400, 403, 405, 409 or
// 412 whose message says "immutable" (Docker Hub, Artifactory).
func immutableRefusal(e *Error) bool {
	switch e.StatusCode {
	case http.StatusPreconditionFailed:
		return true
	case http.StatusBadRequest, http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusConflict:
	default:
		return false
	}
	for i, c := range e.Codes {
		msg := ""
		if i < len(e.Messages) {
			msg = strings.ToLower(e.Messages[i])
		}
		if strings.Contains(msg, "immutable") || (c == "TAG_INVALID" && e.StatusCode == http.StatusBadRequest) {
			return true
		}
		if e.StatusCode == http.StatusMethodNotAllowed && (strings.Contains(msg, "locked") || strings.Contains(msg, "disallowed")) {
			return true
		}
	}
	return false
}

// missingRepository reports whether e, the answer to a write, says that
// the repository does not exist and will not be created by the push:
// NAME_UNKNOWN (ECR), or a 401 or 403 whose message says a project is not
// found (Harbor).
func missingRepository(e *Error) bool {
	if !isWrite(e.Method) {
		return false
	}
	for i, c := range e.Codes {
		if c == "NAME_UNKNOWN" {
			return true
		}
		if (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) && i < len(e.Messages) {
			msg := strings.ToLower(e.Messages[i])
			if strings.Contains(msg, "project") && strings.Contains(msg, "not found") {
				return true
			}
		}
	}
	return false
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// transportError turns an error of sending a request into an *Error, with a
// hint when the cause is a TLS one.
func transportError(req *http.Request, err error) *Error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err // the URL is in the Error already, without secrets
	}
	e := requestError(req, err)
	e.Hint = transportHint(err)
	return e
}

// requestError is the *Error of a request, with the error that ended it
// (nil when the registry answered).
func requestError(req *http.Request, err error) *Error {
	return &Error{Method: req.Method, URL: redactURL(req.URL), Host: req.URL.Host, Path: req.URL.Path, Err: err}
}

func transportHint(err error) Hint {
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return HintPlainHTTP
	}
	if errors.Is(err, http.ErrSchemeMismatch) {
		return HintPlainHTTP
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return HintTLS
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return HintTLS
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return HintTLS
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return HintTLS
	}
	return HintNone
}

// maxErrorBody is the most of an error answer read.
const maxErrorBody = 64 << 10

// ErrReferrerRefused: the registry refused a referrer for its type (see
// RefusedReferrerError).
var ErrReferrerRefused = errors.New("referrer refused by the registry")
