package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/anb-showcase/anb/"

// allowed lists, for each package, the project packages it may import.
// Test files are not checked: tests may reach across layers.
var allowed = map[string][]string{
	"cmd/anb":                {"activities", "api", "bridge", "db", "devstack", "media", "outbox", "storage", "videocheck", "workflows"},
	"cmd/anb-broker":         {"devstack"},
	"api":                    {"db", "storage", "videocheck", "workflows"},
	"bridge":                 {"workflows"},
	"outbox":                 {"db"},
	"workflows":              {"activities"},
	"activities":             {"db", "storage", "media"},
	"media":                  {},
	"media/internal/genlogo": {},
	"videocheck":             {},
	"db":                     {},
	"storage":                {},
	"devstack":               {},
	"faults":                 {},
	"internal/archtest":      {},
	"internal/testenv":       {"db", "devstack", "storage", "workflows"},
	"internal/testvideo":     {},
}

func TestImportsFollowTheArchitecture(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	dec := json.NewDecoder(&out)
	seen := 0
	for {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		name := strings.TrimPrefix(pkg.ImportPath, module)
		may, known := allowed[name]
		if !known {
			t.Errorf("package %s is not in the architecture's table: add it with the imports it may use", name)
			continue
		}
		for _, imp := range pkg.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if ok && !slices.Contains(may, dep) {
				t.Errorf("%s imports %s, against the architecture (it may import %v)", name, dep, may)
			}
		}
	}
	if seen < len(allowed)/2 {
		t.Fatalf("go list reported only %d packages", seen)
	}
}
