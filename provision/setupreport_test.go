package provision

import (
	"errors"
	"slices"
	"testing"
)

// TestSetupReportRecord checks what setup's, setup --shard's and destroy's
// JSON reports say after each outcome of a run.
func TestSetupReportRecord(t *testing.T) {
	planned := []Change{{Action: "create", Resource: "role"}, {Action: "create", Resource: "policy"}}
	partial := &Result{Applied: planned[:1], NotApplied: planned[1:]}
	failed := errors.New("create the role: AccessDenied")
	tests := []struct {
		name           string
		res            *Result
		err            error
		wantApplied    bool
		wantNotApplied []Change
		wantError      string
	}{
		{"applied", &Result{Applied: planned}, nil, true, []Change{}, ""},
		{"nothing to do", nil, nil, true, []Change{}, ""},
		{"failed part way", partial, failed, false, planned[1:], failed.Error()},
		{"refused before any write", nil, failed, false, planned, failed.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := &SetupReport{Plan: &Plan{Changes: planned}, NotApplied: planned}
			setup.Record(tt.res, tt.err)
			sharded := &ShardedReport{NotApplied: planned}
			sharded.Record(tt.res, tt.err)
			for _, got := range []struct {
				applied    bool
				notApplied []Change
				err        string
			}{{setup.Applied, setup.NotApplied, setup.Error}, {sharded.Applied, sharded.NotApplied, sharded.Error}} {
				if got.applied != tt.wantApplied || !slices.Equal(got.notApplied, tt.wantNotApplied) || got.err != tt.wantError {
					t.Errorf("Record() = applied %v, not applied %v, error %q; want %v, %v, %q",
						got.applied, got.notApplied, got.err, tt.wantApplied, tt.wantNotApplied, tt.wantError)
				}
			}
		})
	}
}

func TestSetupReportRecordPlan(t *testing.T) {
	for _, changes := range [][]Change{nil, {{Action: "create", Resource: "role"}}} {
		r := &SetupReport{Plan: &Plan{Changes: changes}}
		r.RecordPlan()
		if want := len(changes) == 0; r.Applied != want {
			t.Errorf("RecordPlan() with %d change(s): applied = %v, want %v", len(changes), r.Applied, want)
		}
	}
}

func TestDestroyReportRecord(t *testing.T) {
	deletes := []Change{{Action: "delete", Resource: "role"}, {Action: "delete", Resource: "provider"}}
	failed := errors.New("delete the role: DeleteConflict")
	tests := []struct {
		name                    string
		res                     *Result
		err                     error
		wantApplied             bool
		wantDeleted, wantNotDel []Change
		wantError               string
	}{
		{"deleted", &Result{Applied: deletes, NotApplied: []Change{}}, nil, true, deletes, []Change{}, ""},
		{"nothing left", nil, nil, true, []Change{}, []Change{}, ""},
		{"failed part way", &Result{Applied: deletes[:1], NotApplied: deletes[1:]}, failed, false, deletes[:1], deletes[1:], failed.Error()},
		{"refused", nil, failed, false, []Change{}, deletes, failed.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewDestroyReport(&DestroyPlan{Deletes: deletes})
			r.Record(tt.res, tt.err)
			if r.Applied != tt.wantApplied || !slices.Equal(r.Deleted, tt.wantDeleted) || !slices.Equal(r.NotDeleted, tt.wantNotDel) || r.Error != tt.wantError {
				t.Errorf("Record() = %v, deleted %v, not deleted %v, error %q", r.Applied, r.Deleted, r.NotDeleted, r.Error)
			}
		})
	}
}
