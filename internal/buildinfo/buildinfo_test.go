package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolveVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	checkout := &debug.BuildInfo{
		GoVersion: "go1.26.1",
		Main:      debug.Module{Path: "github.com/circleci-ecr-oidc/circleci-ecr-oidc", Version: "v0.0.0-20261130073238-0139db7233a7+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0139db7233a7fbbac73ce911907e566499bae517"},
			{Key: "vcs.time", Value: "2026-11-30T07:32:38Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name                  string
		version, commit, date string
		info                  *debug.BuildInfo
		want                  Info
	}{
		{
			name: "stamped by make build or the release build", version: "0.1.0", commit: "abc", date: "2026-11-30T08:00:00Z", info: checkout,
			want: Info{Version: "0.1.0", Commit: "abc", Date: "2026-11-30T08:00:00Z", GoVersion: "go1.26.1", Platform: platform},
		},
		{
			name: "go install module@version: the module version without its v",
			info: &debug.BuildInfo{GoVersion: "go1.26.2", Main: debug.Module{Version: "v0.1.0"}},
			want: Info{Version: "0.1.0", Commit: "unknown", Date: "unknown", GoVersion: "go1.26.2", Platform: platform},
		},
		{
			name: "go build in a checkout with changes: the toolchain's revision, marked dirty, and the commit time", info: checkout,
			want: Info{Version: "0.0.0-20261130073238-0139db7233a7+dirty", Commit: "0139db7233a7fbbac73ce911907e566499bae517-dirty", Date: "2026-11-30T07:32:38Z", GoVersion: "go1.26.1", Platform: platform},
		},
		{
			name: "a stamped commit is not marked dirty by the toolchain's flag", commit: "abc", info: checkout,
			want: Info{Version: "0.0.0-20261130073238-0139db7233a7+dirty", Commit: "abc", Date: "2026-11-30T07:32:38Z", GoVersion: "go1.26.1", Platform: platform},
		},
		{
			name: "go build without VCS information",
			info: &debug.BuildInfo{GoVersion: "go1.26.3", Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: "dev", Commit: "unknown", Date: "unknown", GoVersion: "go1.26.3", Platform: platform},
		},
		{
			name: "no build information",
			want: Info{Version: "dev", Commit: "unknown", Date: "unknown", GoVersion: runtime.Version(), Platform: platform},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Resolve(tt.version, tt.commit, tt.date, tt.info); got != tt.want {
				t.Errorf("Resolve() =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}
