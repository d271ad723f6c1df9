package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
)

//go:embed templates
var templateFiles embed.FS

// page is what the layout needs; Data is the page's own content.
type page struct {
	Title    string
	Nav      string // the active menu entry
	SignedIn bool
	// Unverified shows the banner that asks to confirm the email.
	Unverified bool
	Data       any
}

// formField is one labelled input of a form page, with what a failed
// post sent back for it.
type formField struct {
	Name, Label, Type, Autocomplete string
	Value, Error                    string
}

// pages holds one template set per page: the layout plus that page's
// "content", so pages cannot redefine each other's blocks.
type pages struct {
	sets map[string]*template.Template
}

func newPages(a *assets) (*pages, error) {
	funcs := template.FuncMap{
		"asset": a.url,
		"field": func(st FormState, name, label, typ, autocomplete string) formField {
			f := formField{Name: name, Label: label, Type: typ, Autocomplete: autocomplete}
			if typ != "password" { // a password is never sent back
				f.Value = st.Values[name]
			}
			for _, e := range st.Errors {
				if e.Field == name && f.Error == "" {
					f.Error = e.Message
				}
			}
			return f
		},
		"deref": func(b *bool) bool { return b != nil && *b },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/pager.html", "templates/form.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range []string{"gallery", "rankings", "signup", "login", "upload", "myvideos", "notfound", "verify"} {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFiles, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// render writes a whole page or, if the template fails, a plain 500: the
// page is built in memory first so a failure never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if viewer, ok := s.Sessions.Viewer(r); ok {
		p.SignedIn = true
		p.Unverified = s.unverified(r, viewer)
	}
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.Log.Error("render page", "page", name, "err", err)
		http.Error(w, "Ocurrió un error interno. Intenta de nuevo más tarde.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages differ per viewer (menu, votes): no shared cache may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
