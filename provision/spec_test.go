package provision

import (
	"errors"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

const (
	testOrg     = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	testProject = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	otherProj   = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
)

func validSpec() Spec {
	return Spec{OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Region: "us-east-1"}
}

func TestValidateRejects(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name string
		edit func(*Spec)
		flag string
		rule string
	}{
		{"missing org", func(s *Spec) { s.OrgID = "" }, "--org-id", "is required"},
		{"org not a uuid", func(s *Spec) { s.OrgID = "my-org" }, "--org-id", "must be a UUID"},
		{"org uuid without dashes", func(s *Spec) { s.OrgID = "2ce1a0c63b4e4f1a9a553d2f0e6c1b7d" }, "--org-id", "must be a UUID"},
		{"org uuid with braces", func(s *Spec) { s.OrgID = "{" + testOrg + "}" }, "--org-id", "must be a UUID"},
		{"org uuid too long", func(s *Spec) { s.OrgID = testOrg + "0" }, "--org-id", "must be a UUID"},
		{"org is a vcs slug", func(s *Spec) { s.OrgID = "gh/acme" }, "--org-id", "not a project ID or the VCS slug"},
		{"no repos", func(s *Spec) { s.Repositories = nil }, "--repo", "is required"},
		{"repo one char", func(s *Spec) { s.Repositories = []string{"a"} }, "--repo", "2 to 256"},
		{"repo 257 chars", func(s *Spec) { s.Repositories = []string{strings.Repeat("a", 257)} }, "--repo", "2 to 256"},
		{"repo uppercase", func(s *Spec) { s.Repositories = []string{"App"} }, "--repo", "lowercase"},
		{"repo double separator", func(s *Spec) { s.Repositories = []string{"a__b"} }, "--repo", "lowercase"},
		{"repo leading separator", func(s *Spec) { s.Repositories = []string{"-ab"} }, "--repo", "lowercase"},
		{"repo trailing slash", func(s *Spec) { s.Repositories = []string{"team/"} }, "--repo", "lowercase"},
		{"repo double slash", func(s *Spec) { s.Repositories = []string{"team//app"} }, "--repo", "lowercase"},
		{"repo with tag", func(s *Spec) { s.Repositories = []string{"app:latest"} }, "--repo", "lowercase"},
		{"pattern bare star", func(s *Spec) { s.Repositories = []string{"*"} }, "--repo", "prefix ending in /*"},
		{"pattern without slash", func(s *Spec) { s.Repositories = []string{"team*"} }, "--repo", "prefix ending in /*"},
		{"pattern star in middle", func(s *Spec) { s.Repositories = []string{"team/*/x"} }, "--repo", "lowercase"},
		{"arn wrong service", func(s *Spec) { s.Repositories = []string{"arn:aws:s3:us-east-1:123456789012:repository/app"} }, "--repo", "not ecr"},
		{"arn no region", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr::123456789012:repository/app"} }, "--repo", "region"},
		{"arn bad region", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:useast1:123456789012:repository/app"} }, "--repo", "region"},
		{"arn short account", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:us-east-1:12345678901:repository/app"} }, "--repo", "12 digits"},
		{"arn account letters", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:us-east-1:12345678901a:repository/app"} }, "--repo", "12 digits"},
		{"arn not repository", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:us-east-1:123456789012:registry/app"} }, "--repo", "repository/"},
		{"arn unknown partition", func(s *Spec) { s.Repositories = []string{"arn:foo:ecr:us-east-1:123456789012:repository/app"} }, "--repo", "partition"},
		{"arn too few parts", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:us-east-1"} }, "--repo", "not an ARN"},
		{"arn bad name", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:us-east-1:123456789012:repository/App"} }, "--repo", "lowercase"},
		{"arn region of another partition", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:cn-north-1:123456789012:repository/app"} }, "--repo", "region cn-north-1 is in partition aws-cn, not aws"},
		{"arn gov partition, commercial region", func(s *Spec) { s.Repositories = []string{"arn:aws-us-gov:ecr:us-east-1:123456789012:repository/app"} }, "--repo", "partition aws, not aws-us-gov"},
		{"arn partition with newline", func(s *Spec) { s.Repositories = []string{"arn:aws\n:ecr:us-east-1:123456789012:repository/app"} }, "--repo", `unknown partition "aws\n"`},
		{"no projects", func(s *Spec) { s.ProjectIDs = nil }, "--project-id", "--all-projects"},
		{"project not uuid", func(s *Spec) { s.ProjectIDs = []string{"my-project"} }, "--project-id", "must be a UUID"},
		{"project is the org", func(s *Spec) { s.ProjectIDs = []string{testOrg} }, "--project-id", "organization ID"},
		{"projects and all-projects", func(s *Spec) { s.AllProjects = true }, "--all-projects", "cannot be combined"},
		{"unknown condition", func(s *Spec) { s.ProjectCondition = "aud" }, "--project-condition", "claim"},
		{"claim with all-projects", func(s *Spec) { s.ProjectIDs = nil; s.AllProjects = true; s.ProjectCondition = policy.ClaimKey }, "--project-condition", "does not apply"},
		{"role name too long", func(s *Spec) { s.RoleName = long }, "--role-name", "1 to 64"},
		{"role name with space", func(s *Spec) { s.RoleName = "ci role" }, "--role-name", "1 to 64"},
		{"role name with slash", func(s *Spec) { s.RoleName = "ci/role" }, "--role-name", "1 to 64"},
		{"role name with colon", func(s *Spec) { s.RoleName = "ci:role" }, "--role-name", "1 to 64"},
		{"role name non-ascii letter", func(s *Spec) { s.RoleName = "rôle" }, "--role-name", "1 to 64"},
		{"missing region", func(s *Spec) { s.Region = "" }, "--region", "is required"},
		{"region uppercase", func(s *Spec) { s.Region = "US-EAST-1" }, "--region", "region code"},
		{"region without number", func(s *Spec) { s.Region = "us-east" }, "--region", "region code"},
		{"region az", func(s *Spec) { s.Region = "us-east-1a" }, "--region", "region code"},
		{"image not ecr", func(s *Spec) { s.Image = "docker.io/library/alpine:3" }, "--image", "ECR image"},
		{"image bad tag", func(s *Spec) { s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:-bad" }, "--image", "tag"},
		{"image tag too long", func(s *Spec) {
			s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:" + strings.Repeat("t", 129)
		}, "--image", "tag"},
		{"image bad digest", func(s *Spec) { s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc" }, "--image", "digest"},
		{"image bad repo", func(s *Spec) { s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/App:1" }, "--image", "repository name"},
		{"image china region on .com", func(s *Spec) { s.Image = "123456789012.dkr.ecr.cn-north-1.amazonaws.com/app:1" }, "--image", "registries are under amazonaws.com.cn"},
		{"image .com.cn outside china", func(s *Spec) { s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn/app:1" }, "--image", "registries are under amazonaws.com,"},
		{"image injected line", func(s *Spec) {
			s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1\n    - image: attacker/img"
		}, "--image", "tag"},
		{"branch short name", func(s *Spec) { s.Branches = []string{"main"} }, "--branch", "full git ref"},
		{"branch with space", func(s *Spec) { s.Branches = []string{"refs/heads/my branch"} }, "--branch", "full git ref"},
		{"branch with colon", func(s *Spec) { s.Branches = []string{"refs/heads/a:b"} }, "--branch", "full git ref"},
		{"branch with dot-dot", func(s *Spec) { s.Branches = []string{"refs/heads/a..b"} }, "--branch", "full git ref"},
		{"branch trailing slash", func(s *Spec) { s.Branches = []string{"refs/heads/"} }, "--branch", "full git ref"},
		{"only patterns without image", func(s *Spec) { s.Repositories = []string{"team/*"} }, "--image", "is required when"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.edit(&s)
			_, err := s.Validate()
			var inputErr *InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("Validate() error = %v, want *InputError", err)
			}
			if flagOf(inputErr) != tt.flag {
				t.Errorf("flag = %q, want %q (error: %v)", flagOf(inputErr), tt.flag, err)
			}
			if !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("error %q does not state the rule %q", err, tt.rule)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Spec)
		want func(*testing.T, Spec)
	}{
		{"defaults filled, condition left to the partition", func(*Spec) {}, func(t *testing.T, s Spec) {
			if s.RoleName != DefaultRoleName || s.ProjectCondition != "" {
				t.Errorf("defaults = %q, %q; want the default role and an empty condition (policy.DefaultProjectCondition decides)", s.RoleName, s.ProjectCondition)
			}
		}},
		{"uppercase uuids normalized", func(s *Spec) {
			s.OrgID = strings.ToUpper(testOrg)
			s.ProjectIDs = []string{strings.ToUpper(testProject)}
		}, func(t *testing.T, s Spec) {
			if s.OrgID != testOrg || s.ProjectIDs[0] != testProject {
				t.Errorf("ids = %q, %q; want lowercase", s.OrgID, s.ProjectIDs)
			}
		}},
		{"duplicates removed", func(s *Spec) {
			s.Repositories = []string{"app", "app"}
			s.ProjectIDs = []string{testProject, testProject}
		}, func(t *testing.T, s Spec) {
			if len(s.Repositories) != 1 || len(s.ProjectIDs) != 1 {
				t.Errorf("not deduplicated: %v %v", s.Repositories, s.ProjectIDs)
			}
		}},
		{"role name 64 chars of every allowed class", func(s *Spec) { s.RoleName = strings.Repeat("a", 54) + "_+=,.@-9Zz" }, nil},
		{"role name one char", func(s *Spec) { s.RoleName = "r" }, nil},
		{"repo two chars", func(s *Spec) { s.Repositories = []string{"ab"} }, nil},
		{"repo 256 chars", func(s *Spec) { s.Repositories = []string{strings.Repeat("a", 256)} }, nil},
		{"repo with namespace and separators", func(s *Spec) { s.Repositories = []string{"team-a/sub.ns/my_app-1"} }, nil},
		{"repo pattern plus name", func(s *Spec) { s.Repositories = []string{"team/*", "app"} }, nil},
		{"cross-account arn", func(s *Spec) { s.Repositories = []string{"arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"} }, nil},
		{"arn pattern", func(s *Spec) {
			s.Repositories = []string{"arn:aws:ecr:us-east-1:210987654321:repository/team/*"}
			s.Image = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/x:1"
		}, nil},
		{"gov region", func(s *Spec) { s.Region = "us-gov-west-1" }, nil},
		{"european sovereign cloud region", func(s *Spec) { s.Region = "eusc-de-east-1" }, nil},
		{"china image", func(s *Spec) {
			s.Repositories = []string{"arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"}
			s.Image = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1"
		}, nil},
		{"china arn", func(s *Spec) { s.Repositories = []string{"arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"} }, nil},
		{"sub condition", func(s *Spec) { s.ProjectCondition = policy.Sub }, nil},
		{"branches", func(s *Spec) { s.Branches = []string{"refs/heads/main", "refs/heads/release-*", "refs/tags/v?.*"} }, nil},
		{"all projects", func(s *Spec) { s.ProjectIDs = nil; s.AllProjects = true }, nil},
		{"image with digest", func(s *Spec) {
			s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + strings.Repeat("a", 64)
		}, nil},
		{"image without tag", func(s *Spec) { s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app" }, nil},
		{"image with 128-char tag", func(s *Spec) {
			s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:" + strings.Repeat("t", 128)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.edit(&s)
			got, err := s.Validate()
			if err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tt.want != nil {
				tt.want(t, got)
			}
		})
	}
}

func TestRepositoryARN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"app", "arn:aws:ecr:us-east-1:123456789012:repository/app"},
		{"team/*", "arn:aws:ecr:us-east-1:123456789012:repository/team/*"},
		{"arn:aws:ecr:eu-west-1:210987654321:repository/base", "arn:aws:ecr:eu-west-1:210987654321:repository/base"},
	}
	for _, tt := range tests {
		r, err := ParseRepository(tt.in)
		if err != nil {
			t.Fatalf("ParseRepository(%q): %v", tt.in, err)
		}
		if got := r.ARN("aws", "123456789012", "us-east-1"); got != tt.want {
			t.Errorf("ARN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestValidateOU checks the one rule of every --ou: an organizational unit
// ID or a root ID, as AWS Organizations and CreateStackInstances take them.
func TestValidateOU(t *testing.T) {
	for id, ok := range map[string]bool{
		"ou-ab12-cd34ef56": true,
		"r-ab12":           true,
		"ou-" + strings.Repeat("a", 32) + "-" + strings.Repeat("0", 32): true,
		"r-" + strings.Repeat("a", 32):                                  true,
		"ou-AB12-cd34ef56":                                              false,
		"ou-ab1-cd34ef56":                                               false,
		"ou-ab12-cd34ef5":                                               false,
		"ou-ab12-cd34ef56/x":                                            false,
		"r-ab1":                                                         false,
		"o-abcdefghij":                                                  false,
		"123456789012":                                                  false,
		"":                                                              false,
	} {
		err := ValidateOU(FieldOU, id)
		var input *InputError
		if ok != (err == nil) || (!ok && (!errors.As(err, &input) || input.Field != FieldOU)) {
			t.Errorf("ValidateOU(%q) = %v, want valid %v", id, err, ok)
		}
	}
}

func TestValidateInRegion(t *testing.T) {
	for _, tt := range []struct {
		name, region, repo, wantRule string
	}{
		{"same partition", "us-east-1", "arn:aws:ecr:us-west-2:123456789012:repository/app", ""},
		{"China repository, commercial region", "us-east-1", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app", "is in partition aws-cn, but the account is in partition aws (region us-east-1)"},
		{"commercial repository, GovCloud region", "us-gov-west-1", "arn:aws:ecr:us-east-1:123456789012:repository/app", "is in partition aws, but the account is in partition aws-us-gov (region us-gov-west-1)"},
		{"invalid spec", "moon-1", "app", "must be an AWS region code"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			s.Region, s.Repositories = tt.region, []string{tt.repo}
			got, err := s.ValidateInRegion()
			if tt.wantRule == "" {
				if err != nil || got.RoleName != DefaultRoleName {
					t.Fatalf("ValidateInRegion() = %+v, %v; want the validated spec", got, err)
				}
				return
			}
			var input *InputError
			if !errors.As(err, &input) || !strings.Contains(input.Rule, tt.wantRule) {
				t.Errorf("ValidateInRegion() error = %v, want an InputError whose rule contains %q", err, tt.wantRule)
			}
		})
	}
}

func TestValidateAccountID(t *testing.T) {
	for id, ok := range map[string]bool{
		"123456789012": true, "12345678901": false, "1234567890123": false, "12345678901x": false,
		" 123456789012": false, "123456789012\n": false, "": false,
	} {
		err := ValidateAccountID(FieldAccountID, id)
		var in *InputError
		if ok != (err == nil) || !ok && (!errors.As(err, &in) || in.Field != FieldAccountID || in.Rule != "must be a 12-digit AWS account ID") {
			t.Errorf("ValidateAccountID(%q) = %v, want ok %v", id, err, ok)
		}
	}
}
