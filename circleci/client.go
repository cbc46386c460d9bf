package circleci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultUserAgent names the tool in every request.
const DefaultUserAgent = "circleci-ecr-oidc"

// maxBody bounds how much of an answer is read: the largest, a page of
// projects, is a few tens of kilobytes.
const maxBody = 8 << 20

// RetryPolicy bounds the retries of 429 and 5xx answers. The wait before
// retry n (n from 1) is BaseDelay * 2^(n-1), at most MaxDelay, or the
// Retry-After CircleCI asked for when that is longer. No retry starts that
// would end after MaxElapsed.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxElapsed  time.Duration
}

// DefaultRetryPolicy makes at most 5 attempts within 30 seconds.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second, MaxElapsed: 30 * time.Second}

// Client calls CircleCI's API with one set of credentials. It is safe for
// concurrent use.
type Client struct {
	creds     Credentials
	http      *http.Client
	userAgent string
	retry     RetryPolicy
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default *http.Client (30 s per request).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent, e.g. "circleci-ecr-oidc/1.2.0".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithRetryPolicy replaces [DefaultRetryPolicy].
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// New returns a Client for creds. The base URL is creds.Host, so a Server
// install, or a stand-in on loopback, is reached by setting the host.
func New(creds Credentials, opts ...Option) *Client {
	c := &Client{
		creds:     creds,
		http:      &http.Client{Timeout: 30 * time.Second},
		userAgent: DefaultUserAgent,
		retry:     DefaultRetryPolicy,
	}
	for _, o := range opts {
		o(c)
	}
	if c.retry.MaxAttempts < 1 {
		c.retry.MaxAttempts = 1
	}
	return c
}

// authScheme is how a request carries the token: API v2 takes the
// Circle-Token header, v3 only a Bearer token.
type authScheme int

const (
	authCircleToken authScheme = iota
	authBearer
)

// getJSON GETs path (with query) and decodes a 200 answer into out. It
// retries 429 and 5xx answers under the retry policy; every other failure is
// returned as a typed error. A GET is idempotent, so retrying it is safe;
// the client makes no other kind of request.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, auth authScheme, out any) error {
	u := c.creds.Host + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		status, body, retryAfter, err := c.do(ctx, u, auth)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusOK:
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("decode the answer to GET %s%s: %w", c.creds.Host, path, err)
			}
			return nil
		case status == http.StatusUnauthorized:
			return &AuthError{Host: c.creds.Host, TokenSource: c.creds.TokenSource, Message: c.message(body)}
		case status == http.StatusNotFound:
			return errNotFound
		case status == http.StatusTooManyRequests || status >= 500:
			wait := c.backoff(attempt)
			if retryAfter > wait {
				wait = retryAfter
			}
			elapsed := time.Since(start)
			if attempt >= c.retry.MaxAttempts || elapsed+wait > c.retry.MaxElapsed {
				e := &UnavailableError{Path: path, Host: c.creds.Host, Status: status, Attempts: attempt, Elapsed: elapsed}
				if attempt < c.retry.MaxAttempts && retryAfter > 0 {
					e.RetryAfter = retryAfter
				}
				return e
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("get %s%s: %w", c.creds.Host, path, ctx.Err())
			case <-t.C:
			}
		default:
			return &APIError{Method: http.MethodGet, Path: path, Host: c.creds.Host, Status: status, Message: c.message(body)}
		}
	}
}

// errNotFound is turned into a *NotFoundError by the caller, which knows
// what was looked up.
var errNotFound = errors.New("not found")

func (c *Client) do(ctx context.Context, u string, auth authScheme) (status int, body []byte, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("build request for %s: %w", c.creds.Host, err)
	}
	switch auth {
	case authBearer:
		req.Header.Set("Authorization", "Bearer "+c.creds.token)
	default:
		req.Header.Set("Circle-Token", c.creds.token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && !isTimeout(err) {
			return 0, nil, 0, fmt.Errorf("get %s: %w", c.creds.Host, ctx.Err())
		}
		return 0, nil, 0, &ConnectionError{Host: c.creds.Host, Timeout: isTimeout(err), Err: c.redactErr(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, 0, &ConnectionError{Host: c.creds.Host, Timeout: isTimeout(err), Err: c.redactErr(err)}
	}
	return resp.StatusCode, body, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// redactErr keeps a transport error's text but guarantees the token is not
// in it (it never should be: the token travels only in a header).
func (c *Client) redactErr(err error) error {
	if c.creds.token != "" && strings.Contains(err.Error(), c.creds.token) {
		return errors.New(c.redact(err.Error()))
	}
	return err
}

// checkUUID is the package's checkUUID with the token redacted from the
// error, for when a person pastes the token where an ID belongs.
func (c *Client) checkUUID(field, id string) error {
	err := checkUUID(field, id)
	var se *SlugError
	if errors.As(err, &se) {
		se.Value = c.redact(se.Value)
	}
	return err
}

func (c *Client) redact(s string) string {
	if c.creds.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.creds.token, "[token]")
}

// message extracts CircleCI's {"message": ...} from an error answer, on one
// line, without the token, and at most 200 characters.
func (c *Client) message(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	msg := orDefault(m.Message, m.Error)
	msg = strings.Join(strings.Fields(c.redact(msg)), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.retry.BaseDelay << (attempt - 1)
	if d > c.retry.MaxDelay || d <= 0 {
		d = c.retry.MaxDelay
	}
	return d
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date; anything
// else, or a time in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s < 0 {
			return 0
		}
		// A day is far beyond any retry budget; capping keeps the
		// multiplication from overflowing.
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
