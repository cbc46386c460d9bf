package circleci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultHost is CircleCI cloud. Server installs have their own host.
const DefaultHost = "https://circleci.com"

// Credentials are the API token and host the client uses, and where each
// came from. The token is unexported and never rendered: String, GoString
// and MarshalJSON show only the sources and the host, so Credentials can be
// logged, printed with %#v or put into a JSON report safely.
type Credentials struct {
	token string
	// TokenSource names where the token came from, for error messages: an
	// environment variable ("CIRCLE_TOKEN") or a file ("~/.circleci/cli.yml").
	TokenSource string
	// Host is the validated base URL, without a trailing slash.
	Host string
	// HostSource names where the host came from ("default" when nowhere).
	HostSource string
}

// String names the token's source and the host, never the token.
func (c Credentials) String() string {
	return fmt.Sprintf("CircleCI token from %s for %s", c.TokenSource, c.Host)
}

// GoString keeps %#v from printing the token field.
func (c Credentials) GoString() string {
	return fmt.Sprintf("circleci.Credentials{TokenSource: %q, Host: %q, HostSource: %q}", c.TokenSource, c.Host, c.HostSource)
}

// MarshalJSON renders the sources and the host, never the token.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		TokenSource string `json:"token_source"`
		Host        string `json:"host"`
		HostSource  string `json:"host_source"`
	}{c.TokenSource, c.Host, c.HostSource})
}

// MissingTokenError says no token was found; Searched lists the places looked
// at, in order.
type MissingTokenError struct {
	Searched []string
}

func (e *MissingTokenError) Error() string {
	return "find a CircleCI API token: none in " + strings.Join(e.Searched, ", ") +
		"; create a personal API token at https://app.circleci.com/settings/user/tokens and set CIRCLE_TOKEN"
}

// HostError reports a CircleCI host that is not a usable base URL. Source
// names where it came from (a flag, an environment variable or a file).
type HostError struct {
	Source string
	Value  string
	Rule   string
}

func (e *HostError) Error() string {
	return fmt.Sprintf("invalid CircleCI host %q (from %s): %s", e.Value, e.Source, e.Rule)
}

// cliConfig is the part of CircleCI CLI's config files the tool reads: the
// new CLI's $XDG_CONFIG_HOME/circleci/config.yml and the old CLI's
// ~/.circleci/cli.yml both use these keys.
type cliConfig struct {
	Token string `yaml:"token"`
	Host  string `yaml:"host"`
}

// LoadCredentials finds the token and host the way CircleCI's CLIs do. env
// reads an environment variable (os.Getenv in production, a map in tests);
// home and xdgConfigHome are the user's home and $XDG_CONFIG_HOME ("" means
// home/.config); hostFlag is the tool's own host flag ("" when not given).
//
// The token comes from the first of: CIRCLE_TOKEN, CIRCLECI_CLI_TOKEN,
// CIRCLE_CLI_TOKEN (the new CLI's legacy alias), token in
// $XDG_CONFIG_HOME/circleci/config.yml, token in ~/.circleci/cli.yml. The
// host comes from the first of: hostFlag, CIRCLE_HOST, CIRCLECI_CLI_HOST,
// host in the same two files, [DefaultHost]. A missing file is skipped; an
// unreadable or malformed one is an error, since silently skipping it could
// pick up a different account's token. The new CLI often keeps its token in
// the OS keyring, which this does not read: such users set CIRCLE_TOKEN.
func LoadCredentials(env func(string) string, home, xdgConfigHome, hostFlag string) (Credentials, error) {
	type source struct {
		name string
		cfg  cliConfig
	}
	var sources []source
	for _, name := range []string{"CIRCLE_TOKEN", "CIRCLECI_CLI_TOKEN", "CIRCLE_CLI_TOKEN"} {
		sources = append(sources, source{name: name, cfg: cliConfig{Token: env(name)}})
	}
	if xdgConfigHome == "" && home != "" {
		xdgConfigHome = filepath.Join(home, ".config")
	}
	var files []string
	if xdgConfigHome != "" {
		files = append(files, filepath.Join(xdgConfigHome, "circleci", "config.yml"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".circleci", "cli.yml"))
	}
	fileConfigs := make([]source, 0, len(files))
	for _, path := range files {
		cfg, err := readCLIConfig(path)
		if err != nil {
			return Credentials{}, err
		}
		fileConfigs = append(fileConfigs, source{name: displayPath(path, home), cfg: cfg})
	}
	sources = append(sources, fileConfigs...)

	var c Credentials
	var searched []string
	for _, s := range sources {
		searched = append(searched, s.name)
		if t := strings.TrimSpace(s.cfg.Token); t != "" {
			c.token, c.TokenSource = t, s.name
			break
		}
	}
	if c.token == "" {
		return Credentials{}, &MissingTokenError{Searched: searched}
	}

	hosts := []source{
		{name: "the host flag", cfg: cliConfig{Host: hostFlag}},
		{name: "CIRCLE_HOST", cfg: cliConfig{Host: env("CIRCLE_HOST")}},
		{name: "CIRCLECI_CLI_HOST", cfg: cliConfig{Host: env("CIRCLECI_CLI_HOST")}},
	}
	hosts = append(hosts, fileConfigs...)
	c.Host, c.HostSource = DefaultHost, "default"
	for _, s := range hosts {
		if h := strings.TrimSpace(s.cfg.Host); h != "" {
			valid, err := ValidateHost(h, s.name)
			if err != nil {
				return Credentials{}, err
			}
			c.Host, c.HostSource = valid, s.name
			break
		}
	}
	return c, nil
}

func readCLIConfig(path string) (cliConfig, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cliConfig{}, nil
	}
	if err != nil {
		return cliConfig{}, fmt.Errorf("read CircleCI CLI config: %w", err)
	}
	var cfg cliConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		// yaml's message can quote the file's text, which may hold the
		// token; name the file and the line only.
		return cliConfig{}, fmt.Errorf("read CircleCI CLI config %s: not valid YAML with token and host keys; fix or remove the file", path)
	}
	return cfg, nil
}

// displayPath abbreviates the home directory to ~ for messages.
func displayPath(path, home string) string {
	if home != "" {
		if rel, err := filepath.Rel(home, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(filepath.Join("~", rel))
		}
	}
	return path
}

// ValidateHost checks a CircleCI base URL and returns it without a trailing
// slash. It must be https with no path, query, fragment or user info. Plain
// http is accepted only for loopback hosts (localhost, 127.0.0.0/8, ::1):
// the token travels in a header, so sending it unencrypted over a network is
// refused, while tests and a local stand-in or proxy listen on loopback
// without TLS. source names where the value came from, for the error.
func ValidateHost(raw, source string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", &HostError{Source: source, Value: raw, Rule: "must be a URL like https://circleci.com"}
	}
	shown := u.Redacted()
	switch {
	case u.User != nil:
		return "", &HostError{Source: source, Value: shown, Rule: "must not contain a user name or password"}
	case u.Path != "" && u.Path != "/":
		return "", &HostError{Source: source, Value: shown, Rule: "must have no path, like https://circleci.com"}
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", &HostError{Source: source, Value: shown, Rule: "must have no query or fragment"}
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return "", &HostError{Source: source, Value: shown, Rule: "must use https (http only for localhost), since the token is sent with every request"}
	default:
		return "", &HostError{Source: source, Value: shown, Rule: "must start with https://"}
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
