// Package catalog holds the public lists: published videos newest first
// and the players' ranking, each kept a short time in memory and dropped
// when a vote or a delete changes them.
package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/anb-showcase/anb/cache"
	"github.com/anb-showcase/anb/db"
)

// Store reads the public lists: *db.DB.
type Store interface {
	PublicVideos(ctx context.Context, p db.Page, viewerID string) ([]db.PublicVideo, error)
	Rankings(ctx context.Context, p db.Page) ([]db.RankedPlayer, error)
}

// Media links the published files: *storage.Store.
type Media interface {
	MediaURL(ctx context.Context, key string) (string, error)
}

// Votes tells which videos a player voted for: *cache.Players.
type Votes interface {
	VotedAmong(ctx context.Context, user string, ids []string) (map[string]bool, error)
}

// Catalog serves the public lists from its caches.
type Catalog struct {
	store    Store
	media    Media
	votes    Votes
	rankings *ranking
	public   *cache.Pages[*Page]
}

// New computes the ranking at most once per rankingTTL, each query within
// rankingTimeout (zero: none), and keeps video pages for publicTTL.
func New(store Store, media Media, votes Votes, rankingTTL, rankingTimeout, publicTTL time.Duration) *Catalog {
	return &Catalog{store: store, media: media, votes: votes,
		rankings: newRanking(store, rankingTTL, rankingTimeout), public: cache.NewPages[*Page](publicTTL)}
}

// Voted drops the pages a vote changed: the ranking and the vote counts.
func (c *Catalog) Voted() {
	c.rankings.invalidate()
	c.public.Invalidate()
}

// Deleted drops the video pages: a deleted video may have been on them.
func (c *Catalog) Deleted() { c.public.Invalidate() }

// Video is one published video of the public list.
type Video struct {
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

// Page is one cached page of the public list: the items without
// `voted`, and the anonymous answer already encoded, since most callers
// are anonymous.
type Page struct {
	Items []Video
	// JSON is the items encoded as one array.
	JSON []byte
	// Ready is the anonymous answer's ETag and length, computed once.
	Ready
	// encoded are the items' JSON objects, to which a signed-in caller's
	// answer appends `voted` without encoding the page again.
	encoded [][]byte
}

// Rank is one line of the ranking; Position is absolute in the filtered list.
type Rank struct {
	Position int    `json:"position"`
	Username string `json:"username"`
	City     string `json:"city"`
	Votes    int    `json:"votes"`
}

// Ready describes an answer encoded once and served as is: a strong
// ETag of its bytes, so a client revalidating gets a 304, and its length,
// so the body goes out in one piece rather than chunked.
type Ready struct {
	ETag string
	// The header values, as net/http keeps them, shared by every answer.
	etagValues, lengthValues []string
}

// ETagValues is the ETag header's value list; callers must not change it.
func (r Ready) ETagValues() []string { return r.etagValues }

// ContentLengthValues is the Content-Length header's value list; callers must not change it.
func (r Ready) ContentLengthValues() []string { return r.lengthValues }

func readyOf(body []byte) Ready {
	h := fnv.New128a()
	_, _ = h.Write(body)
	etag := fmt.Sprintf(`"%x"`, h.Sum(nil))
	return Ready{ETag: etag, etagValues: []string{etag}, lengthValues: []string{strconv.Itoa(len(body))}}
}

// RankPage is one cached ranking page and its answer, already encoded.
type RankPage struct {
	Ranks []Rank
	// JSON is the ranks as gin's JSON renders them (HTML-safe escapes).
	JSON []byte
	Ready
}

// Rankings is one ranking page from the cache, computed on a miss.
func (c *Catalog) Rankings(ctx context.Context, page db.Page) ([]Rank, error) {
	rp, err := c.RankingPage(ctx, page)
	if err != nil {
		return nil, err
	}
	return rp.Ranks, nil
}

// RankingPage is one ranking page with its encoded answer: a slice of
// the ranking in memory, which one query computes for every page.
func (c *Catalog) RankingPage(ctx context.Context, page db.Page) (*RankPage, error) {
	s, err := c.rankings.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.page(page)
}

// Public is one page of published videos from the cache, computed on a miss.
func (c *Catalog) Public(ctx context.Context, page db.Page) (*Page, error) {
	return c.public.Get(ctx, page, func(ctx context.Context) (*Page, error) {
		videos, err := c.store.PublicVideos(ctx, page, "")
		if err != nil {
			return nil, fmt.Errorf("public videos: %w", err)
		}
		items := make([]Video, 0, len(videos))
		for _, v := range videos {
			u, err := c.media.MediaURL(ctx, v.ProcessedKey)
			if err != nil {
				return nil, err
			}
			item := Video{
				VideoID: v.ID, Title: v.Title, ProcessedURL: u, Username: v.FirstName + " " + v.LastName,
				City: v.City, Votes: v.Votes, ProcessedAt: v.ProcessedAt.UTC().Format(time.RFC3339),
			}
			if v.PosterKey != nil {
				pu, err := c.media.MediaURL(ctx, *v.PosterKey)
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

// VotedOn tells which of the page's videos viewer voted for.
func (c *Catalog) VotedOn(ctx context.Context, viewer string, pp *Page) (map[string]bool, error) {
	ids := make([]string, len(pp.Items))
	for i, it := range pp.Items {
		ids[i] = it.VideoID
	}
	return c.votes.VotedAmong(ctx, viewer, ids)
}

// WithVoted copies the page's items with the viewer's `voted` flags.
func (c *Catalog) WithVoted(ctx context.Context, viewer string, pp *Page) ([]Video, error) {
	voted, err := c.VotedOn(ctx, viewer, pp)
	if err != nil {
		return nil, err
	}
	out := make([]Video, len(pp.Items))
	for i, it := range pp.Items {
		out[i] = it
		v := voted[it.VideoID]
		out[i].Voted = &v
	}
	return out, nil
}

// WithVotedJSON is the page's answer with each item's `voted` flag.
func (pp *Page) WithVotedJSON(voted map[string]bool) []byte {
	out := make([]byte, 0, len(pp.JSON)+len(pp.encoded)*len(`,"voted":false`)+1)
	out = append(out, '[')
	for i, item := range pp.encoded {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, item[:len(item)-1]...) // without the closing brace
		if voted[pp.Items[i].VideoID] {
			out = append(out, `,"voted":true}`...)
		} else {
			out = append(out, `,"voted":false}`...)
		}
	}
	return append(out, "]\n"...)
}

// encodePage encodes the items as gin's PureJSON would: links stay
// readable, no \u0026 escapes.
func encodePage(items []Video) (*Page, error) {
	pp := &Page{Items: items, encoded: make([][]byte, len(items))}
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
	pp.JSON = append(append([]byte("["), bytes.Join(pp.encoded, []byte(","))...), "]\n"...)
	pp.Ready = readyOf(pp.JSON)
	return pp, nil
}
