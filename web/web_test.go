package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hostile = `<img src=x onerror=alert(1)>`

type fakeCatalog struct {
	cards []Card
	ranks []Rank
	err   error
	// last call's arguments
	city          string
	limit, offset int
	viewer        string
}

func (f *fakeCatalog) Gallery(_ context.Context, city string, limit, offset int, viewerID string) ([]Card, error) {
	f.city, f.limit, f.offset, f.viewer = city, limit, offset, viewerID
	return f.cards, f.err
}

func (f *fakeCatalog) Rankings(_ context.Context, city string, limit, offset int) ([]Rank, error) {
	f.city, f.limit, f.offset = city, limit, offset
	return f.ranks, f.err
}

type fakeSessions struct{ user string }

func (f fakeSessions) Viewer(*http.Request) (string, bool) { return f.user, f.user != "" }

func (fakeSessions) End(context.Context, string) error { return nil }

func newTestServer(t *testing.T, cat *fakeCatalog, user string) *Server {
	t.Helper()
	s, err := New(Server{
		Catalog: cat, Sessions: fakeSessions{user}, Verify: &fakeVerify{verified: true}, MediaOrigin: "http://127.0.0.1:7070",
		UploadOrigin: "http://127.0.0.1:7070",
		Limits:       UploadLimits{MaxBytes: 100 << 20, MinSeconds: 20, MaxSeconds: 60, MinShortSide: 1080},
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return s
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

const wantCSP = "default-src 'self'; img-src 'self' http://127.0.0.1:7070; media-src 'self' http://127.0.0.1:7070; " +
	"connect-src 'self' http://127.0.0.1:7070; script-src 'self'; style-src 'self'; frame-ancestors 'none'"

func TestPagesRenderWithCSP(t *testing.T) {
	voted := false
	cat := &fakeCatalog{
		cards: []Card{{VideoID: "v1", Title: "Triple", ProcessedURL: "http://127.0.0.1:7070/b/v1.mp4", PosterURL: "http://127.0.0.1:7070/b/v1.jpg", Username: "Ana Pérez", City: "Bogotá", Votes: 3, Voted: &voted}},
		ranks: []Rank{{Position: 1, Username: "Ana Pérez", City: "Bogotá", Votes: 3}},
	}
	for _, signedIn := range []bool{false, true} {
		user := ""
		if signedIn {
			user = "u1"
		}
		s := newTestServer(t, cat, user)
		for _, path := range Paths() {
			w := get(t, s, path)
			if !signedIn && (path == "/upload" || path == "/my-videos") {
				assert.Equal(t, http.StatusSeeOther, w.Code, path)
				assert.Equal(t, "/login?next="+strings.ReplaceAll(path, "/", "%2F"), w.Header().Get("Location"))
				continue
			}
			require.Equal(t, 200, w.Code, path)
			assert.Equal(t, wantCSP, w.Header().Get("Content-Security-Policy"), path)
			assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			body := w.Body.String()
			assert.Contains(t, body, `<html lang="es">`)
			assert.NotRegexp(t, `<script>|<script [^>]*>[^<]`, body, "%s: no inline script", path)
			assert.NotRegexp(t, `(?i)\s(style|on[a-z]+)=`, body, "%s: no inline style or handler", path)
			assert.NotRegexp(t, `(src|href)="(https?:)?//[^"]*\.(js|css)`, body, "%s: no asset from the network", path)
			assert.Equal(t, signedIn, strings.Contains(body, `id="logout"`), path)
		}
	}
}

func TestGalleryShowsCards(t *testing.T) {
	voted := true
	cat := &fakeCatalog{cards: []Card{
		{VideoID: "v1", Title: "Triple", ProcessedURL: "http://m/v1.mp4", PosterURL: "http://m/v1.jpg", Username: "Ana Pérez", City: "Bogotá", Votes: 1, Voted: &voted},
		{VideoID: "v2", Title: "Bandeja", ProcessedURL: "http://m/v2.mp4", Username: "Luis Gil", City: "Cali", Votes: 0},
	}}
	body := get(t, newTestServer(t, cat, "u1"), "/?city=+Bogot%C3%A1+&page=2").Body.String()
	assert.Equal(t, "Bogotá", cat.city)
	assert.Equal(t, galleryPageSize+1, cat.limit)
	assert.Equal(t, galleryPageSize, cat.offset)
	assert.Equal(t, "u1", cat.viewer)
	assert.Contains(t, body, `<img class="poster" src="http://m/v1.jpg" alt="" loading="lazy" width="1280" height="720">`)
	assert.Contains(t, body, `poster-placeholder.svg`, "a card without poster gets the placeholder")
	assert.Contains(t, body, `data-video-id="v1" disabled>Votado</button>`)
	assert.Contains(t, body, `data-video-id="v2">Votar</button>`)
	assert.Contains(t, body, `1</span> <span class="vote-word">voto</span>`)
	assert.Contains(t, body, `rel="prev"`)
	assert.NotContains(t, body, `rel="next"`)

	anon := get(t, newTestServer(t, cat, ""), "/").Body.String()
	assert.NotContains(t, anon, `class="vote primary"`)
	assert.Contains(t, anon, "Inicia sesión para votar")
}

func TestGalleryPagesOnExtraItem(t *testing.T) {
	cards := make([]Card, galleryPageSize+1)
	for i := range cards {
		cards[i] = Card{VideoID: "v", Title: "t"}
	}
	body := get(t, newTestServer(t, &fakeCatalog{cards: cards}, ""), "/?city=Cali").Body.String()
	assert.Equal(t, galleryPageSize, strings.Count(body, `<li class="card"`))
	assert.Contains(t, body, `href="/?city=Cali&amp;page=2" rel="next"`)
}

func TestHostileTitleIsText(t *testing.T) {
	cat := &fakeCatalog{
		cards: []Card{{VideoID: "v1", Title: hostile, Username: hostile, City: hostile, ProcessedURL: "javascript:alert(1)"}},
		ranks: []Rank{{Position: 1, Username: hostile, City: hostile}},
	}
	s := newTestServer(t, cat, "u1")
	for _, path := range []string{"/", "/rankings", "/?city=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"} {
		body := get(t, s, path).Body.String()
		assert.NotContains(t, body, "<img src=x", path)
		assert.Contains(t, body, "&lt;img src=x onerror=alert(1)&gt;", path)
		assert.NotContains(t, body, `href="javascript:`, path)
	}
}

func TestRankingsPage(t *testing.T) {
	cat := &fakeCatalog{ranks: []Rank{{Position: 21, Username: "Ana Pérez", City: "Bogotá", Votes: 7}}}
	body := get(t, newTestServer(t, cat, ""), "/rankings?page=2&city=bogot%C3%A1").Body.String()
	assert.Equal(t, rankingPageSize, cat.offset)
	assert.Equal(t, "bogotá", cat.city)
	assert.Regexp(t, regexp.MustCompile(`<td class="pos">21</td><th scope="row" class="player">Ana Pérez</th>`), body)
}

func TestBadQueryFallsBack(t *testing.T) {
	cat := &fakeCatalog{}
	s := newTestServer(t, cat, "")
	w := get(t, s, "/?page=-3&city="+strings.Repeat("a", 101))
	require.Equal(t, 200, w.Code)
	assert.Equal(t, "", cat.city)
	assert.Equal(t, 0, cat.offset)
	assert.Contains(t, w.Body.String(), "Aún no hay videos publicados")
}

func TestNotFoundPage(t *testing.T) {
	s := newTestServer(t, &fakeCatalog{}, "")
	for _, path := range []string{"/nope", "/static/nope.js", "/my-videos/extra"} {
		w := get(t, s, path)
		assert.Equal(t, 404, w.Code, path)
		assert.Equal(t, wantCSP, w.Header().Get("Content-Security-Policy"), path)
	}
	w := get(t, s, "/nope")
	assert.Contains(t, w.Body.String(), "Página no encontrada")
	assert.Contains(t, w.Header().Get("Content-Type"), "text/html")
}

func TestDataFailureIsAPage(t *testing.T) {
	s := newTestServer(t, &fakeCatalog{err: errors.New("db down")}, "")
	w := get(t, s, "/rankings")
	assert.Equal(t, 503, w.Code)
	assert.Contains(t, w.Body.String(), "El servicio no está disponible")
}

func TestAssetsAreVersionedAndCached(t *testing.T) {
	s := newTestServer(t, &fakeCatalog{}, "")
	body := get(t, s, "/").Body.String()
	m := regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]{12})"`).FindStringSubmatch(body)
	require.NotNil(t, m, "stylesheet linked with a version")
	w := get(t, s, m[1])
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "text/css")
	assert.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
	assert.Contains(t, w.Body.String(), "--navy: #0b1d3a")

	w = get(t, s, "/static/app.css?v=old")
	require.Equal(t, 200, w.Code)
	assert.Equal(t, "public, max-age=300", w.Header().Get("Cache-Control"))

	for _, js := range []string{"common", "forms", "gallery", "upload", "myvideos"} {
		w := get(t, s, "/static/js/"+js+".js")
		require.Equal(t, 200, w.Code, js)
		assert.NotContains(t, w.Body.String(), "innerHTML", "%s.js puts data on the page with textContent only", js)
	}
}

