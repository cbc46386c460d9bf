package circleci_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCredentialsPrecedence(t *testing.T) {
	const (
		newCLI = "new"  // $XDG_CONFIG_HOME/circleci/config.yml
		oldCLI = "old"  // ~/.circleci/cli.yml
		xdgSet = "xdg"  // XDG_CONFIG_HOME given explicitly
		noHome = "none" // no home directory at all
	)
	tests := []struct {
		name           string
		env            map[string]string
		files          map[string]string // newCLI/oldCLI -> content
		xdg            bool
		hostFlag       string
		wantToken      string
		wantSource     string
		wantHost       string
		wantHostSource string
	}{
		{
			name:      "CIRCLE_TOKEN beats everything",
			env:       map[string]string{"CIRCLE_TOKEN": "t-env", "CIRCLECI_CLI_TOKEN": "t-old", "CIRCLE_CLI_TOKEN": "t-legacy"},
			files:     map[string]string{newCLI: "token: t-new\n", oldCLI: "token: t-file\n"},
			wantToken: "t-env", wantSource: "CIRCLE_TOKEN", wantHost: "https://circleci.com", wantHostSource: "default",
		},
		{
			name:      "CIRCLECI_CLI_TOKEN next",
			env:       map[string]string{"CIRCLECI_CLI_TOKEN": "t-old", "CIRCLE_CLI_TOKEN": "t-legacy"},
			files:     map[string]string{newCLI: "token: t-new\n"},
			wantToken: "t-old", wantSource: "CIRCLECI_CLI_TOKEN", wantHost: "https://circleci.com", wantHostSource: "default",
		},
		{
			name:      "legacy CIRCLE_CLI_TOKEN before files",
			env:       map[string]string{"CIRCLE_CLI_TOKEN": "t-legacy"},
			files:     map[string]string{newCLI: "token: t-new\n"},
			wantToken: "t-legacy", wantSource: "CIRCLE_CLI_TOKEN", wantHost: "https://circleci.com", wantHostSource: "default",
		},
		{
			name:      "blank env values are skipped",
			env:       map[string]string{"CIRCLE_TOKEN": "  ", "CIRCLECI_CLI_TOKEN": ""},
			files:     map[string]string{oldCLI: "token: t-file\n"},
			wantToken: "t-file", wantSource: "~/.circleci/cli.yml", wantHost: "https://circleci.com", wantHostSource: "default",
		},
		{
			name:      "new CLI file before old CLI file, host from it",
			files:     map[string]string{newCLI: "host: https://circleci.example.com/\ntoken: t-new\n", oldCLI: "token: t-file\nhost: https://old.example.com\n"},
			wantToken: "t-new", wantSource: "~/.config/circleci/config.yml", wantHost: "https://circleci.example.com", wantHostSource: "~/.config/circleci/config.yml",
		},
		{
			name:      "XDG_CONFIG_HOME given",
			files:     map[string]string{xdgSet: "token: t-xdg\n"},
			xdg:       true,
			wantToken: "t-xdg", wantSource: "XDG", wantHost: "https://circleci.com", wantHostSource: "default",
		},
		{
			name:      "token from old file, host from new file without token",
			files:     map[string]string{newCLI: "host: https://server.example.com\n", oldCLI: "token: t-file\n"},
			wantToken: "t-file", wantSource: "~/.circleci/cli.yml", wantHost: "https://server.example.com", wantHostSource: "~/.config/circleci/config.yml",
		},
		{
			name:      "host flag beats env and files",
			env:       map[string]string{"CIRCLE_TOKEN": "t", "CIRCLE_HOST": "https://env.example.com"},
			files:     map[string]string{oldCLI: "host: https://file.example.com\n"},
			hostFlag:  "https://flag.example.com",
			wantToken: "t", wantSource: "CIRCLE_TOKEN", wantHost: "https://flag.example.com", wantHostSource: "the host flag",
		},
		{
			name:      "CIRCLE_HOST before CIRCLECI_CLI_HOST",
			env:       map[string]string{"CIRCLE_TOKEN": "t", "CIRCLE_HOST": "https://env.example.com", "CIRCLECI_CLI_HOST": "https://old.example.com"},
			wantToken: "t", wantSource: "CIRCLE_TOKEN", wantHost: "https://env.example.com", wantHostSource: "CIRCLE_HOST",
		},
		{
			name:      "CIRCLECI_CLI_HOST before files",
			env:       map[string]string{"CIRCLE_TOKEN": "t", "CIRCLECI_CLI_HOST": "http://127.0.0.1:8080"},
			files:     map[string]string{oldCLI: "host: https://file.example.com\n"},
			wantToken: "t", wantSource: "CIRCLE_TOKEN", wantHost: "http://127.0.0.1:8080", wantHostSource: "CIRCLECI_CLI_HOST",
		},
		{
			name:      "no home: environment only",
			env:       map[string]string{"CIRCLE_TOKEN": "t"},
			files:     map[string]string{noHome: ""},
			wantToken: "t", wantSource: "CIRCLE_TOKEN", wantHost: "https://circleci.com", wantHostSource: "default",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			xdg := ""
			if tt.xdg {
				xdg = t.TempDir()
			}
			for which, content := range tt.files {
				switch which {
				case newCLI:
					writeFile(t, filepath.Join(home, ".config", "circleci", "config.yml"), content)
				case oldCLI:
					writeFile(t, filepath.Join(home, ".circleci", "cli.yml"), content)
				case xdgSet:
					writeFile(t, filepath.Join(xdg, "circleci", "config.yml"), content)
				case noHome:
					home = ""
				}
			}
			env := func(k string) string { return tt.env[k] }
			c, err := circleci.LoadCredentials(env, home, xdg, tt.hostFlag)
			if err != nil {
				t.Fatalf("LoadCredentials: %v", err)
			}
			wantSource := tt.wantSource
			if wantSource == "XDG" {
				wantSource = filepath.Join(xdg, "circleci", "config.yml")
			}
			if c.TokenSource != wantSource || c.Host != tt.wantHost || c.HostSource != tt.wantHostSource {
				t.Errorf("got %#v, want token source %q, host %q from %q", c, wantSource, tt.wantHost, tt.wantHostSource)
			}
			// The token itself is unexported; check it reaches the wire
			// in client_test.go, and here only that it is never shown.
			for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
				if strings.Contains(s, tt.wantToken) && len(tt.wantToken) > 3 {
					t.Errorf("the token appears in %q", s)
				}
			}
		})
	}
}

