package dataloader

import (
	"errors"
	"fmt"
)

var (
	// ErrNoScope is returned by loaders created with [WithStrict] when the
	// context carries no [Scope]. Open one per request with [NewScope] (or
	// install the gqlgen integration, which does it per operation).
	ErrNoScope = errors.New("dataloader: no scope in context (open one per request with dataloader.NewScope)")

	// ErrScopeClosed is returned by loads on a scope after [Scope.Close], and
	// to waiters of batches that had not started when the scope was closed.
	ErrScopeClosed = errors.New("dataloader: scope is closed")

	// ErrNotFound is matched (errors.Is) by the per-key error of a key that a
	// map batch function left out of its result.
	ErrNotFound = errors.New("dataloader: not found")

	// ErrWrongLength is matched by the error given to every key of a batch
	// whose slice batch function returned a number of values or errors that
	// differs from the number of keys.
	ErrWrongLength = errors.New("dataloader: batch function returned the wrong number of results")

	// ErrLoadCycle is matched by the error of a load that would wait
	// forever: a batch function loading a key of its own batch, or of a
	// batch that waits, through others, for its own. A goroutine that uses
	// the batch function's context counts as the batch function, also one
	// the batch function does not wait for (it gets this error rather than
	// the value once the batch ends). Only batch functions of tracked mode
	// (a scope with workers: the gqlgen integration) are recognized, and
	// only through their context: a worker started with [Scope.Go] or
	// [Scope.StartWorker] inside a batch function is a worker of its own,
	// and in window mode such a load hangs until its context ends. Load the
	// key after the batch function returns, or compute it in the batch.
	ErrLoadCycle = errors.New("dataloader: a batch function waits for its own batch")

	// ErrPanic is matched by [*PanicError].
	ErrPanic = errors.New("dataloader: batch function panicked")
)

// KeyError is a per-key error produced by the loader itself (not by the batch
// function): the key was missing from a map result, or the batch function
// broke the length contract. It names the loader and the key.
type KeyError struct {
	Loader string
	Key    any
	Err    error // ErrNotFound or ErrWrongLength
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("dataloader: loader %q, key %v: %s", e.Loader, e.Key, trimPrefix(e.Err))
}

func (e *KeyError) Unwrap() error { return e.Err }

// PanicError is returned to every waiter of a batch whose batch function
// panicked (the panic was also logged once, with the stack), and by a load
// whose cache key function panicked.
type PanicError struct {
	Loader string
	Value  any    // the value passed to panic
	Stack  []byte // the stack of the panicking goroutine
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("dataloader: loader %q: panic: %v", e.Loader, e.Value)
}

// Is reports whether target is [ErrPanic].
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func trimPrefix(err error) string {
	const p = "dataloader: "
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// NotCached marks err, a per-key error returned by a batch function, as a
// failure rather than an answer: the key's waiters get err (unwrapped), and
// nothing is cached, so the next load of the key calls the batch function
// again, as after a batch error. Use it when a batch fails for some of its
// keys only (the ORM adapters: one partition's statement failed, the others'
// did not). A nil err stays nil.
func NotCached(err error) error {
	if err == nil {
		return nil
	}
	return notCached{err}
}

type notCached struct{ err error }

func (e notCached) Error() string { return e.err.Error() }
func (e notCached) Unwrap() error { return e.err }
