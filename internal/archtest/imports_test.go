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
	"cmd/anb": {"activities", "app/accounts", "app/voteaudit", "bodypace", "bridge", "connect", "db", "devstack", "mail", "media", "outbox", "processing",
		"ratelimit", "reconcile", "server", "session", "storage", "telemetry", "videocheck", "workers", "workflows"},
	"cmd/anb-broker": {"devstack"},
	// The hostile-request checks talk to a running site over HTTP only.
	"cmd/anb-hostile": {},
	// The seeded vote attack talks HTTP only, like the hostile checks.
	"cmd/anb-seedvotes": {"internal/seedvotes"},
	// The JSON API calls the use cases; it knows nothing of the pages.
	"api": {"app", "app/accounts", "app/catalog", "app/uploads", "app/videos", "app/votes", "bodypace", "cache", "db",
		"processing", "ratelimit", "session", "storage", "videocheck"},
	// The one package that mounts both front doors.
	"server": {"api", "app/accounts", "app/catalog", "app/uploads", "app/videos", "app/votes", "bodypace", "cache", "db", "emailcheck", "pgnotify", "ratelimit",
		"session", "storage", "videocheck", "web"},
	// The use cases, which both front doors call.
	"app":                    {},
	"app/accounts":           {"app", "db", "emailcheck", "ratelimit"},
	"app/catalog":            {"cache", "db"},
	"app/votes":              {"app", "db"},
	"app/voteaudit":          {"db"},
	"app/videos":             {"app", "db", "storage"},
	"app/uploads":            {"app", "db", "processing", "storage", "videocheck"},
	"cache":                  {"db"},
	"pgnotify":               {"db"},
	"ratelimit":              {},
	"session":                {},
	"bodypace":               {},
	"bridge":                 {"processing"},
	"outbox":                 {"db", "mail"},
	"mail":                   {},
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
	"emailcheck":             {},
	"storage":                {},
	"devstack":               {},
	"faults":                 {},
	"cluster":                {},
	"bench":                  {},
	"internal/archtest":      {},
	"internal/testenv":       {"db", "devstack", "processing", "storage"},
	"internal/s3fake":        {},
	"internal/seedvotes":     {},
	"internal/testvideo":     {},
	"internal/procstack":     {"db", "devstack", "internal/testvideo", "processing", "storage"},
	"capacity":               {},
	"web":                    {"app", "app/accounts", "db", "session"},
}

// unreachable lists, for each package, the project packages it must not
// depend on through any chain of imports: the API and the bridge stay free
// of ffmpeg and the worker's modules, and the lower layers never reach up.
var unreachable = map[string][]string{
	"api":        {"activities", "media", "workflows", "bridge", "outbox", "web", "server"},
	"bridge":     {"db", "storage", "media", "activities", "workflows", "api"},
	"outbox":     {"storage", "media", "activities", "workflows", "api"},
	"activities": {"api", "bridge", "outbox", "workflows"},
	"db":         {"api", "activities", "workflows"},
	"storage":    {"api", "activities", "workflows"},
	"media":      {"activities", "api"},
	"processing": {"activities", "api", "bridge", "db", "media", "storage", "workflows"},
	"web":        {"api", "server", "activities", "media", "workflows", "bridge", "outbox"},
	// The use cases and what they use never reach a front door.
	"app":          {"api", "web", "server"},
	"app/accounts": {"api", "web", "server"},
	"app/catalog":  {"api", "web", "server"},
	"app/votes":    {"api", "web", "server"},
	"app/videos":   {"api", "web", "server"},
	"app/uploads":  {"api", "web", "server", "outbox", "activities", "media", "workflows"},
	"cache":        {"api", "web", "server"},
	"pgnotify":     {"api", "web", "server"},
	"ratelimit":    {"api", "web", "server"},
	"session":      {"api", "web", "server"},
	// The API and the bridge use these: they stay off the worker side.
	"telemetry": {"activities", "api", "server", "bridge", "db", "media", "storage", "workflows"},
	"connect":   {"activities", "api", "server", "bridge", "db", "media", "storage", "workflows"},
}

// foreign lists, for each package, packages outside the project it must
// not depend on through any chain of imports: the use cases know no HTTP
// router and no templates.
var foreign = map[string][]string{
	"app":          {"github.com/gin-gonic/gin", "html/template"},
	"app/accounts": {"github.com/gin-gonic/gin", "html/template"},
	"app/catalog":  {"github.com/gin-gonic/gin", "html/template"},
	"app/votes":    {"github.com/gin-gonic/gin", "html/template"},
	"app/videos":   {"github.com/gin-gonic/gin", "html/template"},
	// The processing task's package brings Temporal's gRPC, whose tracing
	// pages import html/template; the use case itself renders nothing.
	"app/uploads": {"github.com/gin-gonic/gin"},
	"web":         {"github.com/gin-gonic/gin"},
}

// foreignDirect lists what a package must not import itself. The JSON API
// renders no HTML: it never imports html/template (Gin's own renderer
// brings the package into the binary, which no API on Gin can avoid).
var foreignDirect = map[string][]string{
	"api": {"html/template"},
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
			if slices.Contains(foreign[name], d) {
				out = append(out, fmt.Sprintf("%s depends on %s through its imports, which the architecture forbids", name, d))
			}
		}
		for _, imp := range p.Imports {
			if slices.Contains(foreignDirect[name], imp) {
				out = append(out, fmt.Sprintf("%s imports %s, which the architecture forbids", name, imp))
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

// TestFrontDoorsStayApart: the JSON API reaching the pages, a use case
// reaching the router, and the API importing templates are each caught.
func TestFrontDoorsStayApart(t *testing.T) {
	fixture := []pkg{
		{ImportPath: module + "api", Imports: []string{module + "session", "html/template"},
			Deps: []string{module + "session", module + "web", "html/template"}},
		{ImportPath: module + "app/votes", Imports: []string{module + "app"},
			Deps: []string{module + "app", "github.com/gin-gonic/gin"}},
	}
	got := violations(fixture)
	want := []string{
		"api depends on web through its imports, which the architecture forbids",
		"api imports html/template, which the architecture forbids",
		"app/votes depends on github.com/gin-gonic/gin through its imports, which the architecture forbids",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n got  %q\n want %q", got, want)
	}
}
