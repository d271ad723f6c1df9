package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Mail is one message Mailpit received, as its REST API tells it.
type Mail struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	From    struct {
		Name    string `json:"Name"`
		Address string `json:"Address"`
	} `json:"From"`
	To []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// MailTo lists, newest first, the messages Mailpit received for address,
// each read whole (GET /api/v1/search, then /api/v1/message/{ID}).
func (e *Env) MailTo(ctx context.Context, address string) ([]Mail, error) {
	var list struct {
		Messages []Mail `json:"messages"`
	}
	q := url.Values{"query": {"to:" + address}}
	if err := e.mailpitGet(ctx, "/api/v1/search?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	out := make([]Mail, 0, len(list.Messages))
	for _, m := range list.Messages {
		var full Mail
		if err := e.mailpitGet(ctx, "/api/v1/message/"+url.PathEscape(m.ID), &full); err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

func (e *Env) mailpitGet(ctx context.Context, path string, dst any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Mailpit.APIURL()+path, nil)
	if err != nil {
		return fmt.Errorf("mailpit %s: %w", path, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(dst); err != nil {
		return fmt.Errorf("mailpit %s: %w", path, err)
	}
	return nil
}
