// Package wizard asks a person on a terminal for the parts of a
// provision.Spec that no flag gave, with charmbracelet/huh forms, and shows
// the plan for confirmation before anything is written.
//
// The wizard is a second front end to the same engine: it produces exactly
// the Spec the flags would (every question has a flag, and a question whose
// flag was given is not asked), validates each answer with the same rules
// as the flags (provision.ValidateUUID, ParseRepository, ValidateRoleName),
// and reviews the same provision.Plan that plan and --output json print.
//
// FillInput asks for what a provision.Input leaves out and stores the
// answers in it, as if they had been given (GivenBy says which were).
//
// It makes no AWS calls of its own: the caller's identity and the region's
// repositories come in as functions (Deps), so it is tested without AWS.
// So do CircleCI's look-ups (Deps.CircleCI, built from an API client by
// CircleCILookups): with them the organization is chosen from the token's
// organizations and projects from the organization's list or by slug;
// without them (no token) IDs are typed.
// Forms render on Options.Out, which the command sets to stderr, so that
// stdout carries only the result. In accessible mode (huh's plain line
// prompts for screen readers and dumb terminals) the same questions are
// asked in the same order.
package wizard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/charmbracelet/huh"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Identity is the AWS identity the tool acts as, as sts:GetCallerIdentity
// reports it.
type Identity = provision.Identity

// Deps are the AWS look-ups the wizard needs, injected by the caller.
type Deps struct {
	// Identity returns the caller's identity. It is called first; its error
	// ends the wizard before any question.
	Identity func(ctx context.Context) (Identity, error)
	// ListRepositories returns the names of the ECR repositories of the
	// caller's account in region, every page. An error does not end the
	// wizard: it is shown, and names are typed instead.
	ListRepositories func(ctx context.Context, region string) ([]string, error)
	// CircleCI, when set (an API token was found), lets the organization
	// be chosen from a list and projects be named by slug or chosen from
	// the organization's list; nil asks for IDs.
	CircleCI *CircleCI
}

// Given says which Spec fields came from flags. Their questions are not
// asked and their values are kept as they are.
type Given struct {
	OrgID        bool // --org-id
	Repositories bool // --repo
	// Access is an explicit --access (its default, pull, does not count).
	Access bool
	// Projects is --project-id or --all-projects.
	Projects         bool
	ProjectCondition bool // --project-condition
	RoleName         bool // --role-name
	Region           bool // --region
	Image            bool // --image
}

// Options are the streams the wizard talks on and how.
type Options struct {
	// In is read for answers; a terminal's *os.File in the command.
	In io.Reader
	// Out receives the forms and every message; stderr in the command.
	Out io.Writer
	// Accessible selects huh's accessible mode: one plain prompt per line,
	// no redrawing.
	Accessible bool
	// Profile describes the AWS profile in use, shown as is with the AWS
	// context, such as "dev (from --profile)"; empty means the SDK's
	// default credential chain.
	Profile string
}

// Wizard asks the questions. Create it with New; it is not safe for
// concurrent use.
type Wizard struct {
	deps       Deps
	in         io.Reader
	lines      *eofReader
	out        io.Writer
	accessible bool
	profile    string
	theme      *huh.Theme
	keys       *huh.KeyMap
	cache      projectCache
}

// New returns a wizard. A nil Options.In or Options.Out means no input or
// discarded output.
func New(deps Deps, opts Options) *Wizard {
	in := cmp.Or[io.Reader](opts.In, strings.NewReader(""))
	return &Wizard{
		deps:       deps,
		in:         in,
		lines:      &eofReader{r: in},
		out:        cmp.Or[io.Writer](opts.Out, io.Discard),
		accessible: opts.Accessible,
		profile:    opts.Profile,
		theme:      huh.ThemeCharm(),
		keys:       huh.NewDefaultKeyMap(),
	}
}

const (
	// pickerRows is how many repositories the picker shows at a time.
	pickerRows = 12
	// accessibleListMax is the largest list read out as numbered options in
	// accessible mode; beyond it names are typed, since a screen reader
	// user cannot skim thousands of lines.
	accessibleListMax = 50
)

