// Package circleci owns talking to CircleCI's API: it parses the slugs a
// person types (gh/acme/app, circleci/<org>/<project>), finds the API token
// and host the way CircleCI's own CLI does, and resolves organization and
// project names to the UUIDs the IAM trust policy needs, together with the
// token audiences the organization's jobs will carry.
//
// [Resolve] is the one entry point for the command layer: it turns the
// organization and project values a person gave (IDs, slugs or an
// organization name) into IDs and reads the token audiences their jobs
// carry, with no request at all when every value is an ID and there is no
// token.
//
// Every request is a GET: the tool only reads from CircleCI. Errors are typed
// so that the command layer can map a malformed value to its flag and exit
// status 2 ([SlugError], [HostError], [MissingTokenError],
// [TokenRequiredError], [OrgConflictError]) and tell the
// API's answers apart ([AuthError], [NotFoundError], [OrgNotFoundError],
// [AmbiguousOrgError], [APIError], [UnavailableError], [ConnectionError]);
// each one says what a person can do about it. The token never appears in an error, a log line or
// the String, GoString or JSON form of [Credentials].
//
// Calls and permissions are listed in docs/circleci-api.md.
package circleci
