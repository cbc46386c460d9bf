package circleciconfig

import (
	"errors"
	"fmt"
	"os"
)

// CheckFile reads path and checks it as Check does, so that a command can
// reject an unreadable or unparseable file before it changes anything
// elsewhere. Its error is the rule the file breaks, without the path, which
// the caller shows with it: "cannot be read: why", or Check's error.
func CheckFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot be read: %s", pathErrReason(err))
	}
	return Check(src)
}

// pathErrReason is the reason of a file error without the path.
func pathErrReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
