package export

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// The StackSet export's names and AWS's limits on them.
const (
	// StackSetName is the stack set's name in the commands export prints.
	StackSetName = "circleci-ecr-oidc"
	// StackSetTemplateFile is the StackSet export's file name.
	StackSetTemplateFile = "stackset.yaml"
	// MaxOUs is how many organizational units one CreateStackInstances
	// operation accepts.
	MaxOUs = 50
	// MaxTemplateBody is the largest template, in bytes, that
	// create-stack-set takes in --template-body; a larger one must be read
	// from S3 (--template-url).
	MaxTemplateBody = 51200
	// createProviderParameter is the templates' parameter that says whether
	// the stack creates the organization's OIDC provider.
	createProviderParameter = "CreateOIDCProvider"
)

var (
	stackSetNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,127}$`)
	accountIDPattern    = regexp.MustCompile(`^[0-9]{12}$`)
)

// CheckOUs checks the --ou values given for format and returns them as
// fleet.NormalizeOUs does (trimmed, repeats dropped), as every command
// takes them: the StackSet export needs one to MaxOUs organizational unit
// IDs (ou-...) or the root ID (r-...); the other formats take none. The
// error is a *provision.InputError naming --ou.
func CheckOUs(format Format, ous []string) ([]string, error) {
	if format != CloudFormationStackSet {
		if len(ous) > 0 {
			return nil, &provision.InputError{Field: provision.FieldOU, Rule: "applies only to --format " + string(CloudFormationStackSet)}
		}
		return nil, nil
	}
	if len(ous) == 0 {
		return nil, &provision.InputError{Field: provision.FieldOU, Rule: "is required with --format " + string(CloudFormationStackSet) + ": the organizational units (ou-...) or the root (r-...) to deploy the stack set to"}
	}
	ous, err := fleet.NormalizeOUs(ous)
	if err != nil {
		return nil, err
	}
	if len(ous) > MaxOUs {
		return nil, &provision.InputError{Field: provision.FieldOU, Rule: fmt.Sprintf("names %d organizational units; a stack set operation takes at most %d: name their parent instead", len(ous), MaxOUs)}
	}
	return ous, nil
}

// CheckSelection checks, for format, the inputs that pick accounts: whether
// the export reads accounts (fleet.FieldProfiles or fleet.FieldOrgAccounts
// given) and the OUs, which it returns as CheckOUs does. Only the StackSet
// export reads accounts, for whether each has the provider; the others make
// no AWS call.
func CheckSelection(format Format, readsAccounts bool, ous []string) ([]string, error) {
	if readsAccounts && format != CloudFormationStackSet {
		return nil, &provision.InputError{Field: fleet.FieldProfiles, With: []provision.Field{fleet.FieldOrgAccounts}, Join: "or", Rule: "applies to export only with --format cloudformation-stackset, which reads each account for whether it has the provider; a terraform or cloudformation export makes no AWS call: apply the same files in each account"}
	}
	return CheckOUs(format, ous)
}

// StackSetDeployment is where the StackSet export goes: the stack set, the
// organizational units it deploys to, and its region.
type StackSetDeployment struct {
	// Name is the stack set's name; "" means StackSetName.
	Name string
	// Region is where the stack set is created and its instances deployed.
	Region string
	// OUs are the organizational unit IDs or the root ID to deploy to.
	OUs []string
	// TemplatePath is the template file, as the commands name it.
	TemplatePath string
	// TemplateBytes is the template's size: over MaxTemplateBody, the
	// commands upload it to S3 and create the stack set from there.
	TemplateBytes int
	// HasProvider says, when the accounts were read (export with
	// --org-accounts or --profiles), which have the organization's OIDC
	// provider already, by account ID; instanceCommands explains.
	// Nil means they were not: the notes say what to do about such accounts.
	HasProvider map[string]bool
}

// validate checks d and returns it with its name set and its OUs as
// CheckOUs returns them.
func (d StackSetDeployment) validate() (StackSetDeployment, error) {
	if d.Name == "" {
		d.Name = StackSetName
	}
	if !stackSetNamePattern.MatchString(d.Name) {
		return d, fmt.Errorf("plan stack set commands: stack set name %q must start with a letter and hold up to 128 letters, digits and hyphens", d.Name)
	}
	if err := provision.ValidateRegion(provision.FieldRegion, d.Region); err != nil {
		return d, err
	}
	ous, err := CheckOUs(CloudFormationStackSet, d.OUs)
	if err != nil {
		return d, err
	}
	if d.TemplatePath == "" {
		return d, fmt.Errorf("plan stack set commands: the template's path is required")
	}
	d.OUs = ous
	return d, nil
}

// Command is one AWS CLI command line.
type Command struct {
	// Args are the words before the options, such as
	// aws cloudformation create-stack-set.
	Args []string
	// Options are the options in order.
	Options []Option
}

// Option is a command-line option and its value.
type Option struct{ Name, Value string }

// String writes c for a POSIX shell, one option a line, each word quoted
// if the shell would otherwise change it.
func (c Command) String() string {
	words := make([]string, len(c.Args))
	for i, a := range c.Args {
		words[i] = shellQuote(a)
	}
	var b strings.Builder
	b.WriteString(strings.Join(words, " "))
	for _, o := range c.Options {
		b.WriteString(" \\\n  " + shellQuote(o.Name) + " " + shellQuote(o.Value))
	}
	return b.String()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=,@%+-]+$`)

