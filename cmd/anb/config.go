package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/anb-showcase/anb/db"
)

// Config is every setting of every subcommand, read once from ANB_*
// environment variables. The defaults fit the local stack of `anb dev`.
type Config struct {
	HTTPAddr string `env:"ANB_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// Slow clients: header and whole-request read limits (uploads extend
	// theirs while bytes keep coming at the body pace), answer writes, idle
	// keep-alives, and a cap on open connections per instance.
	HTTPReadHeaderTimeout time.Duration `env:"ANB_HTTP_READ_HEADER_TIMEOUT" envDefault:"10s"`
	HTTPReadTimeout       time.Duration `env:"ANB_HTTP_READ_TIMEOUT" envDefault:"30s"`
	HTTPWriteTimeout      time.Duration `env:"ANB_HTTP_WRITE_TIMEOUT" envDefault:"60s"`
	HTTPIdleTimeout       time.Duration `env:"ANB_HTTP_IDLE_TIMEOUT" envDefault:"2m"`
	HTTPMaxConnections    int           `env:"ANB_HTTP_MAX_CONNECTIONS" envDefault:"4096"`
	// An upload body must bring at least BodyMinBytes every BodyWindow:
	// 256 KiB per 30 s passes a phone on a poor link, cuts a trickle.
	BodyWindow   time.Duration `env:"ANB_BODY_WINDOW" envDefault:"30s"`
	BodyMinBytes int64         `env:"ANB_BODY_MIN_BYTES" envDefault:"262144"`
	// After an answer given before the body was read, at most
	// DrainMaxBytes of it are read and discarded, for at most DrainMaxTime,
	// so that a client sending everything first still reads the answer;
	// past either the connection is closed.
	DrainMaxBytes int64         `env:"ANB_DRAIN_MAX_BYTES" envDefault:"4194304"`
	DrainMaxTime  time.Duration `env:"ANB_DRAIN_MAX_TIME" envDefault:"5s"`
	DatabaseURL   string        `env:"ANB_DATABASE_URL" envDefault:"postgres://anb@127.0.0.1:15432/anb?sslmode=disable"`

	KafkaBrokers []string `env:"ANB_KAFKA_BROKERS" envDefault:"127.0.0.1:19092" envSeparator:","`
	KafkaTopic   string   `env:"ANB_KAFKA_TOPIC" envDefault:"video_tasks"`
	KafkaGroup   string   `env:"ANB_KAFKA_GROUP" envDefault:"anb-bridge"`
	// KafkaDLQTopic receives the tasks the bridge can never start.
	KafkaDLQTopic string `env:"ANB_KAFKA_DLQ_TOPIC" envDefault:"video_tasks.dlq"`
	// Kafka security (connect.go): TLS (a CA file implies it), and SASL
	// "", "scram-sha-256", "scram-sha-512" or "aws-msk-iam" (TLS too).
	KafkaTLS      bool   `env:"ANB_KAFKA_TLS" envDefault:"false"`
	KafkaTLSCA    string `env:"ANB_KAFKA_TLS_CA"`
	KafkaSASL     string `env:"ANB_KAFKA_SASL"`
	KafkaUsername string `env:"ANB_KAFKA_USERNAME"`
	KafkaPassword string `env:"ANB_KAFKA_PASSWORD"`

	TemporalAddress   string `env:"ANB_TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	TemporalNamespace string `env:"ANB_TEMPORAL_NAMESPACE" envDefault:"default"`
	TaskQueue         string `env:"ANB_TASK_QUEUE" envDefault:"video-processing"`
	// Temporal security (connect.go): TLS, with a client certificate or
	// a Temporal Cloud API key; a file or key given implies TLS.
	TemporalTLS     bool   `env:"ANB_TEMPORAL_TLS" envDefault:"false"`
	TemporalTLSCert string `env:"ANB_TEMPORAL_TLS_CERT"`
	TemporalTLSKey  string `env:"ANB_TEMPORAL_TLS_KEY"`
	TemporalTLSCA   string `env:"ANB_TEMPORAL_TLS_CA"`
	TemporalAPIKey  string `env:"ANB_TEMPORAL_API_KEY"`

	// Without ANB_S3_ACCESS_KEY the store signs with the AWS default chain
	// (environment, shared config, container or instance role).
	S3Endpoint  string        `env:"ANB_S3_ENDPOINT" envDefault:"http://127.0.0.1:7070"`
	S3Region    string        `env:"ANB_S3_REGION" envDefault:"us-east-1"`
	S3Bucket    string        `env:"ANB_S3_BUCKET" envDefault:"anb-videos"`
	S3AccessKey string        `env:"ANB_S3_ACCESS_KEY"`
	S3SecretKey string        `env:"ANB_S3_SECRET_KEY"`
	PresignTTL  time.Duration `env:"ANB_PRESIGN_TTL" envDefault:"1h"`
	// A published video's and a poster's link stays the same for a window,
	// so that browsers and a CDN cache them; with a base URL (a CDN in
	// front of the bucket) their links are <base>/<key>, unsigned.
	MediaURLWindow time.Duration `env:"ANB_MEDIA_URL_WINDOW" envDefault:"10m"`
	MediaBaseURL   string        `env:"ANB_MEDIA_BASE_URL"`

	// JWTSecret signs access tokens; outside dev it must be >= 32 bytes.
	JWTSecret  string        `env:"ANB_JWT_SECRET"`
	TokenTTL   time.Duration `env:"ANB_TOKEN_TTL" envDefault:"1h"`
	BcryptCost int           `env:"ANB_BCRYPT_COST" envDefault:"12"`
	// Dev marks the local stack: a built-in JWT secret is allowed.
	Dev bool `env:"ANB_DEV" envDefault:"false"`

	// Rate limits (429 with Retry-After); 0 turns one off. Generous enough
	// that people never meet them, tight enough to stop scripts.
	// The login and signup limits hold for the whole site (kept in
	// PostgreSQL). The per-account ones never refuse a browser that has
	// signed in to the account before (its known-device cookie).
	LoginWindow              time.Duration `env:"ANB_LOGIN_WINDOW" envDefault:"15m"`
	LoginFailuresPerAccount  int           `env:"ANB_LOGIN_FAILURES_PER_ACCOUNT" envDefault:"10"`
	LoginFailuresPerPair     int           `env:"ANB_LOGIN_FAILURES_PER_PAIR" envDefault:"5"`
	LoginFailuresPerAddress  int           `env:"ANB_LOGIN_FAILURES_PER_ADDRESS" envDefault:"30"`
	LoginAttemptsPerAddress  int           `env:"ANB_LOGIN_ATTEMPTS_PER_ADDRESS" envDefault:"100"`
	LoginAttemptsPerAccount  int           `env:"ANB_LOGIN_ATTEMPTS_PER_ACCOUNT" envDefault:"30"`
	SignupsPerAddressPerHour int           `env:"ANB_SIGNUPS_PER_ADDRESS_PER_HOUR" envDefault:"50"`
	UploadsInFlight          int           `env:"ANB_UPLOADS_IN_FLIGHT" envDefault:"2"`
	UploadsPerHour           int           `env:"ANB_UPLOADS_PER_HOUR" envDefault:"10"`
	VotesPerMinute           int           `env:"ANB_VOTES_PER_MINUTE" envDefault:"120"`
	// Signups from one network (IPv4 /24, IPv6 /64) per hour, whichever of
	// its addresses they come from.
	SignupsPerNetworkPerHour int `env:"ANB_SIGNUPS_PER_NETWORK_PER_HOUR" envDefault:"100"`
	// bcrypt runs at once (0: GOMAXPROCS) and how long a login or signup
	// waits for one before a 429, so a login flood cannot take every core.
	// One client address holds at most HashPerAddress of them at once.
	HashConcurrency int           `env:"ANB_HASH_CONCURRENCY" envDefault:"0"`
	HashPerAddress  int           `env:"ANB_HASH_PER_ADDRESS" envDefault:"2"`
	HashWait        time.Duration `env:"ANB_HASH_WAIT" envDefault:"2s"`
	// TrustedProxies (CIDRs) are the peers whose X-Forwarded-For names the
	// client; empty trusts none, so the header is ignored.
	TrustedProxies []netip.Prefix `env:"ANB_TRUSTED_PROXIES" envSeparator:","`

	// Email confirmation: a signed, single-use link valid for VerifyTTL,
	// sent at signup through the mail outbox; PublicURL is the site's
	// address the links point to. Resends of a link are limited per
	// account and per client address.
	PublicURL                      string        `env:"ANB_PUBLIC_URL" envDefault:"http://127.0.0.1:8080"`
	VerifyTTL                      time.Duration `env:"ANB_VERIFY_TTL" envDefault:"48h"`
	VerifyResendsPerAccountPerHour int           `env:"ANB_VERIFY_RESENDS_PER_ACCOUNT_PER_HOUR" envDefault:"3"`
	VerifyResendsPerAddressPerHour int           `env:"ANB_VERIFY_RESENDS_PER_ADDRESS_PER_HOUR" envDefault:"10"`
	// VotesNeedVerifiedEmail records the votes of unconfirmed accounts as
	// pending: they count from the moment the email is confirmed. Off by
	// default, as the statement's contract has it; on in the AWS stack.
	VotesNeedVerifiedEmail bool `env:"ANB_VOTES_NEED_VERIFIED_EMAIL" envDefault:"false"`
	// The mail server (Mailpit locally, Amazon SES on AWS): STARTTLS when
	// offered, required unless the server is on loopback; a username turns
	// on authentication.
	SMTPAddr     string        `env:"ANB_SMTP_ADDR" envDefault:"127.0.0.1:1025"`
	SMTPUsername string        `env:"ANB_SMTP_USERNAME"`
	SMTPPassword string        `env:"ANB_SMTP_PASSWORD"`
	SMTPTimeout  time.Duration `env:"ANB_SMTP_TIMEOUT" envDefault:"30s"`
	// MailFrom is the sender's address (an SES identity's domain on
	// AWS), MailFromName the name shown beside it.
	MailFrom     string `env:"ANB_MAIL_FROM" envDefault:"no-reply@anb.localhost"`
	MailFromName string `env:"ANB_MAIL_FROM_NAME" envDefault:"ANB Rising Stars"`

	MaxUploadBytes int64 `env:"ANB_MAX_UPLOAD_BYTES" envDefault:"104857600"`
	// UploadSessionTTL is how long an unfinished resumable upload lives
	// before the reconcile run aborts it.
	UploadSessionTTL time.Duration `env:"ANB_UPLOAD_SESSION_TTL" envDefault:"24h"`
	// UploadOrigins are the pages' origins that `anb dev` lets send parts
	// to the bucket (CORS); empty derives them from ANB_HTTP_ADDR.
	UploadOrigins []string `env:"ANB_UPLOAD_ORIGINS" envSeparator:","`
	// UploadMemory bounds the memory that all uploads arriving at once hold
	// on their way to S3 (three 8 MiB parts each at most); parts beyond it
	// wait in ANB_TEMP_DIR.
	UploadMemory int64 `env:"ANB_UPLOAD_MEMORY" envDefault:"134217728"`
	// Upload rules checked from the file's bytes.
	MinVideoDuration  time.Duration `env:"ANB_MIN_VIDEO_DURATION" envDefault:"20s"`
	MaxVideoDuration  time.Duration `env:"ANB_MAX_VIDEO_DURATION" envDefault:"60s"`
	MinVideoShortSide int           `env:"ANB_MIN_VIDEO_SHORT_SIDE" envDefault:"1080"`
	// RankingCacheTTL bounds how long a ranking page is served from memory.
	RankingCacheTTL time.Duration `env:"ANB_RANKING_CACHE_TTL" envDefault:"2s"`
	// RankingQueryTimeout bounds the one query that computes the ranking.
	RankingQueryTimeout time.Duration `env:"ANB_RANKING_QUERY_TIMEOUT" envDefault:"5s"`
	// PublicCacheTTL bounds how long a public video page is served from
	// memory: a video published by the worker shows within it.
	PublicCacheTTL time.Duration `env:"ANB_PUBLIC_CACHE_TTL" envDefault:"2s"`
	// PlayerCacheTTL bounds how long a player's list and a video's detail
	// are served from memory; writes to the player's videos drop them at once.
	PlayerCacheTTL time.Duration `env:"ANB_PLAYER_CACHE_TTL" envDefault:"2s"`
	// EventsHeartbeat is how often a quiet event stream gets a comment, so
	// that proxies and load balancers do not close it.
	EventsHeartbeat time.Duration `env:"ANB_EVENTS_HEARTBEAT" envDefault:"15s"`
	// Event streams open at once per player and per video (429 past
	// either), how long one lives before the browser reconnects, and how
	// long one write may wait for a client that stopped reading.
	EventsPerPlayer    int           `env:"ANB_EVENTS_PER_PLAYER" envDefault:"8"`
	EventsPerVideo     int           `env:"ANB_EVENTS_PER_VIDEO" envDefault:"4"`
	EventsMaxLife      time.Duration `env:"ANB_EVENTS_MAX_LIFE" envDefault:"5m"`
	EventsWriteTimeout time.Duration `env:"ANB_EVENTS_WRITE_TIMEOUT" envDefault:"10s"`
	TempDir            string        `env:"ANB_TEMP_DIR"`

	// One job per 2 cores: ffmpeg already keeps both busy; two at once gave
	// +9 % throughput for nearly twice the latency (README, benchmark).
	WorkerConcurrency int `env:"ANB_WORKER_CONCURRENCY" envDefault:"1"`
	// StatusConcurrency is the slots of the short status activities, which
	// poll their own task queue and take milliseconds each.
	StatusConcurrency int    `env:"ANB_WORKER_STATUS_SLOTS" envDefault:"64"`
	FFmpeg            string `env:"ANB_FFMPEG" envDefault:"ffmpeg"`
	FFprobe           string `env:"ANB_FFPROBE" envDefault:"ffprobe"`
	FFmpegPreset      string `env:"ANB_FFMPEG_PRESET" envDefault:"superfast"`
	FFmpegCRF         int    `env:"ANB_FFMPEG_CRF" envDefault:"23"`
	// FFmpegThreads bounds one render's threads: the 2 vCPUs of the
	// instance size the platform is measured on.
	FFmpegThreads int `env:"ANB_FFMPEG_THREADS" envDefault:"2"`
	// A render whose output stops advancing this long is killed and retried.
	TranscodeStallTimeout time.Duration `env:"ANB_TRANSCODE_STALL_TIMEOUT" envDefault:"60s"`
	// Wall-clock budget per second of output: 40x what veryfast 1080p
	// takes on 2 cores, so only a pathological input reaches it.
	TranscodeTimePerSecond time.Duration `env:"ANB_TRANSCODE_TIME_PER_SECOND" envDefault:"10s"`
	// What the worker renders, checked with ffprobe after the download: 4K
	// phones pass, 8K, 240 fps and codecs phones do not record fail at once.
	WorkerMaxLongSide  int           `env:"ANB_WORKER_MAX_LONG_SIDE" envDefault:"4096"`
	WorkerMaxShortSide int           `env:"ANB_WORKER_MAX_SHORT_SIDE" envDefault:"2304"`
	WorkerMaxFPS       float64       `env:"ANB_WORKER_MAX_FPS" envDefault:"120"`
	WorkerMaxDuration  time.Duration `env:"ANB_WORKER_MAX_DURATION" envDefault:"120s"`
	WorkerCodecs       string        `env:"ANB_WORKER_CODECS" envDefault:"h264,hevc,mpeg4,vp8,vp9,av1"`
	// ffmpeg reads the original from S3 through a presigned link as it
	// decodes, instead of after a full download. Off until it is measured
	// to pay where the download is slow: with S3 on loopback it did not
	// (README, benchmark).
	WorkerStreamInput bool `env:"ANB_WORKER_STREAM_INPUT" envDefault:"false"`
	// ProcessingRetryFor bounds the retries of transient failures of one
	// video; past it the video is failed and operators see it.
	ProcessingRetryFor time.Duration `env:"ANB_PROCESSING_RETRY_FOR" envDefault:"24h"`

	// The reconcile schedule (docs/operations.md): how often it runs, and
	// how old an orphan original or a stuck upload must be to be fixed.
	ReconcileEvery time.Duration `env:"ANB_RECONCILE_EVERY" envDefault:"1h"`
	ReconcileGrace time.Duration `env:"ANB_RECONCILE_GRACE" envDefault:"1h"`

	// The worker's scaling signal: every BacklogEvery it reads the backlog
	// of its task queues from Temporal into /metrics and, with a namespace
	// set, into CloudWatch (metrics TaskQueueBacklogCount and
	// TaskQueueBacklogAgeSeconds). 0 turns it off.
	BacklogEvery        time.Duration `env:"ANB_BACKLOG_EVERY" envDefault:"30s"`
	CloudWatchNamespace string        `env:"ANB_CLOUDWATCH_NAMESPACE"`
	// WorkerStopTimeout is how long a stopping worker lets its running
	// activities finish (a scale-in drains its transcode); 0 cancels them
	// at once, to be retried on another worker.
	WorkerStopTimeout time.Duration `env:"ANB_WORKER_STOP_TIMEOUT" envDefault:"0s"`

	LogLevel slog.Level `env:"ANB_LOG_LEVEL" envDefault:"info"`
	// InstanceID names the process in /healthz; empty: host name and pid.
	InstanceID string `env:"ANB_INSTANCE_ID"`
	// MetricsAddr serves /metrics on an internal listener: the bridge's
	// only one, and the API's instead of its public address. Empty: the
	// bridge has none, the API serves it publicly.
	MetricsAddr string `env:"ANB_METRICS_ADDR"`

	// The local stack (anb dev).
	DataDir      string `env:"ANB_DATA_DIR" envDefault:".data"`
	TemporalBin  string `env:"ANB_TEMPORAL_BIN"`
	VersityGWBin string `env:"ANB_VERSITYGW_BIN"`
	BrokerBin    string `env:"ANB_BROKER_BIN"`
	MailpitBin   string `env:"ANB_MAILPIT_BIN"`
	// ANB_DEV_CLUSTER=true turns `anb dev` into many instances on one
	// machine: HAProxy on the API address in front of several API
	// processes (the first on its port + 1, the next on + 2...), and
	// several workers and bridges (one consumer group).
	DevCluster           bool   `env:"ANB_DEV_CLUSTER" envDefault:"false"`
	DevClusterAPIs       int    `env:"ANB_DEV_CLUSTER_APIS" envDefault:"3"`
	DevClusterWorkers    int    `env:"ANB_DEV_CLUSTER_WORKERS" envDefault:"2"`
	DevClusterBridges    int    `env:"ANB_DEV_CLUSTER_BRIDGES" envDefault:"2"`
	DevClusterStatsAddr  string `env:"ANB_DEV_CLUSTER_STATS_ADDR" envDefault:"127.0.0.1:8404"`
	DevClusterHAProxyBin string `env:"ANB_HAPROXY_BIN"`
}

// devJWTSecret is used only by the local stack.
const devJWTSecret = "anb-local-development-secret-do-not-use-in-production"

func loadConfig() (*Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := db.CheckDSN(cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("config: ANB_DATABASE_URL: %w", err)
	}
	return &cfg, nil
}

// instanceID names this process for /healthz: ANB_INSTANCE_ID, or the
// host name and pid, unique among the instances of a machine or a fleet.
func (c *Config) instanceID() string {
	if c.InstanceID != "" {
		return c.InstanceID
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// tempDir is where upload parts wait when memory is short and transcodes work.
func (c *Config) tempDir() string {
	if c.TempDir == "" {
		return os.TempDir()
	}
	return c.TempDir
}

// jwtSecret returns the signing secret, refusing a weak one outside dev.
func (c *Config) jwtSecret() ([]byte, error) {
	if c.JWTSecret == "" && c.Dev {
		return []byte(devJWTSecret), nil
	}
	if len(c.JWTSecret) < 32 {
		return nil, errors.New("ANB_JWT_SECRET must be set to at least 32 bytes (ANB_DEV=true allows a built-in secret for local use)")
	}
	return []byte(c.JWTSecret), nil
}
