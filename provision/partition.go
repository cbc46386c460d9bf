package provision

import "regexp"

// partitionRegions are the AWS partitions and the region names each one
// has, as aws-sdk-go-v2 resolves them (internal/endpoints/awsrulesfn,
// partitions.json: each partition's regionRegex). The SDK sends a region
// that none of them matches to the aws partition, and so does
// RegionPartition.
var partitionRegions = []struct {
	partition string
	regions   *regexp.Regexp
}{
	{"aws", regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`)},
	{"aws-cn", regexp.MustCompile(`^cn-\w+-\d+$`)},
	{"aws-eusc", regexp.MustCompile(`^eusc-(de)-\w+-\d+$`)},
	{"aws-iso", regexp.MustCompile(`^us-iso-\w+-\d+$`)},
	{"aws-iso-b", regexp.MustCompile(`^us-isob-\w+-\d+$`)},
	{"aws-iso-e", regexp.MustCompile(`^eu-isoe-\w+-\d+$`)},
	{"aws-iso-f", regexp.MustCompile(`^us-isof-\w+-\d+$`)},
	{"aws-us-gov", regexp.MustCompile(`^us-gov-\w+-\d+$`)},
}

// knownPartitions are the partitions an ARN may name.
var knownPartitions = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range partitionRegions {
		m[p.partition] = true
	}
	return m
}()

// RegionPartition returns the partition a region belongs to, such as aws
// for us-east-1, aws-cn for cn-north-1 and aws-us-gov for us-gov-west-1.
// Credentials work only in their own partition, so this is also the
// partition of the account that the tool reaches through the region.
func RegionPartition(region string) string {
	for _, p := range partitionRegions {
		if p.regions.MatchString(region) {
			return p.partition
		}
	}
	return "aws"
}
