package fleet

import (
	"reflect"
	"slices"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// TestPermissionsCoverCalls checks that every call Targets can make (the
// methods of its client interfaces) is in provision.Permissions for the
// identity behind --org-accounts, so that adding a call without documenting
// its permission fails here first.
func TestPermissionsCoverCalls(t *testing.T) {
	for _, c := range []struct {
		prefix string
		iface  reflect.Type
	}{
		{"organizations", reflect.TypeFor[OrganizationsAPI]()},
		{"sts", reflect.TypeFor[STSAPI]()},
	} {
		for m := range c.iface.Methods() {
			action := c.prefix + ":" + m.Name
			i := slices.IndexFunc(provision.Permissions, func(p provision.Permission) bool { return p.Action == action })
			if i < 0 || !slices.Contains(provision.Permissions[i].Commands, provision.CommandOrgAccounts) {
				t.Errorf("%s (a method of %s) is not in provision.Permissions for %s", action, c.iface.Name(), provision.CommandOrgAccounts)
			}
		}
	}
}
