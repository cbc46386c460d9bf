package provision

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets cover every parser of outside input in this package.
// Seeds live in testdata/fuzz/<FuzzName>/ (committed) and in f.Add; CI runs
// each target briefly through scripts/fuzz.sh.

// inputError fails the test unless err is an *InputError naming flag:
// every rejection must be reportable as exit status 2.
func inputError(t *testing.T, err error, flag string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) || flagOf(ie) != flag {
		t.Fatalf("error %v (%T) is not an *InputError for %s", err, err, flag)
	}
}

func FuzzValidateUUID(f *testing.F) {
	for _, s := range []string{testOrg, strings.ToUpper(testOrg), " " + testOrg + "\n", "2ce1a0c63b4e4f1a9a553d2f0e6c1b7d", "{" + testOrg + "}", "gh/acme", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ValidateUUID(FieldOrgID, in)
		if err != nil {
			inputError(t, err, "--org-id")
			return
		}
		if !uuidPattern.MatchString(got) || len(got) != 36 {
			t.Fatalf("ValidateUUID(%q) = %q, not a lowercase UUID", in, got)
		}
		if !strings.EqualFold(got, strings.TrimSpace(in)) {
			t.Fatalf("ValidateUUID(%q) = %q, not the input normalized", in, got)
		}
		again, err := ValidateUUID(FieldOrgID, got)
		if err != nil || again != got {
			t.Fatalf("ValidateUUID is not idempotent on %q: %q, %v", got, again, err)
		}
	})
}

func FuzzParseRepository(f *testing.F) {
	for _, s := range []string{
		"app", "tools/builder", "team/*", "a.b_c-d/e", "arn:aws:ecr:us-east-1:123456789012:repository/app",
		"arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/*", "arn:aws:ecr::123456789012:repository/app",
		"arn:aws:iam::123456789012:role/x", "App", "*", "a__b", " app ", "arn:aws:ecr:us-east-1:123456789012:repository/a:b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		repo, err := ParseRepository(in)
		if err != nil {
			inputError(t, err, "--repo")
			return
		}
		v := strings.TrimSpace(in)
		if repo.Input != v {
			t.Fatalf("Input = %q, want %q", repo.Input, v)
		}
		arn := repo.ARN("aws", "123456789012", "us-east-1")
		if strings.HasPrefix(v, "arn:") && arn != v {
			t.Fatalf("ARN() = %q, want the input %q back", arn, v)
		}
		if !strings.HasPrefix(v, "arn:") && repo.Name != v {
			t.Fatalf("Name = %q, want the input %q", repo.Name, v)
		}
		// What we grant must parse back to the same repository.
		back, err := ParseRepository(arn)
		if err != nil {
			t.Fatalf("ARN() %q of %q does not parse: %v", arn, in, err)
		}
		if back.Name != repo.Name || back.Pattern != repo.Pattern {
			t.Fatalf("ARN() %q parses to %+v, want %+v", arn, back, repo)
		}
		if repo.Pattern != strings.HasSuffix(repo.Name, "/*") {
			t.Fatalf("Pattern = %v for name %q", repo.Pattern, repo.Name)
		}
	})
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/builder:1.0",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:latest",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app:v1",
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + strings.Repeat("ab", 32),
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0@sha256:" + strings.Repeat("0f", 32),
		"alpine:3", "123456789012.dkr.ecr.us-east-1.amazonaws.com/App:x", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		img, err := ParseImage(FieldImage, in)
		if err != nil {
			inputError(t, err, "--image")
			return
		}
		if got := img.String(); got != in {
			t.Fatalf("String() = %q, want the input %q back", got, in)
		}
		back, err := ParseImage(FieldImage, img.String())
		if err != nil || back != img {
			t.Fatalf("String() %q parses to %+v, %v; want %+v", img.String(), back, err, img)
		}
		if !grants(img.RepositoryARN("aws"), img.RepositoryARN("aws")) {
			t.Fatalf("repository ARN %q does not grant itself", img.RepositoryARN("aws"))
		}
	})
}

func FuzzParseRoleARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/circleci-ecr-pull", "arn:aws-cn:iam::123456789012:role/ci/p",
		"arn:aws:iam::123456789012:role/a,b=c@d/e+f_g.h-i", "arn:aws:iam::12345678901x:role/p\n    - image: attacker/img",
		"arn:aws:iam::123456789012:user/bob", "arn:aws:iam:us-east-1:123456789012:role/p", "arn:aws:iam::123456789012:role//p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRoleARN(FieldRoleARN, in)
		if err != nil {
			inputError(t, err, "--role-arn")
			return
		}
		if r.String() != in {
			t.Fatalf("String() = %q, want the input %q back", r.String(), in)
		}
		// Nothing a YAML line or an IAM document could be broken by.
		for i := 0; i < len(in); i++ {
			if in[i] <= ' ' || in[i] > '~' {
				t.Fatalf("accepted byte %#x in %q", in[i], in)
			}
		}
		if !accountPattern.MatchString(r.Account) || !knownPartitions[r.Partition] || ValidateRoleName(FieldRoleName, r.Name) != nil {
			t.Fatalf("accepted %q as %+v", in, r)
		}
	})
}

func FuzzParseTag(f *testing.F) {
	for _, s := range []string{
		"team=platform", "k=", "=v", "k=a=b", "Cost Center=ci/cd", "équipe=plateforme", "aws:x=1", "AWS:x=1",
		"circleci-ecr-oidc:managed=false", "team", "k=a,b", "k\x00=v", "k=\xff", strings.Repeat("k", 129) + "=v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, val, err := ParseTag(FieldTag, in)
		if err != nil {
			inputError(t, err, "--tag")
			return
		}
		if key+"="+val != in {
			t.Fatalf("ParseTag(%q) = %q, %q; not a split of the input", in, key, val)
		}
		switch {
		case !utf8.ValidString(key) || !utf8.ValidString(val):
			t.Fatalf("accepted invalid UTF-8 in %q", in)
		case utf8.RuneCountInString(key) < 1 || utf8.RuneCountInString(key) > 128:
			t.Fatalf("accepted key %q of %d characters", key, utf8.RuneCountInString(key))
		case utf8.RuneCountInString(val) > 256:
			t.Fatalf("accepted value of %d characters", utf8.RuneCountInString(val))
		case strings.HasPrefix(strings.ToLower(key), "aws:"), strings.HasPrefix(strings.ToLower(key), "circleci-ecr-oidc:"):
			t.Fatalf("accepted reserved key %q", key)
		case strings.ContainsAny(key, "\x00,;\"'*?\\"):
			t.Fatalf("accepted key %q with a character IAM refuses", key)
		}
		tags, err := ParseTags(FieldTag, []string{in})
		if err != nil || len(tags) != 1 || tags[key] != val {
			t.Fatalf("ParseTags([%q]) = %v, %v", in, tags, err)
		}
		s := validSpec()
		s.Tags = tags
		if _, err := s.Validate(); err != nil {
			t.Fatalf("Spec.Validate refuses a tag ParseTag accepts: %v", err)
		}
	})
}
