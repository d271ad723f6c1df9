package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PendingUpload is an unfinished multipart upload.
type PendingUpload struct {
	Key, UploadID string
	Initiated     time.Time
}

// PendingUploads lists the unfinished multipart uploads under prefix: what
// a staged upload cut short by a crash leaves until it is aborted.
func (s *Store) PendingUploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	var ups []PendingUpload
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &prefix}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list uploads under %s: %w", prefix, err)
		}
		for _, up := range out.Uploads {
			ups = append(ups, PendingUpload{Key: aws.ToString(up.Key), UploadID: aws.ToString(up.UploadId),
				Initiated: aws.ToTime(up.Initiated)})
		}
		if !aws.ToBool(out.IsTruncated) {
			return ups, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// AbortUpload discards an unfinished multipart upload and its parts; one
// that is gone already is not an error.
func (s *Store) AbortUpload(ctx context.Context, up PendingUpload) error {
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &s.bucket, Key: &up.Key, UploadId: &up.UploadID,
	})
	if err != nil && !isNotFound(err) && !isNoSuchUpload(err) {
		return fmt.Errorf("abort upload of %s: %w", up.Key, err)
	}
	return nil
}
