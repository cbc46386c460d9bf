package provision

import (
	"fmt"
	"regexp"
	"strings"
)

// RoleARN is an IAM role ARN: arn:<partition>:iam::<account>:role<path><name>.
type RoleARN struct {
	Partition, Account string
	// Path is "/" or "/.../", as IAM stores it.
	Path string
	// Name is the role name, the ARN's last element.
	Name string
}

// rolePathPattern is IAM's path pattern (CreateRole): "/" alone, or
// printable ASCII other than space between two slashes, up to 512
// characters.
var rolePathPattern = regexp.MustCompile(`^(?:/|/[!-~]{1,510}/)$`)

// ParseRoleARN parses an IAM role ARN as a whole, so that nothing but the
// ARN of a role that can exist reaches a config.yml: a known partition,
// service iam with an empty region, a 12-digit account, and role/ followed
// by an optional path and a role name by IAM's rules. An ARN of anything
// else is an *InputError for flag.
func ParseRoleARN(field Field, value string) (RoleARN, error) {
	rule := "an IAM role ARN looks like arn:aws:iam::123456789012:role/NAME or arn:aws:iam::123456789012:role/PATH/NAME"
	fail := func(why string) (RoleARN, error) {
		return RoleARN{}, &InputError{Field: field, Value: value, Rule: rule + " (" + why + ")"}
	}
	parts := strings.SplitN(value, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return fail("not an ARN: it has the six parts arn:PARTITION:iam::ACCOUNT:role/NAME")
	}
	partition, service, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	switch {
	case !knownPartitions[partition]:
		return fail(fmt.Sprintf("unknown partition %q", partition))
	case service != "iam":
		return fail(fmt.Sprintf("service is %q, not iam", service))
	case region != "":
		return fail("an IAM ARN has no region")
	case !accountPattern.MatchString(account):
		return fail("account must be 12 digits")
	}
	rest, ok := strings.CutPrefix(resource, "role/")
	if !ok {
		return fail("resource must start with role/")
	}
	slash := strings.LastIndex(rest, "/")
	path, name := "/"+rest[:slash+1], rest[slash+1:]
	if !rolePathPattern.MatchString(path) {
		return fail("a path is printable ASCII without spaces between slashes, at most 512 characters")
	}
	if err := ValidateRoleName(field, name); err != nil {
		return fail("a role name is 1 to 64 characters of letters, digits and _+=,.@-")
	}
	return RoleARN{Partition: partition, Account: account, Path: path, Name: name}, nil
}

// String returns the ARN.
func (r RoleARN) String() string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", r.Partition, r.Account, r.Path, r.Name)
}
