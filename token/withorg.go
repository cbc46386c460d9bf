package token

import "strings"

// WithOrg adds org-id=<org> to --claims unless the claims already say which
// organization the token is from (org-id, iss or sub), so that a what-if
// check needs only the claims it asks about: FromKeyValues derives iss, aud
// and sub from the org the way CircleCI fills them.
func WithOrg(claims, org string) string {
	for pair := range strings.SplitSeq(claims, ",") {
		key, _, _ := strings.Cut(pair, "=")
		switch strings.TrimSpace(key) {
		case "org-id", ClaimOrgID, "iss", "sub":
			return claims
		}
	}
	return "org-id=" + org + "," + claims
}
