package activities

import (
	"context"
	"fmt"

	"github.com/anb-showcase/anb/storage"
)

// DiscardOutput removes the processed object of a video whose processing
// was cancelled (the player deleted it), so nothing is left behind.
func (a *Activities) DiscardOutput(ctx context.Context, videoID string) error {
	if err := a.Store.Delete(ctx, storage.ProcessedKey(videoID)); err != nil {
		return fmt.Errorf("discard processed object: %w", err)
	}
	return nil
}
