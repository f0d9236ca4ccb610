package dataloader

import "context"

// LoadExisting is Load for a key that should already have an entry in the
// context's scope: if key is pending, in flight or cached, it waits for it as
// Load does and returns ok true; otherwise it enqueues nothing and returns ok
// false at once. Code that enqueued a key on someone else's behalf (the ORM
// adapters' load sets, with LoadWith) uses it to join that batch without
// starting a batch of its own if the first one is already over and was not
// cached (it failed, or a Clear forgot it). Without a scope it returns ok
// false.
func (l *Loader[K, V]) LoadExisting(ctx context.Context, key K) (v V, ok bool, err error) {
	return l.impl.loadExisting(ctx, key, false)
}

// LoadExistingUnlessHeld is [Loader.LoadExisting], except that a key
// pending in a batch that [Scope.HoldSiblings] kept from going at once is
// left alone: it returns ok false at once, and the caller claims the key's
// own set of siblings and enqueues them with [Loader.LoadWithThunk], which
// adds them to that batch. The ORM adapters join a batch this way before
// claiming a row's load set, so that the sets of several root fields of a
// query make one batch.
func (l *Loader[K, V]) LoadExistingUnlessHeld(ctx context.Context, key K) (v V, ok bool, err error) {
	return l.impl.loadExisting(ctx, key, true)
}

func (l *keyed[K, C, V]) loadExisting(ctx context.Context, key K, unlessHeld bool) (V, bool, error) {
	var zero V
	s := FromContext(ctx)
	if s == nil {
		return zero, false, nil
	}
	if err := ctx.Err(); err != nil {
		return zero, true, err
	}
	ck, err := l.safeCacheKey(key)
	if err != nil {
		return zero, true, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return zero, true, ErrScopeClosed
	}
	st := l.stateLocked(s)
	e, ok := st.cache[ck]
	if !ok || (unlessHeld && st.heldLocked(e)) {
		s.mu.Unlock()
		return zero, false, nil
	}
	s.stats.Loads++
	s.stats.CacheHits++
	if e.state == stateResolved {
		v, err := e.val, e.err
		s.mu.Unlock()
		if s.cfg.loadTracer != nil {
			s.traceLoad(ctx, l.cfg.name, e.f.id)
		}
		return v, true, err
	}
	if !s.parkLocked(ctx, e) {
		s.mu.Unlock()
		return zero, true, l.cycleError(key)
	}
	s.mu.Unlock()
	if s.cfg.loadTracer != nil {
		s.traceLoad(ctx, l.cfg.name, e.f.id)
	}
	v, err := await(ctx, s, e)
	return v, true, err
}

// Cached returns key's value if the context's scope has it cached without
// an error (loaded, primed or Set), and ok false otherwise: when key has no
// entry, when its batch is pending or in flight, and when its entry is a
// per-key error. It never waits and never enqueues; a hit counts as a load
// and a cache hit in the scope's Stats, as Load's would. Code that loads
// through a path of its own (the ORM adapters' load sets) uses it to answer
// the common case of a wide fan-out, a key already loaded, with one lookup.
func (l *Loader[K, V]) Cached(ctx context.Context, key K) (v V, ok bool) {
	return l.impl.cached(ctx, key)
}

func (l *keyed[K, C, V]) cached(ctx context.Context, key K) (V, bool) {
	var zero V
	s := FromContext(ctx)
	if s == nil || l.cfg.noCache {
		return zero, false
	}
	ck, err := l.safeCacheKey(key)
	if err != nil {
		return zero, false
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return zero, false
	}
	e, ok := l.stateLocked(s).cache[ck]
	if !ok || e.state != stateResolved || e.err != nil {
		s.mu.Unlock()
		return zero, false
	}
	v := e.val
	s.stats.Loads++
	s.stats.CacheHits++
	s.mu.Unlock()
	if s.cfg.loadTracer != nil {
		s.traceLoad(ctx, l.cfg.name, e.f.id)
	}
	return v, true
}
