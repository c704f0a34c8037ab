package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/alicebob/miniredis/v2"
)

func init() {
	register(command{
		name:    "run",
		summary: "run everything locally: embedded Redis, web and a supervised worker",
		run:     runAll,
	})
}

// runVars are the settings `dermq run` reads: the web's and the worker's.
var runVars = append([]string{
	"REDIS_URL", "PORT", "DERMQ_MODEL", "DERMQ_ORT_LIBRARY", "DERMQ_MAX_UPLOAD_BYTES",
	"DERMQ_MAX_PIXELS", "DERMQ_RETENTION", "DERMQ_CONCURRENCY", "DERMQ_POLL_INTERVAL",
	"DERMQ_JOB_TIMEOUT", "DERMQ_MAX_RETRY", "DERMQ_UPLOAD_SLOTS", "DERMQ_MAX_RSS",
	"DERMQ_HARD_RSS", "DERMQ_MAX_JOBS", "DERMQ_IDLE_UNLOAD", "DERMQ_CPU_ARENA",
	"DERMQ_TRUSTED_PROXIES", "DERMQ_LOG_FORMAT", "DERMQ_LOG_LEVEL",
}, webhookSettings...)

func runAll(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfg := newConfig(fs, "Runs DermQ on this machine in one command. Without REDIS_URL it "+
		"starts an embedded Redis, in memory. "+embeddedNote, runVars...)
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}

	logger, err := newLogger(cfg, "run")
	if err != nil {
		return err
	}
	cfg.log(logger, "starting dermq run")
	if err := checkWorkerSettings(ctx, cfg, logger); err != nil {
		return err
	}

	if cfg.str("REDIS_URL") == "" {
		embedded, err := startEmbeddedRedis(logger)
		if err != nil {
			return err
		}
		defer stopEmbeddedRedis(embedded, logger)
		*cfg.values["REDIS_URL"] = "redis://" + embedded.Addr()
		fmt.Printf("\n%s\n", embeddedNote)
	}

	return runWebAndWorker(ctx, cfg, logger)
}

// startEmbeddedRedis starts an in-process Redis on a free loopback port.
// Miniredis only counts a key's time to live down when told to: ClockTTL
// ties TTLs to the wall clock, so that DERMQ_RETENTION holds as it does on a
// real Redis. Expired keys go the next time any command reaches it, and
// asynq's polling reaches it many times a second.
func startEmbeddedRedis(logger *slog.Logger) (*miniredis.Miniredis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting embedded redis: %w", err)
	}

	logger.Info("embedded redis started", "addr", m.Addr())
	return m, nil
}

// runWebAndWorker serves the web app in this process and supervises a
// worker child until ctx ends.
func runWebAndWorker(ctx context.Context, cfg *config, logger *slog.Logger) error {
	rdb, err := openRedis(ctx, cfg.str("REDIS_URL"))
	if err != nil {
		return err
	}
	defer rdb.Close()

	hooks, stopWebhooks, err := startWebhooks(cfg, rdb, logger, true)
	if err != nil {
		return err
	}
	defer stopWebhooks()

	app, err := buildWebApp(ctx, cfg, rdb, hooks, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", ":"+cfg.str("PORT"))
	if err != nil {
		return fmt.Errorf("listening on port %s: %w", cfg.str("PORT"), err)
	}

	ctx, cancel := context.WithCancel(ctx)
	supervised := make(chan error, 1)
	go func() {
		supervised <- superviseWorker(ctx, cfg, logger)
		cancel()
	}()

	fmt.Printf("\nDermQ is running. Open http://localhost:%s in your browser.\n"+
		"Press Ctrl+C to stop.\n\n", cfg.str("PORT"))
	err = serveListener(ctx, app, ln, logger)
	cancel()
	return errors.Join(err, <-supervised)
}

// checkModel makes sure the model exists before any upload is taken, and
// gives the worker child its absolute path. The default model is also looked
// for beside the executable (see findModel).
func checkModel(cfg *config) error {
	path := cfg.str("DERMQ_MODEL")
	if path == defaultModel {
		if found, err := findModel(""); err == nil {
			path = found
		}
	}

	model, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("finding the model: %w", err)
	}
	if _, err := os.Stat(model); err != nil {
		return fmt.Errorf("finding the model (DERMQ_MODEL, --model): %w (run dermq from "+
			"the repository root, or set DERMQ_MODEL)", err)
	}

	*cfg.values["DERMQ_MODEL"] = model
	return nil
}
