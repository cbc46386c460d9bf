package fleet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row is one account's line of the summary table.
type Row struct {
	// Account is the account ID, "" when not known (a profile that
	// failed before any call).
	Account string
	// Name is the account's name in the organization or the profile name.
	Name string
	// Changes and Warnings count the account's plan; -1 when there is no
	// plan.
	Changes, Warnings int
	// Status says how the account went when Err is nil; "" shows "ok".
	Status string
	// Err is the account's failure.
	Err error
	// Finished is false for an account whose work was interrupted or never
	// started (Outcome.Finished).
	Finished bool
}

// newRow is the target's row before anything is known of its plan: no
// changes or warnings counted (-1), with its failure, if any.
func newRow(t Target, err error, finished bool) Row {
	return Row{Account: t.AccountID, Name: t.Name, Changes: -1, Warnings: -1, Err: err, Finished: finished}
}

// WriteSummary writes the table of accounts: account, name, changes,
// warnings and status, one row per account in the given order, aligned
// with spaces. An unknown account or count shows "-"; an error shows on its
// account's row, on one line.
func WriteSummary(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tCHANGES\tWARNINGS\tSTATUS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(r.Account), orDash(r.Name), count(r.Changes), count(r.Warnings), r.status())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the summary: %w", err)
	}
	return nil
}

// status is the row's STATUS cell.
func (r Row) status() string {
	switch {
	case r.Err == nil && r.Status == "":
		return "ok"
	case r.Err == nil:
		return r.Status
	case errors.Is(r.Err, ErrNotStarted):
		return oneLine(r.Err.Error())
	case !r.Finished:
		return "interrupted: " + oneLine(r.Err.Error())
	}
	return "failed: " + oneLine(r.Err.Error())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func count(n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

// oneLine joins the lines of a message, so that a table cell stays one.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