// Fill asks for every field of spec that given does not mark as set, in the
// order: AWS context (shown) and region, organization ID, repositories, what
// jobs may do with them (pull or push), who may assume the role, role name,
// image. It returns spec with the answers;
// fields that were given are unchanged. The result passes Spec.Validate.
// It returns ErrAborted when the person quits, and makes no AWS call other
// than through Deps.
func (w *Wizard) Fill(ctx context.Context, spec provision.Spec, given Given) (provision.Spec, error) {
	id, err := w.deps.Identity(ctx)
	if err != nil {
		return spec, fmt.Errorf("read caller identity: %w", err)
	}
	w.printContext(id, spec.Region, given.Region)

	steps := []struct {
		skip bool
		ask  func(context.Context, *provision.Spec, Identity, Given) error
	}{
		{given.Region, w.askRegion},
		{given.OrgID, w.askOrgID},
		{given.Repositories, w.askRepositories},
		{given.Access, w.askAccess},
		{given.Projects && (given.ProjectCondition || spec.AllProjects), w.askProjects},
		{given.RoleName, w.askRoleName},
		{given.Image, w.askImage},
	}
	for _, s := range steps {
		if s.skip {
			continue
		}
		if err := s.ask(ctx, &spec, id, given); err != nil {
			return spec, err
		}
	}
	valid, err := spec.Validate()
	if err != nil {
		return spec, fmt.Errorf("check the answers: %w", err)
	}
	// Flags given with the wizard were checked before the caller's
	// partition was known.
	if err := valid.CheckPartition(id.Partition, "caller "+id.ARN); err != nil {
		return spec, fmt.Errorf("check the answers: %w", err)
	}
	return spec, nil
}

func (w *Wizard) printContext(id Identity, region string, regionGiven bool) {
	profile := cmp.Or(w.profile, "default credential chain (change with --profile)")
	regionNote := "(from --region)"
	switch {
	case !regionGiven && region != "":
		regionNote = "(from the environment or profile; confirm or change it below)"
	case !regionGiven:
		regionNote = "(none configured; choose one below)"
	}
	quit := "Esc or Ctrl-C quits"
	if w.accessible {
		quit = "Ctrl-C or Ctrl-D quits"
	}
	fmt.Fprintf(w.out, "circleci-ecr-oidc setup: nothing is written until you confirm the plan. %s.\n\n", quit)
	fmt.Fprintf(w.out, "AWS account  %s (partition %s)\n", id.Account, id.Partition)
	fmt.Fprintf(w.out, "Acting as    %s\n", id.ARN)
	fmt.Fprintf(w.out, "Profile      %s\n", profile)
	fmt.Fprintf(w.out, "Region       %s %s\n\n", cmp.Or(region, "-"), regionNote)
}

// answered records an answer on screen. The redrawing forms vanish once
// submitted, so without this line the screen would not show what was
// chosen; accessible mode keeps its prompts and needs no echo.
func (w *Wizard) answered(label, value string) {
	if !w.accessible {
		fmt.Fprintf(w.out, "✓ %-16s %s\n", label, value)
	}
}

// input returns a text field. In accessible mode huh prints only a field's
// title, so the description goes before it as a note.
func (w *Wizard) input(title, description string, value *liveText, validate func(string) error) []huh.Field {
	in := huh.NewInput().Title(title).Accessor(value).Validate(validate)
	in.WithTheme(w.theme)
	if w.accessible {
		return []huh.Field{huh.NewNote().Description(description), in}
	}
	return []huh.Field{in.Description(description)}
}