// shellQuote returns s as one shell word: as it is when only characters
// the shell leaves alone are in it, else in single quotes.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commands returns the AWS CLI commands that deploy the StackSet export
// (d validated): aws cloudformation create-stack-set (after aws s3 cp when
// the template is too large for --template-body), then
// create-stack-instances for d.OUs as instanceCommands returns them.
func (d StackSetDeployment) commands() ([]Command, error) {
	create := Command{Args: []string{"aws", "cloudformation", "create-stack-set"}, Options: []Option{
		{"--region", d.Region},
		{"--stack-set-name", d.Name},
	}}
	var cmds []Command
	if d.TemplateBytes > MaxTemplateBody {
		// BUCKET stands for a bucket of the management account that the
		// person running the commands chooses; the notes say so.
		key := "s3://BUCKET/" + d.Name + "/" + StackSetTemplateFile
		cmds = append(cmds, Command{Args: []string{"aws", "s3", "cp", d.TemplatePath, key}, Options: []Option{{"--region", d.Region}}})
		create.Options = append(create.Options, Option{"--template-url", templateURL(d)})
	} else {
		create.Options = append(create.Options, Option{"--template-body", "file://" + d.TemplatePath})
	}
	create.Options = append(create.Options,
		Option{"--permission-model", "SERVICE_MANAGED"},
		Option{"--auto-deployment", "Enabled=true,RetainStacksOnAccountRemoval=false"},
		// Queues the instance operations instead of refusing the second
		// while the first runs (OperationInProgressException).
		Option{"--managed-execution", "Active=true"},
		Option{"--capabilities", "CAPABILITY_NAMED_IAM"},
		Option{"--parameters", "ParameterKey=" + createProviderParameter + ",ParameterValue=true"},
	)
	instances, err := d.instanceCommands()
	if err != nil {
		return nil, err
	}
	return append(append(cmds, create), instances...), nil
}

// templateURL is the HTTPS URL of the template uploaded to the bucket
// BUCKET in d.Region.
func templateURL(d StackSetDeployment) string {
	domain := "amazonaws.com"
	if provision.RegionPartition(d.Region) == "aws-cn" {
		domain = "amazonaws.com.cn"
	}
	return fmt.Sprintf("https://BUCKET.s3.%s.%s/%s/%s", d.Region, domain, d.Name, StackSetTemplateFile)
}