func TestFormsUseTheAPIFieldNames(t *testing.T) {
	s := newTestServer(t, &fakeCatalog{}, "u1")
	signup := get(t, s, "/signup").Body.String()
	for _, f := range []string{"first_name", "last_name", "email", "password1", "password2", "city", "country"} {
		assert.Contains(t, signup, `<label for="`+f+`">`, f)
		assert.Contains(t, signup, `name="`+f+`"`, f)
	}
	login := get(t, s, "/login?next=//evil.example").Body.String()
	assert.Contains(t, login, `name="email"`)
	assert.Contains(t, login, `name="password"`)
	assert.Contains(t, login, `data-next="/"`, "only same-site return addresses")
	upload := get(t, s, "/upload").Body.String()
	assert.Contains(t, upload, `name="title"`)
	assert.Contains(t, upload, `name="video_file"`)
	assert.Contains(t, upload, `data-max-bytes="104857600"`)
	assert.Contains(t, upload, `data-min-short-side="1080"`)
	assert.Contains(t, upload, "<noscript>")
	my := get(t, s, "/my-videos").Body.String()
	assert.Contains(t, my, "Aún no has subido videos.")
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/upload": "/upload", "/my-videos?new=1": "/my-videos?new=1", "": "/", "//evil": "/",
		"https://evil": "/", "/\\evil": "/",
		// Browsers drop tabs and newlines and read \ as /: each of these
		// would lead to another site.
		"/%09/evil.example": "/", "/\t/evil.example": "/", "/%0a/evil.example": "/", "/%0D/evil.example": "/",
		"/\n/evil.example": "/", "/%2509/evil.example": "/", "%2F%2Fevil": "/", "/%2F/evil.example": "/",
		"/%5Cevil.example": "/", "/%5cevil.example": "/", "/%00/evil": "/", "/\x7f/evil": "/", "/%7F/evil": "/",
		"/%C2%85/evil": "/", "\t//evil.example": "/", " //evil.example": "/", "/%252F/evil": "/",
		"/%25252525252F/evil": "/", "http:/evil.example": "/", "javascript:alert(1)": "/", "/%FF": "/",
		// Paths of this site, encoded or not, stay.
		"/?city=Bogot%C3%A1": "/?city=Bogot%C3%A1", "/rankings?city=Cali&offset=10": "/rankings?city=Cali&offset=10",
		"/#video-1": "/#video-1", "/evil.example": "/evil.example", "/a/b%20c": "/a/b%20c",
	} {
		assert.Equal(t, want, SafeNext(in), "%q", in)
	}
}

