package main

import (
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// embeddedNote is what `dermq run` says about its embedded Redis in --help
// and in its start-up banner.
const embeddedNote = "The embedded Redis keeps nothing across restarts: predictions " +
	"still queued or running when dermq stops are lost, and so are results. Set " +
	"REDIS_URL to a Redis server of your own to keep jobs."

// stopEmbeddedRedis stops the embedded Redis, first warning how many
// predictions it still held: they are lost with it.
func stopEmbeddedRedis(m *miniredis.Miniredis, logger *slog.Logger) {
	defer m.Close()

	dropped, err := unfinishedTasks(m.Addr())
	if err != nil {
		logger.Warn("counting the predictions the embedded redis drops", "error", err)
		return
	}
	if dropped > 0 {
		logger.Warn("embedded redis stopped: queued and running predictions are lost",
			"dropped", dropped)
	}
}

// unfinishedTasks counts the tasks of every queue that are waiting, running,
// scheduled or due for a retry.
func unfinishedTasks(addr string) (int, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	defer rdb.Close()

	queues, err := inspector.Queues()
	if err != nil {
		return 0, err
	}

	n := 0
	for _, queue := range queues {
		info, err := inspector.GetQueueInfo(queue)
		if err != nil {
			return 0, err
		}
		n += info.Pending + info.Active + info.Scheduled + info.Retry + info.Aggregating
	}
	return n, nil
}
