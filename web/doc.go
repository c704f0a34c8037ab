// Package web is DermQ's HTTP front end: the upload page, the JSON API for
// predictions and the result page. It queues work through package jobs and
// never loads a model.
package web
