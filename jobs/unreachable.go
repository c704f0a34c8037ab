package jobs

import (
	"errors"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Unreachable reports whether err means Redis could not be reached: a
// network error, a refused or reset connection, a closed client or no free
// connection in time. Callers answer such errors with "try again later".
func Unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, redis.ErrPoolTimeout)
}