func (w *Wizard) askRegion(ctx context.Context, spec *provision.Spec, _ Identity, _ Given) error {
	current := spec.Region
	value := &liveText{Value: current}
	fields := w.input("AWS region of the repositories",
		"The ECR repositories are listed from this region; the role and provider are global."+keeps(current),
		value, func(s string) error {
			s = strings.TrimSpace(s)
			if s == "" && current != "" {
				return nil
			}
			return fieldError(provision.ValidateRegion(provision.FieldRegion, s))
		})
	if err := w.run(ctx, huh.NewGroup(fields...)); err != nil {
		return err
	}
	spec.Region = cmp.Or(strings.TrimSpace(value.Get()), current)
	w.answered("Region", spec.Region)
	return nil
}

const orgHint = "CircleCI → Organization Settings → Overview → Organization ID. Not a project ID, and not the VCS slug such as gh/acme."

func checkOrgID(s string) error {
	_, err := provision.ValidateUUID(provision.FieldOrgID, s)
	return fieldError(err)
}

func (w *Wizard) askOrgID(ctx context.Context, spec *provision.Spec, _ Identity, _ Given) error {
	if w.deps.CircleCI != nil {
		if picked, err := w.pickOrg(ctx, spec); picked || err != nil {
			return err
		}
	}
	value := &liveText{Value: spec.OrgID}
	in := huh.NewInput().
		Title("CircleCI organization ID").
		Placeholder("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx").
		Accessor(value).
		Validate(checkOrgID)
	in.WithTheme(w.theme)
	var fields []huh.Field
	if w.accessible {
		fields = []huh.Field{huh.NewNote().Description(orgHint), in}
	} else {
		// Validate as the person types: huh checks a field only on Enter,
		// but a description function is re-evaluated whenever the bound
		// value changes.
		status := value.status(orgHint, orgVerdict)
		// The static description sizes the form before the function has
		// first run.
		in.Description(status()).DescriptionFunc(status, value)
		fields = []huh.Field{in}
	}
	if err := w.run(ctx, huh.NewGroup(fields...)); err != nil {
		return err
	}
	id, err := provision.ValidateUUID(provision.FieldOrgID, value.Get())
	if err != nil {
		return err
	}
	spec.OrgID = id
	w.answered("Organization", id)
	return nil
}

func (w *Wizard) askRepositories(ctx context.Context, spec *provision.Spec, id Identity, _ Given) error {
	fmt.Fprintf(w.out, "Listing ECR repositories in %s...\n", spec.Region)
	names, err := w.deps.ListRepositories(ctx, spec.Region)
	var known map[string]bool
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		fmt.Fprintf(w.out, "Could not list the repositories (%v); type their names below.\n", err)
	default:
		known = make(map[string]bool, len(names))
		for _, n := range names {
			known[n] = true
		}
		fmt.Fprintf(w.out, "Found %d repositories in %s.\n", len(names), spec.Region)
	}
	names = slices.Sorted(slices.Values(names))
	usePicker := len(names) > 0 && (!w.accessible || len(names) <= accessibleListMax)
	if w.accessible && len(names) > accessibleListMax {
		fmt.Fprintf(w.out, "That is too many to read out; type names, or name prefixes such as team/*.\n")
	}

	for {
		var picked []string
		typed := &liveText{}
		var groups []*huh.Group
		if usePicker {
			groups = append(groups, huh.NewGroup(w.picker(names, &picked)))
		}
		typedTitle := "Other repositories (optional)"
		if !usePicker {
			typedTitle = "ECR repositories the role may pull from"
		}
		groups = append(groups, huh.NewGroup(w.input(typedTitle,
			"Names, full repository ARNs (other accounts or regions) or prefixes ending in /*, separated by commas or spaces.",
			typed, func(s string) error {
				repos, err := parseRepositories(s, known, id, spec.Region, spec.AllowMissingRepos)
				if err != nil {
					return err
				}
				// In accessible mode the whole step is asked again instead,
				// so that the list can be chosen from again.
				switch {
				case w.accessible || len(picked)+len(repos) > 0:
				case usePicker:
					return errors.New("choose at least one repository above (shift+tab goes back), or type one")
				default:
					return errors.New("enter at least one repository")
				}
				return nil
			})...))
		if err := w.run(ctx, groups...); err != nil {
			return err
		}
		repos, err := parseRepositories(typed.Get(), known, id, spec.Region, spec.AllowMissingRepos)
		if err != nil {
			return err
		}
		var all []string
		for _, r := range slices.Concat(picked, repos) {
			if !slices.Contains(all, r) {
				all = append(all, r)
			}
		}
		if len(all) > 0 {
			spec.Repositories = all
			break
		}
		fmt.Fprintln(w.out, "Choose at least one repository.")
	}
	w.answered("Repositories", strings.Join(spec.Repositories, ", "))
	return nil
}

