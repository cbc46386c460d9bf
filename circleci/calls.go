package circleci

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Call is one CircleCI API request the tool makes: which endpoint, with
// which credential, why and when, and what the token's user must be allowed
// for it. Every call is a GET.
type Call struct {
	Method string `json:"method"`
	// Endpoint is the path with its parameters in braces, as CircleCI's API
	// reference writes it: /api/v2/project/{project-slug}.
	Endpoint string `json:"endpoint"`
	// Query holds the query parameters, if any; page[cursor] is sent from
	// the second page on.
	Query string `json:"query,omitempty"`
	// Auth is how the request carries the token.
	Auth string `json:"auth"`
	Why  string `json:"why"`
	When string `json:"when"`
	// Needs is what the token's user must be allowed.
	Needs string `json:"needs"`
}

// Authentication schemes of the calls, as Call.Auth names them.
const (
	AuthCircleTokenHeader = "Circle-Token header"
	AuthBearerHeader      = "Authorization: Bearer"
)

// TokenRequirement says which token the calls take and where the tool finds
// it (LoadCredentials).
const TokenRequirement = "a personal API token (User Settings > Personal API Tokens); project API tokens are not accepted. " +
	"The tool takes the first of CIRCLE_TOKEN, CIRCLECI_CLI_TOKEN, CIRCLE_CLI_TOKEN, token: in $XDG_CONFIG_HOME/circleci/config.yml " +
	"and token: in ~/.circleci/cli.yml. It acts as its user and only reads: no call changes anything, and no admin role is needed."

// Calls lists every CircleCI API call the tool makes, in the order a run
// makes them. Keep it in step with the Client's methods: a test runs
// Resolve and ListProjects against the stand-in and checks that each
// request it sees is listed here with its credential.
var Calls = []Call{
	{
		Method: "GET", Endpoint: "/api/v2/me/collaborations", Auth: AuthCircleTokenHeader,
		Why:   "find the organization ID behind an organization slug (gh/acme) or name, among the organizations the token's user belongs to",
		When:  "when the organization is given as a slug or a name, not as its ID; and in the setup wizard, to offer the organizations to choose from",
		Needs: "the token's user is a member of the organization",
	},
	{
		Method: "GET", Endpoint: "/api/v2/project/{project-slug}", Auth: AuthCircleTokenHeader,
		Why:   "find a project's ID, and its organization's ID to check it belongs to the organization being set up",
		When:  "for each project given as a slug (gh/acme/app, circleci/<org>/<project>), not as its ID, as a flag or typed in the setup wizard",
		Needs: "the token's user can see the project (read access to its repository); CircleCI answers 404 both for a project that does not exist and for one the user cannot see",
	},
	{
		Method: "GET", Endpoint: "/api/v2/org/{org-id}/oidc-custom-claims", Auth: AuthCircleTokenHeader,
		Why:   "read the audience the organization's token settings give its jobs' OIDC tokens, which the IAM provider and the trust policy must admit",
		When:  "on every run that has a token, even when every value is an ID",
		Needs: "the token's user is a member of the organization (reading the settings needs no admin role; only changing them does, which the tool never does)",
	},
	{
		Method: "GET", Endpoint: "/api/v2/org/{org-id}/project/{project-id}/oidc-custom-claims", Auth: AuthCircleTokenHeader,
		Why:   "read the audience a project's token settings give its jobs' OIDC tokens",
		When:  "for each project, on every run that has a token",
		Needs: "the token's user can see the project",
	},
	{
		Method: "GET", Endpoint: "/api/v3/projects", Query: "filter[org_id]={org-id}&page[cursor]={page.next}", Auth: AuthBearerHeader,
		Why:   "list the organization's projects to choose from",
		When:  "only in the setup wizard, to offer the organization's projects; API v3, which takes only a Bearer token, is on CircleCI cloud only, so a server install answers 404 and the wizard asks for slugs or IDs instead",
		Needs: "the token's user is a member of the organization; the list holds the projects the user can see",
	},
}

// WriteCallsText writes Calls for people: the token they take, then each
// call with why, when and what the token needs.
func WriteCallsText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "CircleCI API calls circleci-ecr-oidc makes (all GET, reads only).\n\nToken: %s\n", TokenRequirement)
	for _, c := range Calls {
		endpoint := c.Endpoint
		if c.Query != "" {
			endpoint += "?" + c.Query
		}
		fmt.Fprintf(&b, "\n%s %s\n", c.Method, endpoint)
		fmt.Fprintf(&b, "  auth   %s\n  why    %s\n  when   %s\n  needs  %s\n", c.Auth, c.Why, c.When, c.Needs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCallsJSON writes Calls as one JSON object, {"token": ..., "calls":
// [...]}, indented.
func WriteCallsJSON(w io.Writer) error {
	// Written as read: "<org>" and "&page" unescaped, as the tool's
	// other JSON is.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Token string `json:"token"`
		Calls []Call `json:"calls"`
	}{TokenRequirement, Calls}); err != nil {
		return fmt.Errorf("write the CircleCI API calls: %w", err)
	}
	return nil
}
