package provision

// DestroyReport is destroy's JSON output: the plan plus what happened.
type DestroyReport struct {
	*DestroyPlan
	// Applied is true when nothing the plan deletes is left: the deletions
	// were made, or there were none.
	Applied    bool     `json:"applied"`
	Deleted    []Change `json:"deleted"`
	NotDeleted []Change `json:"not_deleted"`
	Error      string   `json:"error,omitempty"`
}

// NewDestroyReport is the report of p before anything is deleted.
func NewDestroyReport(p *DestroyPlan) *DestroyReport {
	return &DestroyReport{DestroyPlan: p, Deleted: []Change{}, NotDeleted: p.Deletes}
}

// Record notes destroy's outcome: what was deleted and what was not (res
// is nil when nothing was executed), and the error.
func (r *DestroyReport) Record(res *Result, err error) {
	if res != nil {
		r.Deleted, r.NotDeleted = res.Applied, res.NotApplied
	}
	switch {
	case err != nil:
		r.Error = err.Error()
	case res == nil:
		r.Applied, r.NotDeleted = true, []Change{}
	default:
		r.Applied = true
	}
}