func TestLoadCredentialsErrors(t *testing.T) {
	const secret = "CCIPAT_s3cr3t-in-a-file"
	tests := []struct {
		name     string
		env      map[string]string
		oldCLI   string
		hostFlag string
		want     string
		check    func(t *testing.T, err error)
	}{
		{
			name: "no token anywhere",
			want: "find a CircleCI API token: none in CIRCLE_TOKEN, CIRCLECI_CLI_TOKEN, CIRCLE_CLI_TOKEN, ~/.config/circleci/config.yml, ~/.circleci/cli.yml",
			check: func(t *testing.T, err error) {
				var me *circleci.MissingTokenError
				if !errors.As(err, &me) {
					t.Errorf("want *MissingTokenError, got %T", err)
				}
			},
		},
		{
			name:   "malformed file does not quote its content",
			oldCLI: "token: [" + secret + "\n",
			want:   "read CircleCI CLI config",
		},
		{
			name:     "http host that is not loopback",
			env:      map[string]string{"CIRCLE_TOKEN": "t"},
			hostFlag: "http://circleci.example.com",
			want:     `invalid CircleCI host "http://circleci.example.com" (from the host flag): must use https`,
			check: func(t *testing.T, err error) {
				var he *circleci.HostError
				if !errors.As(err, &he) || he.Source != "the host flag" {
					t.Errorf("want *HostError from the host flag, got %#v", err)
				}
			},
		},
		{
			name: "host with a path from the environment",
			env:  map[string]string{"CIRCLE_TOKEN": "t", "CIRCLE_HOST": "https://circleci.com/api/v2"},
			want: `(from CIRCLE_HOST): must have no path`,
		},
		{
			name:   "bad host in a file",
			env:    map[string]string{"CIRCLE_TOKEN": "t"},
			oldCLI: "host: ftp://x\n",
			want:   `invalid CircleCI host "ftp://x" (from ~/.circleci/cli.yml): must start with https://`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.oldCLI != "" {
				writeFile(t, filepath.Join(home, ".circleci", "cli.yml"), tt.oldCLI)
			}
			_, err := circleci.LoadCredentials(func(k string) string { return tt.env[k] }, home, "", tt.hostFlag)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadCredentials error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error leaks the file or spans lines: %q", err)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestValidateHost(t *testing.T) {
	tests := []struct {
		in, want, rule string
	}{
		{in: "https://circleci.com", want: "https://circleci.com"},
		{in: "https://circleci.com/", want: "https://circleci.com"},
		{in: "https://circleci.example.com:8443", want: "https://circleci.example.com:8443"},
		{in: "http://localhost:1234", want: "http://localhost:1234"},
		{in: "http://127.0.0.1:1234/", want: "http://127.0.0.1:1234"},
		{in: "http://127.8.9.10", want: "http://127.8.9.10"},
		{in: "http://[::1]:80", want: "http://[::1]:80"},
		{in: "http://10.0.0.1", rule: "must use https"},
		{in: "http://localhost.example.com", rule: "must use https"},
		{in: "circleci.com", rule: "must be a URL"},
		{in: "https://", rule: "must be a URL"},
		{in: "https://circleci.com/api", rule: "must have no path"},
		{in: "https://circleci.com/?x=1", rule: "must have no query"},
		{in: "https://circleci.com#f", rule: "must have no query"},
		{in: "https://user:hunter2@circleci.com", rule: "must not contain a user name"},
		{in: "ftp://circleci.com", rule: "must start with https://"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := circleci.ValidateHost(tt.in, "--circleci-host")
			if tt.rule != "" {
				var he *circleci.HostError
				if !errors.As(err, &he) || !strings.Contains(he.Rule, tt.rule) || he.Source != "--circleci-host" {
					t.Fatalf("ValidateHost(%q) error = %v, want rule %q", tt.in, err, tt.rule)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ValidateHost(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCredentialsNeverRenderTheToken(t *testing.T) {
	const token = "CCIPAT_NeverShowMe_0123456789abcdef"
	c := credentialsFrom(t, map[string]string{"CIRCLE_TOKEN": token})
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), c.GoString(), string(j), fmt.Sprintf("%v|%+v|%#v|%s|%q", c, c, c, c, c), fmt.Sprint([]any{c, &c})} {
		if strings.Contains(s, token) {
			t.Errorf("the token appears in %q", s)
		}
	}
	if want := `{"token_source":"CIRCLE_TOKEN","host":"https://circleci.com","host_source":"default"}`; string(j) != want {
		t.Errorf("JSON = %s, want %s", j, want)
	}
}
