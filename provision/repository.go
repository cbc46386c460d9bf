package provision

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// Repository is one --repo value: a repository in the caller's account and
// the spec's region (a bare name or a name prefix ending in "/*"), or a full
// repository ARN, which may point at another account or region.
type Repository struct {
	// Input is the value as the user gave it.
	Input string
	// Name is the repository name, or the prefix including "/*" for a pattern.
	Name string
	// Pattern is true for "prefix/*"; patterns are granted but not looked up.
	Pattern bool
	// Partition, Account and Region come from an ARN; empty means the
	// caller's partition and account and the spec's region.
	Partition, Account, Region string
}

// ParseRepository parses a --repo value: a repository name (ECR rules), a
// name prefix ending in "/*", or an ARN
// arn:<partition>:ecr:<region>:<account>:repository/<name or prefix/*>.
func ParseRepository(value string) (Repository, error) {
	const field = FieldRepo
	v := strings.TrimSpace(value)
	repo := Repository{Input: v}
	name := v
	if strings.HasPrefix(v, "arn:") {
		a, err := arn.Parse(v)
		if err != nil {
			return Repository{}, &InputError{Field: field, Value: value, Rule: "is not an ARN: " + err.Error()}
		}
		rule := "a repository ARN looks like arn:aws:ecr:us-east-1:123456789012:repository/NAME"
		switch {
		case !knownPartitions[a.Partition]:
			return Repository{}, &InputError{Field: field, Value: value, Rule: rule + fmt.Sprintf(" (unknown partition %q)", a.Partition)}
		case a.Service != "ecr":
			return Repository{}, &InputError{Field: field, Value: value, Rule: rule + fmt.Sprintf(" (service is %q, not ecr)", a.Service)}
		case !regionPattern.MatchString(a.Region):
			return Repository{}, &InputError{Field: field, Value: value, Rule: rule + " (missing or malformed region)"}
		case RegionPartition(a.Region) != a.Partition:
			return Repository{}, &InputError{Field: field, Value: value, Rule: rule + " (region " + a.Region + " is in partition " + RegionPartition(a.Region) + ", not " + a.Partition + ")"}
		case !accountPattern.MatchString(a.AccountID):
			return Repository{}, &InputError{Field: field, Value: value, Rule: rule + " (account must be 12 digits)"}
		case !strings.HasPrefix(a.Resource, "repository/"):
			return Repository{}, &InputError{Field: field, Value: value, Rule: rule + " (resource must start with repository/)"}
		}
		repo.Partition, repo.Region, repo.Account = a.Partition, a.Region, a.AccountID
		name = strings.TrimPrefix(a.Resource, "repository/")
	}
	repo.Name = name
	if strings.HasSuffix(name, "*") {
		if !repoPrefixPattern.MatchString(name) || len(name) > 256 {
			return Repository{}, &InputError{Field: field, Value: value, Rule: "a pattern is a repository name prefix ending in /*, such as team/*"}
		}
		repo.Pattern = true
		return repo, nil
	}
	if err := ValidateRepositoryName(field, name); err != nil {
		return Repository{}, err
	}
	return repo, nil
}

// ARN returns the repository (or pattern) ARN, filling what the input did
// not say from the caller's partition and account and the spec's region.
func (r Repository) ARN(partition, account, region string) string {
	if r.Partition != "" {
		partition = r.Partition
	}
	if r.Account != "" {
		account = r.Account
	}
	if r.Region != "" {
		region = r.Region
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, region, account, r.Name)
}

// Local reports whether the repository is in the given account, so that it
// can be looked up with the caller's credentials.
func (r Repository) Local(account string) bool {
	return r.Account == "" || r.Account == account
}

// Image is a private ECR image reference as used in config.yml:
// <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest].
type Image struct {
	Account, Region, Domain, Repository, Tag, Digest string
	// FIPS is true for the dkr.ecr-fips endpoint, which String keeps so
	// that the snippet pulls through the endpoint the user named.
	FIPS bool
}

var (
	imagePattern = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.(amazonaws\.com(?:\.cn)?)/([^:@]+)(?::([^@]+))?(?:@(.+))?$`)
	tagPattern   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRegexp = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// ParseImage parses a private ECR image URI. A tag or a digest is optional;
// without either, Docker pulls :latest.
func ParseImage(field Field, value string) (Image, error) {
	rule := "an ECR image looks like 123456789012.dkr.ecr.us-east-1.amazonaws.com/NAME:TAG"
	m := imagePattern.FindStringSubmatch(value)
	if m == nil {
		return Image{}, &InputError{Field: field, Value: value, Rule: rule}
	}
	img := Image{Account: m[1], FIPS: m[2] != "", Region: m[3], Domain: m[4], Repository: m[5], Tag: m[6], Digest: m[7]}
	switch {
	case !regionPattern.MatchString(img.Region):
		return Image{}, &InputError{Field: field, Value: value, Rule: rule + " (malformed region " + img.Region + ")"}
	case registryDomain(img.Partition()) != img.Domain:
		// A registry in China is under amazonaws.com.cn, and only there.
		return Image{}, &InputError{Field: field, Value: value, Rule: rule + " (region " + img.Region + " is in partition " + img.Partition() + ", whose registries are under " + registryDomain(img.Partition()) + ", not " + img.Domain + ")"}
	case len(img.Repository) < 2 || len(img.Repository) > 256 || !repoNamePattern.MatchString(img.Repository):
		return Image{}, &InputError{Field: field, Value: value, Rule: rule + " (repository name must follow ECR's rules)"}
	case img.Tag != "" && !tagPattern.MatchString(img.Tag):
		return Image{}, &InputError{Field: field, Value: value, Rule: rule + " (a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')"}
	case m[7] != "" && !digestRegexp.MatchString(img.Digest):
		return Image{}, &InputError{Field: field, Value: value, Rule: rule + " (a digest is sha256: followed by 64 lowercase hex digits)"}
	}
	return img, nil
}

// String returns the image URI.
func (i Image) String() string {
	endpoint := "ecr"
	if i.FIPS {
		endpoint = "ecr-fips"
	}
	s := fmt.Sprintf("%s.dkr.%s.%s.%s/%s", i.Account, endpoint, i.Region, i.Domain, i.Repository)
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// Partition returns the partition of the image's registry: its region's.
func (i Image) Partition() string {
	return RegionPartition(i.Region)
}

// RepositoryARN returns the ARN of the image's repository.
func (i Image) RepositoryARN(partition string) string {
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, i.Region, i.Account, i.Repository)
}

// registryDomain returns the ECR registry domain suffix for a partition:
// amazonaws.com.cn in China, amazonaws.com elsewhere.
func registryDomain(partition string) string {
	if partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// grants reports whether a repository ARN or ARN pattern covers target.
func grants(resource, target string) bool {
	if prefix, ok := strings.CutSuffix(resource, "*"); ok {
		return strings.HasPrefix(target, prefix)
	}
	return resource == target
}
