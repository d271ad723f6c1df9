package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/anb-showcase/anb/activities"
	"github.com/anb-showcase/anb/db"
	"github.com/anb-showcase/anb/internal/testenv"
	"github.com/anb-showcase/anb/storage"
)

// knownWorkflows fakes Temporal: the ids in missing do not exist, every
// other does; err, when set, is what every call returns.
type knownWorkflows struct {
	missing map[string]bool
	err     error
}

func (k knownWorkflows) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if k.err != nil {
		return nil, k.err
	}
	if k.missing[id] {
		return nil, serviceerror.NewNotFound("workflow not found: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{}, nil
}

func reconcileActivities(t *testing.T, store *storage.Store, wf activities.WorkflowDescriber) *activities.Activities {
	t.Helper()
	a := newActivities(t)
	a.Store, a.Workflows, a.Topic = store, wf, testenv.Topic
	return a
}

// createUpload records an uploaded video of age ago with its request.
func createUpload(t *testing.T, age time.Duration) *db.Video {
	t.Helper()
	ctx := context.Background()
	userID, id := uuid.NewString(), uuid.NewString()
	require.NoError(t, testEnv().DB.CreateUser(ctx, &db.User{
		ID: userID, FirstName: "Ana", LastName: "Pérez", Email: "r-" + userID + "@example.com",
		PasswordHash: "x", City: "Bogotá", Country: "Colombia",
	}))
	v := &db.Video{ID: id, UserID: userID, Title: "Triple", Status: db.StatusUploaded,
		OriginalKey: storage.UploadedKey(id), WorkflowID: "video-" + id, UploadedAt: time.Now().Add(-age)}
	require.NoError(t, testEnv().DB.CreateVideo(ctx, v, &db.OutboxMessage{Topic: testenv.Topic, Key: id, Payload: []byte(`{}`)}))
	return v
}

func TestRemoveOrphansKeepsRecentAndKnownOriginals(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	// A bucket of its own: other tests' originals are not this test's to judge.
	cfg := testEnv().S3Config
	cfg.Bucket = "reconcile-" + strings.ToLower(uuid.NewString()[:8])
	store := storage.New(cfg)
	require.NoError(t, store.EnsureBucket(ctx))
	src := filepath.Join(t.TempDir(), "x.mp4")
	require.NoError(t, os.WriteFile(src, []byte("x"), 0o644))

	oldOrphan := storage.UploadedKey(uuid.NewString())
	require.NoError(t, store.PutFile(ctx, oldOrphan, src))
	withRow := createUpload(t, 0).OriginalKey
	require.NoError(t, store.PutFile(ctx, withRow, src))
	processed := storage.ProcessedKey(uuid.NewString())
	require.NoError(t, store.PutFile(ctx, processed, src))
	// LastModified has whole seconds, on the server's clock: the cutoff is
	// the second after the newest object above, and the recent orphan is
	// written until the server stamps it at or after the cutoff.
	objs, err := store.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, objs, 3)
	var newest time.Time
	for _, o := range objs {
		if o.LastModified.After(newest) {
			newest = o.LastModified
		}
	}
	cutoff := newest.Truncate(time.Second).Add(time.Second)
	recentOrphan := storage.UploadedKey(uuid.NewString())
	testenv.Wait(t, 10*time.Second, func() error {
		require.NoError(t, store.PutFile(ctx, recentOrphan, src))
		objs, err := store.List(ctx, recentOrphan)
		require.NoError(t, err)
		require.Len(t, objs, 1)
		if objs[0].LastModified.Before(cutoff) {
			return fmt.Errorf("recent orphan stamped %s, before the cutoff %s", objs[0].LastModified, cutoff)
		}
		return nil
	})
	// An upload cut short by a crash: a part stored, never completed. Made
	// by hand, so that no part is still on its way when it is aborted (a
	// late part would bring the upload back).
	cut := storage.UploadedKey(uuid.NewString())
	s3c := s3.New(s3.Options{
		Region: cfg.Region, UsePathStyle: true, BaseEndpoint: aws.String(cfg.Endpoint),
		Credentials:                credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	up, err := s3c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &cfg.Bucket, Key: &cut})
	require.NoError(t, err)
	_, err = s3c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &cfg.Bucket, Key: &cut, UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("a part")})
	require.NoError(t, err)

	a := reconcileActivities(t, store, knownWorkflows{})
	res, err := a.RemoveOrphans(ctx, activities.OrphansInput{Cutoff: cutoff})
	require.NoError(t, err)
	assert.Equal(t, []string{oldOrphan}, res.Removed)
	assert.Empty(t, res.Aborted, "an unfinished upload younger than a day may still be under way")
	for key, want := range map[string]bool{oldOrphan: false, withRow: true, recentOrphan: true, processed: true} {
		ok, err := store.Exists(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, want, ok, key)
	}

	res, err = a.RemoveOrphans(ctx, activities.OrphansInput{Cutoff: cutoff})
	require.NoError(t, err)
	assert.Empty(t, res.Removed, "a repeat removes nothing more")
	assert.Empty(t, res.Aborted)

	// A day later the unfinished upload is aborted (and the recent orphan goes).
	res, err = a.RemoveOrphans(ctx, activities.OrphansInput{Cutoff: cutoff.Add(25 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []string{cut}, res.Aborted, "a day-old unfinished upload is aborted")
	ups, err := store.PendingUploads(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, ups)
}

func TestRequestStuckRequeuesOnlyVideosWithoutWorkflow(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	lost := createUpload(t, 2*time.Hour)
	running := createUpload(t, 2*time.Hour)
	recent := createUpload(t, 0)
	// Their first requests went out; only Temporal tells whether they started.
	_, err := testEnv().DB.PublishPending(ctx, 10000, func(context.Context, []db.OutboxMessage) error { return nil })
	require.NoError(t, err)

	wf := knownWorkflows{missing: map[string]bool{"video-" + lost.ID: true, "video-" + recent.ID: true}}
	a := reconcileActivities(t, testEnv().Store, wf)
	cutoff := time.Now().Add(-time.Hour)
	res, err := a.RequestStuck(ctx, activities.StuckInput{Cutoff: cutoff})
	require.NoError(t, err)
	assert.Contains(t, res.Requested, lost.ID)
	assert.NotContains(t, res.Requested, running.ID)
	assert.NotContains(t, res.Requested, recent.ID, "within the grace")

	msgs, err := testEnv().DB.OutboxByKey(ctx, lost.ID)
	require.NoError(t, err)
	require.Len(t, msgs, 2, "the upload's request and exactly one new one")
	assert.Equal(t, testenv.Topic, msgs[1].Topic)
	assert.JSONEq(t, `{"video_id":"`+lost.ID+`","owner_id":"`+lost.UserID+`"}`, string(msgs[1].Payload))
	assert.Nil(t, msgs[1].SentAt)
	for _, v := range []*db.Video{running, recent} {
		msgs, err := testEnv().DB.OutboxByKey(ctx, v.ID)
		require.NoError(t, err)
		assert.Len(t, msgs, 1, "no new request for %s", v.ID)
	}

	res, err = a.RequestStuck(ctx, activities.StuckInput{Cutoff: cutoff})
	require.NoError(t, err)
	assert.NotContains(t, res.Requested, lost.ID, "a pending request is not doubled")
	msgs, err = testEnv().DB.OutboxByKey(ctx, lost.ID)
	require.NoError(t, err)
	assert.Len(t, msgs, 2)
}

func TestRequestStuckFailsWhenTemporalDoesNotAnswer(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	v := createUpload(t, 2*time.Hour)
	_, err := testEnv().DB.PublishPending(ctx, 10000, func(context.Context, []db.OutboxMessage) error { return nil })
	require.NoError(t, err)

	down := errors.New("temporal unavailable")
	a := reconcileActivities(t, testEnv().Store, knownWorkflows{err: down})
	_, err = a.RequestStuck(ctx, activities.StuckInput{Cutoff: time.Now().Add(-time.Hour)})
	require.ErrorIs(t, err, down)
	msgs, err := testEnv().DB.OutboxByKey(ctx, v.ID)
	require.NoError(t, err)
	assert.Len(t, msgs, 1, "nothing requested on a guess")
}

// TestRemoveOrphansAbortsExpiredUploadSessions: a resumable upload past
// its session's expiry is aborted with its parts and forgotten; one still
// open keeps its parts, even when older than the unfinished-upload age.
func TestRemoveOrphansAbortsExpiredUploadSessions(t *testing.T) {
	servers.Get(t)
	ctx := context.Background()
	store := testEnv().Store
	owner := createUpload(t, 0).UserID
	session := func(expires time.Time) *db.UploadSession {
		id := uuid.NewString()
		key := storage.UploadedKey(id)
		uploadID, err := store.CreateDirectUpload(ctx, key)
		require.NoError(t, err)
		s := &db.UploadSession{ID: id, UserID: owner, Title: "Jugada", Filename: "j.mp4", Size: 10, PartSize: 8 << 20,
			PartCount: 1, S3UploadID: uploadID, ObjectKey: key, ExpiresAt: expires}
		require.NoError(t, testEnv().DB.CreateUploadSession(ctx, s))
		return s
	}
	expired := session(time.Now().Add(-time.Minute))
	open := session(time.Now().Add(time.Hour))

	a := reconcileActivities(t, store, knownWorkflows{})
	// Far enough ahead that both multipart uploads are over a day old.
	res, err := a.RemoveOrphans(ctx, activities.OrphansInput{Cutoff: time.Now().Add(25 * time.Hour)})
	require.NoError(t, err)
	assert.Contains(t, res.ExpiredUploads, expired.ID)
	assert.NotContains(t, res.ExpiredUploads, open.ID)
	assert.NotContains(t, res.Aborted, open.ObjectKey, "an open session's upload stays")

	_, err = store.ListParts(ctx, expired.ObjectKey, expired.S3UploadID)
	assert.ErrorIs(t, err, storage.ErrNoUpload, "the expired upload is aborted")
	_, err = testEnv().DB.UploadSession(ctx, expired.ID, owner)
	assert.ErrorIs(t, err, db.ErrNotFound, "and forgotten")
	_, err = store.ListParts(ctx, open.ObjectKey, open.S3UploadID)
	require.NoError(t, err, "the open upload is still there")
	_, err = testEnv().DB.UploadSession(ctx, open.ID, owner)
	require.NoError(t, err)
	require.NoError(t, store.AbortUpload(ctx, storage.PendingUpload{Key: open.ObjectKey, UploadID: open.S3UploadID}))
}