// picker returns the repository multi-select over names: huh's own in
// accessible mode, where lists are short, else the picker that stays quick
// with thousands of names.
func (w *Wizard) picker(names []string, picked *[]string) huh.Field {
	return w.listPicker("ECR repositories the role may pull from",
		"x or space selects, / filters, enter continues; you can also type names on the next screen.", names, picked)
}

// listPicker is a filterable multi-select over names.
func (w *Wizard) listPicker(title, description string, names []string, picked *[]string) huh.Field {
	if w.accessible {
		opts := make([]huh.Option[string], len(names))
		for i, n := range names {
			opts[i] = huh.NewOption(n, n)
		}
		return huh.NewMultiSelect[string]().Title(title).Options(opts...).Value(picked)
	}
	p := newPicker(title, description, names, pickerRows, picked)
	p.WithTheme(w.theme)
	return p
}

// parseRepositories splits typed repositories and checks each. An ARN in
// another partition than the caller's is refused, as the plan would refuse
// it. With known (the listed names of the region), a plain name of this
// account and region that does not exist is refused unless missing
// repositories are allowed, as the plan would refuse it after every other
// question.
func parseRepositories(s string, known map[string]bool, id Identity, region string, allowMissing bool) ([]string, error) {
	var out []string
	for _, v := range splitList(s) {
		r, err := provision.ParseRepository(v)
		if err != nil {
			return nil, fieldError(err)
		}
		if err := (provision.Spec{Repositories: []string{v}}).CheckPartition(id.Partition, "caller "+id.ARN); err != nil {
			return nil, fieldError(err)
		}
		local := r.Local(id.Account) && (r.Region == "" || r.Region == region)
		if known != nil && !allowMissing && !r.Pattern && local && !known[r.Name] {
			return nil, fmt.Errorf("%s: no such repository in %s; create it first, or rerun with --allow-missing-repos", v, region)
		}
		if !slices.Contains(out, r.Input) {
			out = append(out, r.Input)
		}
	}
	return out, nil
}

const (
	scopeProjects = "projects"
	scopeOrg      = "org"
)

// askAccess asks whether the role only pulls (the default, all a docker
// executor's aws_auth needs) or also pushes.
func (w *Wizard) askAccess(ctx context.Context, spec *provision.Spec, _ Identity, _ Given) error {
	access := cmp.Or(spec.Access, policy.AccessPull)
	sel := huh.NewSelect[policy.Access]()
	sel.WithTheme(w.theme)
	sel.Title("What may CircleCI jobs do with these repositories?").
		Options(
			huh.NewOption("Pull: ecr:BatchGetImage and ecr:GetDownloadUrlForLayer, all a docker executor image needs (recommended)", policy.AccessPull),
			huh.NewOption("Pull and push: adds ECR's five push actions, for jobs that build and push images (the snippet becomes the aws-ecr orb's build_and_push_image job)", policy.AccessPush),
		).
		Value(&access)
	if err := w.run(ctx, huh.NewGroup(sel)); err != nil {
		return err
	}
	spec.Access = access
	w.answered("Access", string(access))
	return nil
}