// instanceCommands returns the create-stack-instances commands that
// deploy the stack set (d validated) to the accounts of d.OUs in d.Region,
// given which accounts have the organization's OIDC provider already
// (d.HasProvider[account]; an account missing from it has none). Those
// accounts' instances use it (CreateOIDCProvider=false, an override for
// exactly them: Accounts with AccountFilterType=INTERSECTION); the others'
// create it (the stack set's value, true: AccountFilterType=DIFFERENCE
// with the same accounts). With no such account it is one command for the
// OUs. Accounts are sorted, so the commands are the same for the same map.
func (d StackSetDeployment) instanceCommands() ([]Command, error) {
	var existing []string
	for _, account := range slices.Sorted(maps.Keys(d.HasProvider)) {
		if !accountIDPattern.MatchString(account) {
			return nil, fmt.Errorf("plan stack instances: account %q is not a 12-digit account ID", account)
		}
		if d.HasProvider[account] {
			existing = append(existing, account)
		}
	}
	instances := func(targets string, overrides ...Option) Command {
		return Command{Args: []string{"aws", "cloudformation", "create-stack-instances"}, Options: append([]Option{
			{"--region", d.Region},
			{"--stack-set-name", d.Name},
			{"--deployment-targets", targets},
			{"--regions", d.Region},
		}, overrides...)}
	}
	ous := "OrganizationalUnitIds=" + strings.Join(d.OUs, ",")
	if len(existing) == 0 {
		return []Command{instances(ous)}, nil
	}
	accounts := ",Accounts=" + strings.Join(existing, ",")
	return []Command{
		instances(ous+accounts+",AccountFilterType=INTERSECTION",
			Option{"--parameter-overrides", "ParameterKey=" + createProviderParameter + ",ParameterValue=false"}),
		instances(ous + accounts + ",AccountFilterType=DIFFERENCE"),
	}, nil
}

// StackSetNotes returns what export prints on stderr after the StackSet
// template: where to run the commands that deploy it, the commands, and
// what to do for accounts that have the provider already.
func StackSetNotes(d StackSetDeployment) (string, error) {
	d, err := d.validate()
	if err != nil {
		return "", err
	}
	cmds, err := d.commands()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`# Deploy the stack set from the organization's management account, once
# trusted access between StackSets and AWS Organizations is activated
# (aws cloudformation activate-organizations-access); from a delegated
# administrator account, add --call-as DELEGATED_ADMIN to the cloudformation
# commands. StackSets never deploy to the management account itself.
`)
	if d.TemplateBytes > MaxTemplateBody {
		fmt.Fprintf(&b, `# The template is %d bytes, over the %d that --template-body takes: upload
# it to an S3 bucket of this account (replace BUCKET) and create the stack set
# from there.
`, d.TemplateBytes, MaxTemplateBody)
	}
	for i, c := range cmds {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(c.String() + "\n")
	}
	if d.HasProvider != nil {
		have := 0
		for _, has := range d.HasProvider {
			if has {
				have++
			}
		}
		fmt.Fprintf(&b, `# Of the %d account(s) read, %d have the organization's OIDC provider
# already: their instances take %s=false and use it; the
# others' stacks create it. Accounts that join these organizational units
# later get the stack set's value, true (docs/multi-account.md).
`, len(d.HasProvider), have, createProviderParameter)
		return b.String(), nil
	}
	fmt.Fprintf(&b, `# Accounts of these organizational units that have the organization's OIDC
# provider already need %s=false: create their instances with
#   --deployment-targets %s,Accounts=<their IDs>,AccountFilterType=INTERSECTION
#   --parameter-overrides ParameterKey=%s,ParameterValue=false
# and the other accounts' with the same targets but AccountFilterType=DIFFERENCE
# (docs/multi-account.md).
`, createProviderParameter, "OrganizationalUnitIds="+strings.Join(d.OUs, ","), createProviderParameter)
	return b.String(), nil
}
