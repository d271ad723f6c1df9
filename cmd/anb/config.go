package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is every setting of every subcommand, read once from ANB_*
// environment variables. The defaults fit the local stack of `anb dev`.
type Config struct {
	HTTPAddr    string `env:"ANB_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	DatabaseURL string `env:"ANB_DATABASE_URL" envDefault:"postgres://anb@127.0.0.1:15432/anb?sslmode=disable"`

	KafkaBrokers []string `env:"ANB_KAFKA_BROKERS" envDefault:"127.0.0.1:19092" envSeparator:","`
	KafkaTopic   string   `env:"ANB_KAFKA_TOPIC" envDefault:"video_tasks"`
	KafkaGroup   string   `env:"ANB_KAFKA_GROUP" envDefault:"anb-bridge"`

	TemporalAddress   string `env:"ANB_TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	TemporalNamespace string `env:"ANB_TEMPORAL_NAMESPACE" envDefault:"default"`
	TaskQueue         string `env:"ANB_TASK_QUEUE" envDefault:"video-processing"`

	S3Endpoint  string        `env:"ANB_S3_ENDPOINT" envDefault:"http://127.0.0.1:7070"`
	S3Region    string        `env:"ANB_S3_REGION" envDefault:"us-east-1"`
	S3Bucket    string        `env:"ANB_S3_BUCKET" envDefault:"anb-videos"`
	S3AccessKey string        `env:"ANB_S3_ACCESS_KEY" envDefault:"anb-local"`
	S3SecretKey string        `env:"ANB_S3_SECRET_KEY" envDefault:"anb-local-secret"`
	PresignTTL  time.Duration `env:"ANB_PRESIGN_TTL" envDefault:"1h"`

	// JWTSecret signs access tokens; outside dev it must be >= 32 bytes.
	JWTSecret  string        `env:"ANB_JWT_SECRET"`
	TokenTTL   time.Duration `env:"ANB_TOKEN_TTL" envDefault:"1h"`
	BcryptCost int           `env:"ANB_BCRYPT_COST" envDefault:"12"`
	// Dev marks the local stack: a built-in JWT secret is allowed.
	Dev bool `env:"ANB_DEV" envDefault:"false"`

	MaxUploadBytes int64 `env:"ANB_MAX_UPLOAD_BYTES" envDefault:"104857600"`
	// Upload rules checked from the file's bytes.
	MinVideoDuration  time.Duration `env:"ANB_MIN_VIDEO_DURATION" envDefault:"20s"`
	MaxVideoDuration  time.Duration `env:"ANB_MAX_VIDEO_DURATION" envDefault:"60s"`
	MinVideoShortSide int           `env:"ANB_MIN_VIDEO_SHORT_SIDE" envDefault:"1080"`
	// RankingCacheTTL bounds how long a ranking page is served from memory.
	RankingCacheTTL time.Duration `env:"ANB_RANKING_CACHE_TTL" envDefault:"2s"`
	TempDir         string        `env:"ANB_TEMP_DIR"`

	// One job per 2 cores: ffmpeg already keeps both busy; two at once gave
	// +9 % throughput for nearly twice the latency (README, benchmark).
	WorkerConcurrency int `env:"ANB_WORKER_CONCURRENCY" envDefault:"1"`
	// StatusConcurrency is the slots of the short status activities, which
	// poll their own task queue and take milliseconds each.
	StatusConcurrency int    `env:"ANB_WORKER_STATUS_SLOTS" envDefault:"64"`
	FFmpeg            string `env:"ANB_FFMPEG" envDefault:"ffmpeg"`
	FFprobe           string `env:"ANB_FFPROBE" envDefault:"ffprobe"`
	FFmpegPreset      string `env:"ANB_FFMPEG_PRESET" envDefault:"veryfast"`
	FFmpegCRF         int    `env:"ANB_FFMPEG_CRF" envDefault:"23"`

	LogLevel slog.Level `env:"ANB_LOG_LEVEL" envDefault:"info"`
	// MetricsAddr serves /metrics for the bridge; empty disables it. The
	// API serves /metrics on its own address.
	MetricsAddr string `env:"ANB_METRICS_ADDR"`

	// The local stack (anb dev).
	DataDir      string `env:"ANB_DATA_DIR" envDefault:".data"`
	TemporalBin  string `env:"ANB_TEMPORAL_BIN"`
	VersityGWBin string `env:"ANB_VERSITYGW_BIN"`
	BrokerBin    string `env:"ANB_BROKER_BIN"`
}

// devJWTSecret is used only by the local stack.
const devJWTSecret = "anb-local-development-secret-do-not-use-in-production"

func loadConfig() (*Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &cfg, nil
}

// tempDir is where uploads are checked and transcodes work.
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
