package circleciconfig_test

import (
	"fmt"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleciconfig"
)

func ExamplePatch() {
	src := []byte(`version: 2.1
jobs:
  build:
    docker:
      # the build image
      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0
        aws_auth:
          aws_access_key_id: $AWS_ACCESS_KEY_ID
          aws_secret_access_key: $AWS_SECRET_ACCESS_KEY
    steps: [checkout]
workflows:
  main:
    jobs: [build]
`)
	out, report, err := circleciconfig.Patch(src, circleciconfig.Target{
		RoleARN:      "arn:aws:iam::123456789012:role/circleci-ecr-pull",
		Repositories: []string{"arn:aws:ecr:us-east-1:123456789012:repository/app"},
	})
	if err != nil {
		panic(err)
	}
	diff, _ := circleciconfig.Diff(".circleci/config.yml", src, out)
	fmt.Print(diff)
	for _, n := range report.Notes {
		fmt.Println("note:", n)
	}
	// Output:
	// --- a/.circleci/config.yml
	// +++ b/.circleci/config.yml
	// @@ -5,8 +5,7 @@
	//        # the build image
	//        - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0
	//          aws_auth:
	// -          aws_access_key_id: $AWS_ACCESS_KEY_ID
	// -          aws_secret_access_key: $AWS_SECRET_ACCESS_KEY
	// +          oidc_role_arn: arn:aws:iam::123456789012:role/circleci-ecr-pull
	//      steps: [checkout]
	//  workflows:
	//    main:
}
