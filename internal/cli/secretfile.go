package cli

import (
	"fmt"
	"os"

	"github.com/licet/licet/internal/secretfile"
)

// secretFlag is a flag that carries a secret (a database URL with its
// password, an SMTP URL with its credentials) and its -file variant: the
// value on the command line shows in ps and in shell history, the file does
// not. Both also come from the environment (LICET_DATABASE,
// LICET_DATABASE_FILE), as the token flags do.
type secretFlag struct {
	name        string
	value, file *string
}

// resolve reads the file variant into the value when it is given, and says
// (warning) when that file is readable by group or others. That is a
// warning, not a refusal: Docker secrets are 0444 inside their container.
func (f secretFlag) resolve() (warning string, err error) {
	if *f.file == "" {
		return "", nil
	}
	if *f.value != "" {
		return "", usagef("give --%s or --%s-file, not both", f.name, f.name)
	}
	v, err := secretfile.Read(*f.file)
	if err != nil {
		return "", usagef("--%s-file: %v", f.name, err)
	}
	*f.value = v
	if fi, err := os.Stat(*f.file); err == nil && fi.Mode().Perm()&0o044 != 0 {
		warning = fmt.Sprintf("--%s-file %s is readable by group or others (mode %04o): chmod 600 %s", f.name, *f.file, fi.Mode().Perm(), *f.file)
	}
	return warning, nil
}
