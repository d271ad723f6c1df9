package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/anb-showcase/anb/db"
)

type publicVideoView struct {
	VideoID      string  `json:"video_id"`
	Title        string  `json:"title"`
	ProcessedURL string  `json:"processed_url"`
	PosterURL    *string `json:"poster_url,omitempty"`
	Username     string  `json:"username"`
	City         string  `json:"city"`
	Votes        int     `json:"votes"`
	ProcessedAt  string  `json:"processed_at"`
	Voted        *bool   `json:"voted,omitempty"`
}

// publicPage is one cached page of the public list: the items without
// `voted`, and the anonymous answer already encoded, since most callers
// are anonymous.
type publicPage struct {
	items []publicVideoView
	body  []byte
	// encoded are the items' JSON objects, to which a signed-in caller's
	// answer appends `voted` without encoding the page again.
	encoded [][]byte
}

const jsonContentType = "application/json; charset=utf-8"

// publicVideos lists published videos; with a valid token each item says
// whether the caller voted for it.
func (s *Server) publicVideos(c *gin.Context) {
	page, p := pageQuery(c, 20)
	if p != nil {
		writeProblem(c, p)
		return
	}
	ctx := c.Request.Context()
	pp, err := s.publicPage(ctx, page)
	if err != nil {
		s.fail(c, err)
		return
	}
	viewer := userID(c)
	if viewer == "" {
		c.Data(200, jsonContentType, pp.body)
		return
	}
	voted, err := s.owners.VotedAmong(ctx, viewer, pageIDs(pp.items))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(200, jsonContentType, pp.withVotedJSON(voted))
}

// withVotedJSON is the page's answer with each item's `voted` flag.
func (pp *publicPage) withVotedJSON(voted map[string]bool) []byte {
	out := make([]byte, 0, len(pp.body)+len(pp.encoded)*len(`,"voted":false`)+1)
	out = append(out, '[')
	for i, item := range pp.encoded {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, item[:len(item)-1]...) // without the closing brace
		if voted[pp.items[i].VideoID] {
			out = append(out, `,"voted":true}`...)
		} else {
			out = append(out, `,"voted":false}`...)
		}
	}
	return append(out, "]\n"...)
}

func pageIDs(items []publicVideoView) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.VideoID
	}
	return ids
}

// publicPage is the page from the cache, computed on a miss.
func (s *Server) publicPage(ctx context.Context, page db.Page) (*publicPage, error) {
	return s.publicList.Get(ctx, page, func(ctx context.Context) (*publicPage, error) {
		videos, err := s.DB.PublicVideos(ctx, page, "")
		if err != nil {
			return nil, err
		}
		items := make([]publicVideoView, 0, len(videos))
		for _, v := range videos {
			u, err := s.Store.MediaURL(ctx, v.ProcessedKey)
			if err != nil {
				return nil, err
			}
			item := publicVideoView{
				VideoID: v.ID, Title: v.Title, ProcessedURL: u, Username: v.FirstName + " " + v.LastName,
				City: v.City, Votes: v.Votes, ProcessedAt: rfc3339(v.ProcessedAt),
			}
			if v.PosterKey != nil {
				pu, err := s.Store.MediaURL(ctx, *v.PosterKey)
				if err != nil {
					return nil, err
				}
				item.PosterURL = &pu
			}
			items = append(items, item)
		}
		return encodePage(items)
	})
}

// encodePage encodes the items as gin's PureJSON would: links stay
// readable, no \u0026 escapes.
func encodePage(items []publicVideoView) (*publicPage, error) {
	pp := &publicPage{items: items, encoded: make([][]byte, len(items))}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, it := range items {
		buf.Reset()
		if err := enc.Encode(it); err != nil {
			return nil, fmt.Errorf("encode public video %s: %w", it.VideoID, err)
		}
		pp.encoded[i] = bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	pp.body = append(append([]byte("["), bytes.Join(pp.encoded, []byte(","))...), "]\n"...)
	return pp, nil
}

// withVoted copies the cached items with the viewer's `voted` flags.
func (s *Server) withVoted(ctx context.Context, items []publicVideoView, viewer string) ([]publicVideoView, error) {
	voted, err := s.owners.VotedAmong(ctx, viewer, pageIDs(items))
	if err != nil {
		return nil, err
	}
	out := make([]publicVideoView, len(items))
	yes, no := true, false
	for i, it := range items {
		out[i] = it
		if voted[it.VideoID] {
			out[i].Voted = &yes
		} else {
			out[i].Voted = &no
		}
	}
	return out, nil
}
