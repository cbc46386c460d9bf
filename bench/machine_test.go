package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// printMachine records what the numbers were measured on, so a table pasted
// into docs/performance.md carries its context: the peers' versions matter
// as much as the CPU, and a busy machine (load average) explains outliers.
func printMachine(w io.Writer) {
	fmt.Fprintf(w, "Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Machine: %s/%s, %d CPUs (runtime.NumCPU), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Fprintf(w, "Load average at start: %s\n", loadAverage())
	fmt.Fprintf(w, "Go: %s\n", runtime.Version())
	for _, v := range []struct {
		name, bin string
		args      []string
	}{
		{"Terraform", "terraform", []string{"version"}},
		{"AWS CLI", "aws", []string{"--version"}},
		// moto_server has no --version; the python3 on PATH is the one
		// `make moto` installs it with.
		{"moto", "python3", []string{"-c", "import moto; print(moto.__version__)"}},
	} {
		fmt.Fprintf(w, "%s: %s\n", v.name, version(v.bin, v.args...))
	}
}

// version runs bin args and returns the first line it prints (the AWS CLI
// v1 prints its version on stderr), or why it could not.
func version(bin string, args ...string) string {
	if _, err := exec.LookPath(bin); err != nil {
		return "not found on PATH"
	}
	env := append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, errOut, code, err := execIn("", env, bin, args...)
	if err != nil {
		return err.Error()
	}
	if code != 0 {
		return fmt.Sprintf("unknown (%s %s exits %d)", bin, strings.Join(args, " "), code)
	}
	if s := firstLine(out); s != "" {
		return s
	}
	return firstLine(errOut)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU model unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU model unknown"
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ") + " (1, 5, 15 min)"
}
