package activities

import (
	"context"
	"fmt"

	"github.com/anb-showcase/anb/storage"
)

// DiscardProcessed removes the processed object of a video whose
// processing was cancelled (the player deleted it), so nothing is left behind.
func (a *Activities) DiscardProcessed(ctx context.Context, in VideoInput) error {
	if err := a.Store.Delete(ctx, storage.ProcessedKey(in.VideoID)); err != nil {
		return fmt.Errorf("discard processed object: %w", err)
	}
	return nil
}
