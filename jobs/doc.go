// Package jobs holds DermQ's job pipeline: the predict task and its payload,
// the Redis store of prediction records, uploads and results, the enqueuer
// the web process uses, and the handler and worker runtime that run
// predictions.
package jobs
