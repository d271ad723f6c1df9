package processing

import "go.temporal.io/sdk/temporal"

// Search attributes let operators filter workflows in the Temporal UI, for
// example `VideoStatus = "processing"` for videos that may be stuck. They
// must be registered on the server (`anb dev` and the test servers do;
// production: `temporal operator search-attribute create`).
var (
	VideoIDAttr     = temporal.NewSearchAttributeKeyKeyword("VideoId")
	OwnerIDAttr     = temporal.NewSearchAttributeKeyKeyword("OwnerId")
	VideoStatusAttr = temporal.NewSearchAttributeKeyKeyword("VideoStatus")
)

// SearchAttributeTypes lists the attributes with their types, as the
// Temporal CLI's --search-attribute flag takes them.
func SearchAttributeTypes() map[string]string {
	return map[string]string{
		VideoIDAttr.GetName():     "Keyword",
		OwnerIDAttr.GetName():     "Keyword",
		VideoStatusAttr.GetName(): "Keyword",
	}
}

// StartAttributes are set when the bridge starts a video's workflow.
func StartAttributes(t Task) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		VideoIDAttr.ValueSet(t.VideoID),
		VideoStatusAttr.ValueSet("uploaded"),
	}
	if t.OwnerID != "" {
		updates = append(updates, OwnerIDAttr.ValueSet(t.OwnerID))
	}
	return temporal.NewSearchAttributes(updates...)
}
