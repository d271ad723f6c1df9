package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// nestingSite answers signup, login and upload as the API does; upload
// answers uploadStatus after reading the file.
func nestingSite(t *testing.T, uploadStatus int) (*target, *[]int) {
	t.Helper()
	var sizes []int
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/signup", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		if json.NewDecoder(r.Body).Decode(&in) != nil || !strings.HasPrefix(in["email"], "hostile-nesting-") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /api/auth/login", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":3600}`)
	})
	mux.HandleFunc("POST /api/videos/upload", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f, _, err := r.FormFile("video_file")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		b, _ := io.ReadAll(f)
		if string(b[4:8]) != "ftyp" || string(b[24:28]) != "moov" || string(b[32:36]) != "trak" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		sizes = append(sizes, len(b))
		w.WriteHeader(uploadStatus)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &target{base: srv.URL, client: srv.Client(), run: "test"}, &sizes
}

func TestCheckNestingHeld(t *testing.T) {
	site, sizes := nestingSite(t, http.StatusBadRequest)
	if err := checkNesting(t.Context(), site); err != nil {
		t.Fatalf("a site refusing every bomb held, got %v", err)
	}
	if want := []int{8*8001 + 20, 8*16001 + 20, 8*(1<<17+1) + 20}; len(*sizes) != 3 || (*sizes)[0] != want[0] || (*sizes)[2] != want[2] {
		t.Fatalf("uploaded sizes %v, want %v", *sizes, want)
	}
}

func TestCheckNestingDefect(t *testing.T) {
	site, _ := nestingSite(t, http.StatusCreated)
	err := checkNesting(t.Context(), site)
	if err == nil || !strings.Contains(err.Error(), "answered 201") {
		t.Fatalf("a site accepting a bomb is a defect, got %v", err)
	}
}
