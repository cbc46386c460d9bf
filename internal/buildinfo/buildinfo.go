// Package buildinfo says which build of the tool is running: the version,
// commit and date stamped at link time, else what the Go toolchain recorded.
package buildinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Build metadata, stamped at link time by `make build` and by the release
// build (.goreleaser.yaml) with
//
//	-ldflags "-X github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo.version=... (and .commit, .date)"
//
// A binary built without them, such as one from `go install module@version`,
// falls back to what the Go toolchain recorded (see Resolve).
var (
	version string
	commit  string
	date    string
)

// Unknown stands for build metadata that neither the linker flags nor the
// toolchain recorded.
const Unknown = "unknown"

// Info is what --version prints, as text or (--output json) as one
// JSON object with these field names.
type Info struct {
	// Version is the release version without a leading "v" (0.1.0), a
	// snapshot version, a pseudo-version, or "dev".
	Version string `json:"version"`
	// Commit is the full git commit the binary was built from.
	Commit string `json:"commit"`
	// Date is when the binary was built (RFC 3339, UTC); for a binary built
	// without the linker flags, the time of its commit if known.
	Date string `json:"date"`
	// GoVersion is the Go toolchain that built it, e.g. go1.26.8.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH, e.g. linux/amd64.
	Platform string `json:"platform"`
}

// Current describes this binary.
func Current() Info {
	info, _ := debug.ReadBuildInfo()
	return Resolve(version, commit, date, info)
}

// Resolve prefers the stamped values and fills each one left empty
// from the build information the Go toolchain records in every binary (nil
// when there is none): the main module's version, which `go install
// module@vX` sets (printed without the "v", as releases are), and, for a
// build in a git checkout, vcs.revision and vcs.time. What is known from
// neither is "unknown", and the version "dev".
func Resolve(stampedVersion, stampedCommit, stampedDate string, info *debug.BuildInfo) Info {
	v := Info{
		Version:   stampedVersion,
		Commit:    stampedCommit,
		Date:      stampedDate,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info != nil {
		if info.GoVersion != "" {
			v.GoVersion = info.GoVersion
		}
		if v.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = strings.TrimPrefix(info.Main.Version, "v")
		}
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		// Only a revision the toolchain read (not a stamped one) can be
		// said to have had uncommitted changes on top.
		if stampedCommit == "" && v.Commit != "" && modified {
			v.Commit += "-dirty"
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = Unknown
	}
	if v.Date == "" {
		v.Date = Unknown
	}
	return v
}

// Write prints v as text (format "text") or as one indented JSON
// object (format "json").
func Write(w io.Writer, name string, v Info, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write version: %w", err)
		}
		return nil
	}
	if _, err := fmt.Fprintf(w, "%s version %s\n  commit:   %s\n  date:     %s\n  go:       %s\n  platform: %s\n",
		name, v.Version, v.Commit, v.Date, v.GoVersion, v.Platform); err != nil {
		return fmt.Errorf("write version: %w", err)
	}
	return nil
}