func (w *Wizard) askProjects(ctx context.Context, spec *provision.Spec, id Identity, given Given) error {
	if !given.Projects {
		scope := scopeProjects
		sel := huh.NewSelect[string]()
		sel.WithTheme(w.theme)
		sel.Title("Who may assume the role?").
			Options(
				huh.NewOption("Specific projects: only the projects you list can pull these images (recommended)", scopeProjects),
				huh.NewOption("Whole organization: every project, including future ones, can pull these images", scopeOrg),
			).
			Value(&scope).
			Validate(func(s string) error {
				if s == scopeOrg && spec.ProjectCondition == policy.ClaimKey {
					return errors.New("--project-condition claim names projects; the whole organization is restricted by sub")
				}
				return nil
			})
		if err := w.run(ctx, huh.NewGroup(sel)); err != nil {
			return err
		}
		if scope == scopeOrg {
			spec.AllProjects, spec.ProjectIDs = true, nil
			w.answered("Who may assume", "every project of the organization")
			return nil
		}
	}

	var groups []*huh.Group
	var answer func() error
	if !given.Projects {
		var err error
		if groups, answer, err = w.projectGroups(ctx, spec); err != nil {
			return err
		}
	}
	// The preselected form is the partition's default: the claim key where
	// AWS documents it, sub elsewhere (policy.DefaultProjectCondition).
	cond := cmp.Or(spec.ProjectCondition, policy.DefaultProjectCondition(id.Partition))
	if !given.ProjectCondition {
		sel := huh.NewSelect[policy.ProjectCondition]()
		sel.WithTheme(w.theme)
		sel.Title("Advanced: how the trust policy names the projects").
			Options(
				huh.NewOption("claim: oidc.circleci.com/project-id equals the IDs (recommended by CircleCI; about 40 characters per project)", policy.ClaimKey),
				huh.NewOption("sub: org/<org>/project/<id>/user/* (matches V1 and V2 tokens; longer, so fewer projects fit)", policy.Sub),
			).
			Value(&cond)
		groups = append(groups, huh.NewGroup(sel))
	}
	if err := w.run(ctx, groups...); err != nil {
		return err
	}
	if !given.Projects {
		if err := answer(); err != nil {
			return err
		}
	}
	if !given.ProjectCondition {
		spec.ProjectCondition = cond
		w.answered("Condition", string(cond))
	}
	return nil
}

// projectGroups returns the groups that ask for the projects, and the
// function that stores the answer in spec: typed IDs, or with CircleCI
// slugs or IDs checked with CircleCI and, where CircleCI lists them, the
// organization's projects to choose from.
func (w *Wizard) projectGroups(ctx context.Context, spec *provision.Spec) ([]*huh.Group, func() error, error) {
	withCircleCI := w.deps.CircleCI != nil
	var names []string
	var labels map[string]Project
	if withCircleCI {
		projects, err := w.listProjects(ctx, spec.OrgID)
		if err != nil {
			return nil, nil, err
		}
		names, labels = projectLabels(projects)
	}
	var groups []*huh.Group
	var picked []string
	usePicker := len(names) > 0 && (!w.accessible || len(names) <= accessibleListMax)
	if usePicker {
		groups = append(groups, huh.NewGroup(w.listPicker("CircleCI projects that may assume the role",
			"x or space selects, / filters, enter continues; you can also type slugs or IDs on the next screen.", names, &picked)))
	}
	title, hint := "CircleCI project IDs", "CircleCI → Project Settings → Overview → Project ID. Separate several with commas or spaces."
	if withCircleCI {
		title, hint = "CircleCI projects", "Project slugs such as gh/acme/app, checked with CircleCI on Enter, or project IDs (Project Settings → Overview). Separate several with commas or spaces."
	}
	if usePicker {
		title = "Other CircleCI projects (optional)"
	}
	typed := &liveText{Value: strings.Join(spec.ProjectIDs, ", ")}
	check := func(s string) error {
		if !withCircleCI {
			_, err := parseProjects(s, spec.OrgID)
			return err
		}
		_, _, err := w.resolveProjects(ctx, spec, picked, labels, s)
		return err
	}
	in := huh.NewInput().Title(title).Accessor(typed).Validate(check)
	in.WithTheme(w.theme)
	if w.accessible {
		groups = append(groups, huh.NewGroup(huh.NewNote().Description(hint), in))
	} else {
		status := typed.status(hint, projectsVerdict(spec.OrgID, withCircleCI))
		in.Description(status()).DescriptionFunc(status, typed)
		groups = append(groups, huh.NewGroup(in))
	}
	answer := func() error {
		if !withCircleCI {
			list, err := parseProjects(typed.Get(), spec.OrgID)
			if err != nil {
				return err
			}
			spec.ProjectIDs, spec.AllProjects = list, false
			w.answered("Projects", strings.Join(list, ", "))
			return nil
		}
		ids, slugs, err := w.resolveProjects(ctx, spec, picked, labels, typed.Get())
		if err != nil {
			return err
		}
		spec.ProjectIDs, spec.AllProjects, spec.Names.Projects = ids, false, slugs
		shown := make([]string, len(ids))
		for i, id := range ids {
			shown[i] = spec.ProjectLabel(id)
		}
		w.answered("Projects", strings.Join(shown, ", "))
		return nil
	}
	return groups, answer, nil
}

