package db

import (
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// Video statuses, in lifecycle order.
const (
	StatusUploaded   = "uploaded"
	StatusProcessing = "processing"
	StatusProcessed  = "processed"
	StatusFailed     = "failed"
)

// User is a registered player or juror.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID           string    `bun:"id,pk,type:uuid"`
	FirstName    string    `bun:"first_name"`
	LastName     string    `bun:"last_name"`
	Email        string    `bun:"email"`
	PasswordHash string    `bun:"password_hash"`
	City         string    `bun:"city"`
	Country      string    `bun:"country"`
	CreatedAt    time.Time `bun:"created_at,nullzero,default:now()"`

	// EmailKey is the mailbox Email reaches (emailcheck.Key), unique, so
	// one mailbox is one account; CreateUser fills in the lower-case
	// Email when it is empty.
	EmailKey string `bun:"email_key"`
	// SignupNetwork is the network the account signed up from (an IPv4
	// /24, an IPv6 /64), evidence for the vote audit.
	SignupNetwork string `bun:"signup_network"`
	// EmailVerifiedAt is when the player opened a confirmation link; nil
	// while the email is unconfirmed.
	EmailVerifiedAt *time.Time `bun:"email_verified_at"`
}

// Video is an uploaded skill video and its processing state.
type Video struct {
	bun.BaseModel `bun:"table:videos"`

	ID           string     `bun:"id,pk,type:uuid"`
	UserID       string     `bun:"user_id,type:uuid"`
	Title        string     `bun:"title"`
	Status       string     `bun:"status"`
	OriginalKey  string     `bun:"original_key"`
	ProcessedKey *string    `bun:"processed_key"`
	PosterKey    *string    `bun:"poster_key"`
	WorkflowID   string     `bun:"workflow_id"`
	Progress     int        `bun:"progress"`
	Error        *string    `bun:"error"`
	UploadedAt   time.Time  `bun:"uploaded_at,nullzero,default:now()"`
	ProcessedAt  *time.Time `bun:"processed_at"`

	// Votes is filled by the queries that count them.
	Votes int `bun:"votes,scanonly"`
}

// OutboxMessage is a message waiting to be published.
type OutboxMessage struct {
	bun.BaseModel `bun:"table:outbox"`

	ID        int64           `bun:"id,pk,autoincrement"`
	Topic     string          `bun:"topic"`
	Key       string          `bun:"key"`
	Payload   json.RawMessage `bun:"payload,type:jsonb"`
	CreatedAt time.Time       `bun:"created_at,nullzero,default:now()"`
	SentAt    *time.Time      `bun:"sent_at"`
}
