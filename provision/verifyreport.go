package provision

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

// VerifyReport is what verify found: the state compared item by item, the
// token's evaluation and what AWS answered to it. It is verify's JSON
// output.
type VerifyReport struct {
	Account     string `json:"account"`
	Region      string `json:"region"`
	ProviderARN string `json:"provider_arn"`
	RoleARN     string `json:"role_arn"`
	// OK is true when every check ran passed; it decides the exit status.
	OK     bool          `json:"ok"`
	State  *StateReport  `json:"state,omitempty"`
	Token  *TokenReport  `json:"token,omitempty"`
	Assume *AssumeReport `json:"assume,omitempty"`
	// CircleCI is what CircleCI said about the organization and the
	// projects; nil when no API token was found, so nothing was asked.
	CircleCI *circleci.Resolution `json:"circleci,omitempty"`
}

// mark is the text report's symbol for an outcome.
func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func stepMark(s StepStatus) string {
	switch s {
	case StepPass:
		return "✓"
	case StepSkip:
		return "-"
	default:
		return "✗"
	}
}

// WriteText writes the report for people; partition and caller describe
// the identity that read the account.
func (out *VerifyReport) WriteText(w io.Writer, partition, caller string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Account %s (%s), region %s, acting as %s\n", out.Account, partition, out.Region, caller)
	if s := out.State; s != nil {
		fmt.Fprintf(&b, "\nLive state compared with what setup would create for these flags:\n")
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "  %s %-19s %s\n", mark(c.OK), c.Item, c.Name)
			fmt.Fprintf(&b, "      %s\n", c.Detail)
			for _, l := range c.Diff {
				fmt.Fprintf(&b, "        %s\n", l)
			}
		}
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "  Warning: %s\n", w)
		}
		if failed := s.Failed(); len(failed) > 0 {
			names := make([]string, len(failed))
			for i, c := range failed {
				names[i] = c.Item
			}
			fmt.Fprintf(&b, "State: %d of %d items differ (%s).\n", len(failed), len(s.Checks), strings.Join(names, ", "))
		} else {
			fmt.Fprintf(&b, "State: all %d items match.\n", len(s.Checks))
		}
	}
	if t := out.Token; t != nil {
		if t.Synthetic {
			fmt.Fprintf(&b, "\nSynthetic token from --claims (nothing signed, nothing to verify):\n")
		} else {
			fmt.Fprintf(&b, "\nToken claims (decoded offline; signature not verified offline, STS checks it):\n")
		}
		c := t.Claims
		fmt.Fprintf(&b, "  iss         %s\n", orNone(c.Issuer))
		fmt.Fprintf(&b, "  sub         %s (%s layout)\n", orNone(c.Subject), c.Layout)
		fmt.Fprintf(&b, "  aud         %s\n", orNone(strings.Join(c.Audience, ", ")))
		fmt.Fprintf(&b, "  project-id  %s\n", orNone(c.ProjectID))
		if c.VCSOrigin != "" || c.VCSRef != "" {
			fmt.Fprintf(&b, "  vcs         %s %s\n", c.VCSOrigin, c.VCSRef)
		}
		if c.ExpiresAt != nil {
			fmt.Fprintf(&b, "  exp         %s\n", c.ExpiresAt.Format(time.RFC3339))
		}
		fmt.Fprintf(&b, "Evaluated as STS would for %s:\n", t.RoleARN)
		for _, s := range t.Steps {
			fmt.Fprintf(&b, "  %s %-13s %s\n", stepMark(s.Status), s.Name, s.Detail)
		}
		for _, trap := range t.Traps {
			fmt.Fprintf(&b, "  Trap: %s\n", trap)
		}
		fmt.Fprintf(&b, "Verdict: %s\n", t.Verdict)
	}
	if a := out.Assume; a != nil {
		fmt.Fprintf(&b, "\nPresented to AWS (--assume):\n")
		for _, s := range a.Steps {
			fmt.Fprintf(&b, "  %s %-30s %s\n", stepMark(s.Status), s.Name, s.Detail)
		}
		if t := out.Token; t != nil && a.OK != t.Allowed {
			fmt.Fprintf(&b, "  Note: AWS's answer differs from the offline verdict; AWS is the authority (an emulator accepts any token).\n")
		}
	}
	if out.OK {
		fmt.Fprintf(&b, "\nResult: OK\n")
	} else {
		fmt.Fprintf(&b, "\nResult: FAILED\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Problem is nil when the report is OK, else an error naming what failed:
// the items of the state check that differ, and the first failing step of
// the token check and of the assume check. A multi-account verify reports
// it as the account's failure; the report itself has the details.
func (r *VerifyReport) Problem() error {
	if r.OK {
		return nil
	}
	var parts []string
	if r.State != nil {
		var items []string
		for _, c := range r.State.Failed() {
			if !slices.Contains(items, c.Item) {
				items = append(items, c.Item)
			}
		}
		if len(items) > 0 {
			parts = append(parts, "differs from setup's flags: "+strings.Join(items, ", "))
		}
	}
	failedStep := func(what string, steps []TokenStep) {
		for _, s := range steps {
			if s.Status == StepFail {
				parts = append(parts, what+" fails at "+s.Name)
				return
			}
		}
	}
	if r.Token != nil && !r.Token.Allowed {
		failedStep("the token", r.Token.Steps)
	}
	if r.Assume != nil && !r.Assume.OK {
		failedStep("presenting the token", r.Assume.Steps)
	}
	if len(parts) == 0 {
		parts = append(parts, "a check failed")
	}
	return fmt.Errorf("verify: %s", strings.Join(parts, "; "))
}