// parseProjects splits and checks project IDs; at least one is required.
func parseProjects(s, orgID string) ([]string, error) {
	var out []string
	for _, v := range splitList(s) {
		id, err := provision.ValidateUUID(provision.FieldProjectID, v)
		if err != nil {
			return nil, fieldError(err)
		}
		if id == orgID {
			return nil, fmt.Errorf("%s is the organization ID; a project ID is on Project Settings → Overview", v)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("enter at least one project ID")
	}
	return out, nil
}

func (w *Wizard) askRoleName(ctx context.Context, spec *provision.Spec, _ Identity, _ Given) error {
	def := cmp.Or(spec.RoleName, provision.DefaultRoleName)
	value := &liveText{Value: def}
	fields := w.input("IAM role name",
		"The role CircleCI assumes. An existing role of that name is changed only if circleci-ecr-oidc created it (or with --adopt)."+keeps(def),
		value, func(s string) error {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil // keeps the default
			}
			return fieldError(provision.ValidateRoleName(provision.FieldRoleName, s))
		})
	if err := w.run(ctx, huh.NewGroup(fields...)); err != nil {
		return err
	}
	spec.RoleName = cmp.Or(strings.TrimSpace(value.Get()), def)
	w.answered("Role name", spec.RoleName)
	return nil
}

func (w *Wizard) askImage(ctx context.Context, spec *provision.Spec, id Identity, _ Given) error {
	def := defaultImage(spec.Repositories, id, spec.Region)
	value := &liveText{Value: spec.Image}
	description := "Leave empty for " + def + "."
	if def == "" {
		description = "Required: every repository is a prefix/* pattern. For example " + id.Account + ".dkr.ecr." + spec.Region + ".amazonaws.com/team/app:latest"
	}
	fields := w.input("Image for the config.yml snippet", description, value, func(s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			if def == "" {
				return errors.New("name the image the snippet should pull")
			}
			return nil
		}
		return checkImage(s, spec.Repositories, id, spec.Region)
	})
	if !w.accessible && def != "" {
		fields[len(fields)-1].(*huh.Input).Placeholder(def)
	}
	if err := w.run(ctx, huh.NewGroup(fields...)); err != nil {
		return err
	}
	spec.Image = strings.TrimSpace(value.Get())
	w.answered("Image", cmp.Or(spec.Image, def))
	return nil
}

// defaultImage is the image the plan uses when none is given: the first
// named (not pattern) repository at :latest. It is shown so that the
// person knows what Enter keeps.
func defaultImage(repos []string, id Identity, region string) string {
	for _, in := range repos {
		r, err := provision.ParseRepository(in)
		if err != nil || r.Pattern {
			continue
		}
		partition := cmp.Or(r.Partition, id.Partition)
		domain := "amazonaws.com"
		if partition == "aws-cn" {
			domain = "amazonaws.com.cn"
		}
		return provision.Image{
			Account: cmp.Or(r.Account, id.Account), Region: cmp.Or(r.Region, region),
			Domain: domain, Repository: r.Name, Tag: "latest",
		}.String()
	}
	return ""
}