// TestLoginPageNext: the login page hands the script only a checked
// return address, the one the post without script would use.
func TestLoginPageNext(t *testing.T) {
	s := newTestServer(t, &fakeCatalog{}, "")
	for next, want := range map[string]string{"/%09/evil.example": "/", "/upload": "/upload", "%2F%2Fevil": "/"} {
		page := get(t, s, "/login?next="+url.QueryEscape(next)).Body.String()
		assert.Contains(t, page, `data-next="`+want+`"`, next)
		assert.Contains(t, page, `name="next" value="`+want+`"`, next)
	}
}

type fakeAudits struct {
	at  time.Time
	ok  bool
	err error
}

func (f fakeAudits) LastVoteAudit(context.Context) (time.Time, bool, error) { return f.at, f.ok, f.err }

func TestRankingsPageSaysWhenTheVotesWereLastAudited(t *testing.T) {
	cat := &fakeCatalog{ranks: []Rank{{Position: 1, Username: "Ana Pérez", City: "Bogotá", Votes: 7}}}
	s := newTestServer(t, cat, "")
	assert.NotContains(t, get(t, s, "/rankings").Body.String(), `class="audit`, "nothing without Audits")

	bogota := time.FixedZone("COT", -5*3600)
	s.Audits = fakeAudits{at: time.Date(2026, 12, 5, 17, 10, 0, 0, bogota), ok: true}
	assert.Contains(t, get(t, s, "/rankings").Body.String(),
		`<p class="audit muted">Votos auditados por última vez el 2026-12-05 a las 22:10 UTC.</p>`)
	s.Audits = fakeAudits{}
	assert.Contains(t, get(t, s, "/rankings").Body.String(), `<p class="audit muted">Los votos aún no han sido auditados.</p>`)
	s.Audits = fakeAudits{err: errors.New("db down")}
	w := get(t, s, "/rankings")
	assert.Equal(t, 200, w.Code, "the ranking shows without the audit's date")
	assert.NotContains(t, w.Body.String(), `class="audit`)
	assert.Contains(t, w.Body.String(), "Ana Pérez")
}
