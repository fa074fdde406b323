package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// applyConfig fills every flag the user did not set on the command line from
// PARLEY_<FLAG_NAME> in the environment, then from the YAML file (keys are
// the flag names). Precedence: flag > environment > file > default.
func applyConfig(fs *pflag.FlagSet, file string) error {
	values := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if err := yaml.Unmarshal(b, &values); err != nil {
			return fmt.Errorf("config %s: %w", file, err)
		}
		for k := range values {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("config %s: unknown setting %q (settings are the serve flags' names)", file, k)
			}
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		env := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
			return
		}
		if v, ok := values[f.Name]; ok {
			s := fmt.Sprint(v)
			if v == nil {
				s = ""
			}
			if e := f.Value.Set(s); e != nil {
				err = fmt.Errorf("config %s: %s: %w", file, f.Name, e)
			}
		}
	})
	return err
}