// checkImage refuses an image the role could not pull, which the plan
// would refuse after the review.
func checkImage(s string, repos []string, id Identity, region string) error {
	img, err := provision.ParseImage(provision.FieldImage, s)
	if err != nil {
		return fieldError(err)
	}
	if err := (provision.Spec{Image: s}).CheckPartition(id.Partition, "caller "+id.ARN); err != nil {
		return fieldError(err)
	}
	target := img.RepositoryARN(id.Partition)
	for _, in := range repos {
		r, err := provision.ParseRepository(in)
		if err != nil {
			continue
		}
		arn := r.ARN(id.Partition, id.Account, region)
		if prefix, ok := strings.CutSuffix(arn, "*"); ok && strings.HasPrefix(target, prefix) || arn == target {
			return nil
		}
	}
	return fmt.Errorf("the role could not pull it: its repository %s is not among the chosen repositories", img.Repository)
}

// keeps tells what an empty answer keeps, which accessible mode does not
// show by itself.
func keeps(def string) string {
	if def == "" {
		return ""
	}
	return " Enter keeps " + def + "."
}

// splitList splits on commas and white space, as people paste lists.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// fieldError shortens an *provision.InputError for display under a field,
// where the field name would only confuse.
func fieldError(err error) error {
	var in *provision.InputError
	if !errors.As(err, &in) {
		return err
	}
	if in.Value == "" || in.Field == provision.FieldOrgID || in.Field == provision.FieldRegion || in.Field == provision.FieldRoleName {
		return errors.New(in.Rule)
	}
	return fmt.Errorf("%s: %s", in.Value, in.Rule)
}

// liveText is a field value that a description function may read while the
// form updates it: huh evaluates description functions in a goroutine of
// its own. Value is exported only because huh notices changes by hashing
// the exported fields of the bound value; it is written only by Set.
type liveText struct {
	mu    sync.Mutex
	Value string
}

// Get returns the value.
func (t *liveText) Get() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Value
}

// Set stores the value.
func (t *liveText) Set(v string) {
	t.mu.Lock()
	t.Value = v
	t.mu.Unlock()
}

// status returns a description that says, as the person types, whether the
// value is valid yet. The verdict must stay one short line: huh sizes a
// form once, so a description that grows pushes the input out of view.
func (t *liveText) status(hint string, verdict func(string) (string, bool)) func() string {
	return func() string {
		v := strings.TrimSpace(t.Get())
		if v == "" {
			return hint + "\n  Paste or type it."
		}
		msg, ok := verdict(v)
		if ok {
			return hint + "\n✓ " + msg
		}
		return hint + "\n✗ " + msg
	}
}

func orgVerdict(v string) (string, bool) {
	if checkOrgID(v) != nil {
		return "not a UUID yet: 8-4-4-4-12 hex digits", false
	}
	return "a valid UUID", true
}

// projectsVerdict judges typed project IDs as they are typed; with slugs,
// a value with a slash is a slug that CircleCI checks on Enter.
func projectsVerdict(orgID string, slugs bool) func(string) (string, bool) {
	return func(s string) (string, bool) {
		var ids []string
		for _, v := range splitList(s) {
			id, err := provision.ValidateUUID(provision.FieldProjectID, v)
			switch {
			case err != nil && slugs && strings.Count(v, "/") == 2:
				id = v
			case err != nil && slugs:
				return shorten(v) + " is not a slug (gh/acme/app) or a UUID yet", false
			case err != nil:
				return shorten(v) + " is not a UUID yet", false
			case id == orgID:
				return shorten(v) + " is the organization ID, not a project ID", false
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if slugs {
			return fmt.Sprintf("%d project(s); slugs are checked with CircleCI on Enter", len(ids)), true
		}
		return fmt.Sprintf("%d valid project ID(s)", len(ids)), true
	}
}

// shorten keeps a verdict on one line however long the input.
func shorten(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
