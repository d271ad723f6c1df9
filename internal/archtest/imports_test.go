package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/anb-showcase/anb/"

// allowed lists, for each package, the project packages it may import
// directly. Test files are not checked: tests may reach across layers.
var allowed = map[string][]string{
	"cmd/anb":                {"activities", "api", "bridge", "connect", "db", "devstack", "media", "outbox", "processing", "reconcile", "storage", "telemetry", "videocheck", "workers", "workflows"},
	"cmd/anb-broker":         {"devstack"},
	"api":                    {"db", "processing", "storage", "videocheck", "web"},
	"bridge":                 {"processing"},
	"outbox":                 {"db"},
	"workflows":              {"activities", "processing"},
	"activities":             {"db", "media", "processing", "storage"},
	"workers":                {"activities", "processing", "workflows"},
	"reconcile":              {"workflows"},
	"telemetry":              {},
	"connect":                {},
	"processing":             {},
	"media":                  {},
	"media/internal/genlogo": {},
	"videocheck":             {},
	"db":                     {},
	"storage":                {},
	"devstack":               {},
	"faults":                 {},
	"cluster":                {},
	"bench":                  {},
	"internal/archtest":      {},
	"internal/testenv":       {"db", "devstack", "processing", "storage"},
	"internal/s3fake":        {},
	"internal/testvideo":     {},
	"internal/procstack":     {"db", "devstack", "internal/testvideo", "processing", "storage"},
	"capacity":               {},
	"web":                    {"db", "processing", "storage"},
}

// unreachable lists, for each package, the project packages it must not
// depend on through any chain of imports: the API and the bridge stay free
// of ffmpeg and the worker's modules, and the lower layers never reach up.
var unreachable = map[string][]string{
	"api":        {"activities", "media", "workflows", "bridge", "outbox"},
	"bridge":     {"db", "storage", "media", "activities", "workflows", "api"},
	"outbox":     {"storage", "media", "activities", "workflows", "api"},
	"activities": {"api", "bridge", "outbox", "workflows"},
	"db":         {"api", "activities", "workflows"},
	"storage":    {"api", "activities", "workflows"},
	"media":      {"activities", "api"},
	"processing": {"activities", "api", "bridge", "db", "media", "storage", "workflows"},
	"web":        {"api", "activities", "media", "workflows", "bridge", "outbox"},
	// The API and the bridge use these: they stay off the worker side.
	"telemetry": {"activities", "api", "bridge", "db", "media", "storage", "workflows"},
	"connect":   {"activities", "api", "bridge", "db", "media", "storage", "workflows"},
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive closure
}

// violations checks packages against both tables and returns one line per
// broken rule, sorted.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		name := strings.TrimPrefix(p.ImportPath, module)
		may, known := allowed[name]
		if !known {
			out = append(out, fmt.Sprintf("package %s is not in the architecture's table: add it with the imports it may use", name))
			continue
		}
		for _, imp := range p.Imports {
			if dep, ok := strings.CutPrefix(imp, module); ok && !slices.Contains(may, dep) {
				out = append(out, fmt.Sprintf("%s imports %s, against the architecture (it may import %v)", name, dep, may))
			}
		}
		for _, d := range p.Deps {
			if dep, ok := strings.CutPrefix(d, module); ok && slices.Contains(unreachable[name], dep) {
				out = append(out, fmt.Sprintf("%s depends on %s through its imports, which the architecture forbids", name, dep))
			}
		}
	}
	sort.Strings(out)
	return out
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(&out); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < len(allowed)/2 {
		t.Fatalf("go list reported only %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportsFollowTheArchitecture(t *testing.T) {
	for _, v := range violations(listPackages(t)) {
		t.Error(v)
	}
}

// TestTransitiveDependencyIsCaught: an import chain that is legal link by
// link (api → videocheck, videocheck → media) still fails, because api
// would reach ffmpeg's package through it.
func TestTransitiveDependencyIsCaught(t *testing.T) {
	fixture := []pkg{
		{ImportPath: module + "api", Imports: []string{module + "videocheck"}, Deps: []string{module + "media", module + "videocheck"}},
		{ImportPath: module + "videocheck", Imports: []string{module + "media"}, Deps: []string{module + "media"}},
		{ImportPath: module + "media"},
	}
	got := violations(fixture)
	want := []string{
		"api depends on media through its imports, which the architecture forbids",
		"videocheck imports media, against the architecture (it may import [])",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n got  %q\n want %q", got, want)
	}
}

// TestCleanGraphPasses: the checker does not fail a graph that follows the
// rules, so the test above fails for the right reason.
func TestCleanGraphPasses(t *testing.T) {
	fixture := []pkg{
		{ImportPath: module + "api", Imports: []string{module + "processing", module + "db"}, Deps: []string{module + "processing", module + "db"}},
		{ImportPath: module + "processing"},
		{ImportPath: module + "db"},
	}
	if got := violations(fixture); len(got) != 0 {
		t.Fatalf("unexpected violations: %q", got)
	}
}
