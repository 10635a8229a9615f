package ottavo

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"
)

// uploadChunk is the size of each message of an upload, well under gRPC's 4 MiB limit.
const uploadChunk = 64 * 1024

// sendChunks reads data to its end and sends it in chunks; the first send carries the names.
func sendChunks(data io.Reader, send func(chunk []byte, first bool) error) error {
	buf := make([]byte, uploadChunk)
	first := true
	for {
		n, err := io.ReadFull(data, buf)
		if n > 0 {
			chunk := make([]byte, n)
			copy(chunk, buf[:n])
			if sendErr := send(chunk, first); sendErr != nil {
				return sendErr
			}
			first = false
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if first {
		return send(nil, true)
	}
	return nil
}

// chunkReader reads a server stream of chunks as one io.ReadCloser.
type chunkReader struct {
	capability string
	cancel     context.CancelFunc
	next       func() ([]byte, error)
	pending    []byte
	err        error
}

func newChunkReader(capability string, cancel context.CancelFunc, next func() ([]byte, error)) io.ReadCloser {
	return &chunkReader{capability: capability, cancel: cancel, next: next}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		chunk, err := r.next()
		if errors.Is(err, io.EOF) {
			r.err = io.EOF
		} else if err != nil {
			r.err = classify(r.capability, err)
		}
		r.pending = chunk
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// Close stops the stream.
func (r *chunkReader) Close() error {
	r.cancel()
	return nil
}

// Subscription delivers a stream's messages on C until it ends or Close is
// called; Err tells why it ended (nil after Close or a clean end).
type Subscription[T any] struct {
	// C receives each message; it is closed when the subscription ends.
	C      <-chan *T
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
	closed bool
}

func newSubscription[T any](capability string, cancel context.CancelFunc, recv func() (*T, error)) *Subscription[T] {
	c := make(chan *T)
	s := &Subscription[T]{C: c, cancel: cancel}
	go func() {
		defer close(c)
		for {
			msg, err := recv()
			if err != nil {
				s.mu.Lock()
				if !s.closed && !errors.Is(err, io.EOF) {
					s.err = classify(capability, err)
				}
				s.mu.Unlock()
				cancel()
				return
			}
			c <- msg
		}
	}()
	return s
}

// confirmedSubscription waits for the runtime's confirmation of a watch (the
// response confirms reports true for) and then returns the subscription, so a
// change made after it returns arrives on C. Confirmations are not delivered; a
// change that comes before the confirmation is, first.
func confirmedSubscription[T any](capability string, cancel context.CancelFunc, recv func() (*T, error), confirms func(*T) bool) (*Subscription[T], error) {
	var early []*T
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			err = errors.New("the runtime ended the subscription before confirming it")
		}
		if err != nil {
			cancel()
			return nil, classify(capability, err)
		}
		if confirms(msg) {
			break
		}
		early = append(early, msg)
	}
	return newSubscription(capability, cancel, func() (*T, error) {
		if len(early) > 0 {
			msg := early[0]
			early = early[1:]
			return msg, nil
		}
		for {
			msg, err := recv()
			if err != nil || !confirms(msg) {
				return msg, err
			}
		}
	}), nil
}

// Close ends the subscription; C is closed soon after.
func (s *Subscription[T]) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
}

// Err is why the subscription ended, or nil.
func (s *Subscription[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
