#!/usr/bin/env bash
# Writes the release notes of one release, its section of CHANGELOG.md (Keep
# a Changelog format), to OUT. The release build (.goreleaser.yaml) runs it.
#
#   release-notes.sh VERSION OUT     the section "## [VERSION] - date"; fails
#                                    when there is none, or it is empty, so a
#                                    tag cannot ship without its entry
#   release-notes.sh --snapshot OUT  the newest section with entries
#                                    ("Unreleased" if it has any)
#
# The heading itself and the link definitions at the end are left out.
# CHANGELOG (default CHANGELOG.md) names another file, for tests.
set -euo pipefail
if [ $# -ne 2 ]; then
	echo "usage: $0 VERSION|--snapshot OUT" >&2
	exit 2
fi
want=${1#v}
out=$2
changelog=${CHANGELOG:-CHANGELOG.md}
notes=$(awk -v want="$want" '
	/^## \[/ {
		name = $0
		sub(/^## \[/, "", name)
		sub(/\].*/, "", name)
		n++
		names[n] = name
		next
	}
	/^\[[^]]+\]: / { next }
	n > 0 { body[n] = body[n] $0 "\n" }
	END {
		for (i = 1; i <= n; i++) {
			text = body[i]
			sub(/^[ \t\n]+/, "", text)
			sub(/[ \t\n]+$/, "", text)
			if ((want == "--snapshot" && text != "") || names[i] == want) {
				if (text == "") {
					exit 3
				}
				print text
				exit 0
			}
		}
		exit 4
	}
' "$changelog") || {
	case $? in
	3) echo "release-notes: the section [$want] of $changelog is empty: add the release's entries" >&2 ;;
	4) echo "release-notes: $changelog has no section [$want] with entries: add '## [$want] - YYYY-MM-DD' with the release's changes" >&2 ;;
	*) echo "release-notes: read $changelog failed" >&2 ;;
	esac
	exit 1
}
mkdir -p "$(dirname "$out")"
printf '%s\n' "$notes" >"$out"
