package relations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ormloader/ormloader/dataloader"
)

// Set is a load set: the rows of one model that came back together in one
// result. Adapters record it after every query in a scope. A row is
// identified by its model (an adapter-chosen comparable value, e.g. a
// reflect.Type) and its primary key: copies of a struct are the same row.
type Set struct {
	// Source identifies who recorded the set (the adapter instance); adapters
	// use it to find their own sets and their database.
	Source any
	Model  any
	IDs    []Key // primary keys, in result order (duplicates allowed; the zero Key, which no lookup finds, for a row without one)
	// Rows holds adapter data per row, in the order of IDs, and Data adapter
	// data for the whole set: typically the adapter's own copy of the rows,
	// so foreign keys can be read later without touching (or racing on) the
	// caller's structs. Adapters use either.
	Rows []any
	Data any
	// At, when not nil, says where the caller holds each row, in the order
	// of IDs: an adapter-chosen comparable value per row, typically the
	// pointer to the caller's struct (nil where unknown). A lookup that
	// names where its row is ([Sets.LookupAt]) finds the set that row
	// instance came back in, not merely one with the same primary key.
	At []any
	// Fill, when not nil, fills IDs (and Rows or Data) the first time a
	// lookup of the set's model needs it, under the registry's lock: most
	// results are never asked for a relation, so an adapter can record a set
	// without reading its rows. Record keeps a set with Fill even if it has
	// no IDs yet.
	Fill func(*Set)

	claims map[any]*Claim // guarded by the Sets' mu
}

// Claim is one claim of a load set for a token (see [Sets.Claim]).
type Claim struct {
	gen     uint64
	release sync.Once
	ready   chan struct{} // closed by Release
	finish  sync.Once
	done    chan struct{} // closed by Finish

	mu     sync.Mutex       // protects the fields below
	failed error            // the failure of the claim's batch, if any
	owed   map[any]struct{} // keys of the failed batch
	had    map[any]struct{} // keys whose loads have had the failure
}

// Release tells the claim's waiters that the winner has enqueued the set's
// keys: call it right after dataloader's LoadWithThunk, before waiting.
// Release is idempotent; defer it too, so that waiters never hang if
// computing the keys fails.
func (c *Claim) Release() { c.release.Do(func() { close(c.ready) }) }

// Finish tells the claim's waiters that the winner's load is over and its
// failure, if any, recorded: the winner calls it (deferred) after Fail.
func (c *Claim) Finish() { c.finish.Do(func() { close(c.done) }) }

// WaitFinished waits until the winner has called Finish or ctx is done. A
// loser whose key was not cached when the set's batch was over (it failed,
// or a write cleared it) waits for it before asking [Claim.Owed], so that it
// never mistakes a failure the winner is about to record for a success.
func (c *Claim) WaitFinished(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait waits until the winner has released the claim or ctx is done, so that
// a loser's own key joins the batch the winner fills rather than racing ahead
// of it into a batch of its own. It returns ctx's error or nil; then check
// [Claim.Failed].
func (c *Claim) Wait(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fail records that the load of row (the row's identity in the set, as the
// adapter chooses it: its primary key, its node) failed with err, a failure
// of the claim's batch (the database was down, the statement failed),
// unless ctx, the load's own context, is done or the load would have waited
// for its own batch ([dataloader.ErrLoadCycle]): then the batch may still
// succeed for the others. The winner passes every row of the set as owed:
// each of their loads gets the failure once ([Claim.Owed]). Rows, not batch
// keys, since several rows may share one key (a belongs-to target). A loser
// that got an error records it for its own row only, so that the row is not
// owed it again; its key may have been in another set's batch, so the
// failure owed to the set is the first one reported with owed rows. Call it
// only with a non-nil err: it boxes the rows.
func (c *Claim) Fail(ctx context.Context, err error, row any, owed ...any) {
	if err == nil || ctx.Err() != nil || errors.Is(err, dataloader.ErrLoadCycle) {
		return // the load's own, not its batch's
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.had == nil {
		c.had = make(map[any]struct{})
	}
	c.had[row] = struct{}{}
	if c.failed == nil || (len(c.owed) == 0 && len(owed) > 0) {
		c.failed = err
	}
	if c.owed == nil {
		c.owed = make(map[any]struct{}, len(owed))
	}
	for _, k := range owed {
		c.owed[k] = struct{}{}
	}
}

// Failed reports whether the claim's batch failed.
func (c *Claim) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed != nil
}

// Owed returns the failure of the claim's batch if the load of row is owed
// it: row was in the failed set and no load of it has had the error yet. It
// returns each row's failure once; nil means the load should retry, by
// claiming the set again with [Sets.Retry].
//
// So every row of a set whose batch failed gets the batch's error, whether
// its load started before the failure or after it (a late sibling resolver,
// the next turn of a loop), and a relation that keeps failing costs one
// statement per level, not one per row; a row that loads again after its
// error (a retry) fetches the whole set again, and the rows after it join
// that batch.
func (c *Claim) Owed(row any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == nil {
		return nil
	}
	if _, ok := c.owed[row]; !ok {
		return nil
	}
	if _, ok := c.had[row]; ok {
		return nil
	}
	c.had[row] = struct{}{}
	return c.failed
}

// Len returns the number of rows.
func (s *Set) Len() int { return len(s.IDs) }

// Sets is the load-set registry of one request scope. Get it with [SetsOf].
// A nil *Sets (no scope) records nothing and finds nothing.
//
// When a row is recorded in several sets (a list, then the same row again on
// its own, or reached through another relation), a lookup that names the
// instance ([Sets.LookupAt]) finds the set that instance came back in; by
// primary key alone, the row belongs to the largest one, on a tie the
// latest. The largest set is where batching pays: a single-row lookup does
// not take a row away from the list it was shown in.
type Sets struct {
	mu sync.Mutex // protects the fields below and every Set's claims
	// unindexed holds the recorded sets of each model that rows does not
	// index yet: most results are never asked for a relation, so a set is
	// indexed on the first Lookup of its model.
	unindexed map[any][]*Set
	rows      map[any]map[Key]*Set // model -> primary key -> set
	at        map[any]placed       // Set.At entries of the indexed sets
	gen       uint64
}

// placed is where a Set.At entry points: row i of set.
type placed struct {
	set *Set
	i   int
}

type setsKey struct{}

// SetsOf returns the load-set registry of the scope in ctx, creating it on
// first use; nil if ctx carries no scope.
func SetsOf(ctx context.Context) *Sets {
	scope := dataloader.FromContext(ctx)
	if scope == nil {
		return nil
	}
	return scope.Local(setsKey{}, func() any { return &Sets{} }).(*Sets)
}

// Record registers set as the load set of each of its rows (see [Sets] for
// which set a row keeps). Sets of no rows are ignored. Record keeps set; do
// not modify it afterwards.
func (s *Sets) Record(set *Set) {
	if s == nil || set == nil || (len(set.IDs) == 0 && set.Fill == nil) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unindexed == nil {
		s.unindexed = make(map[any][]*Set)
	}
	s.unindexed[set.Model] = append(s.unindexed[set.Model], set)
}

// indexLocked indexes the recorded sets of model, in the order they were
// recorded.
func (s *Sets) indexLocked(model any) {
	sets := s.unindexed[model]
	if len(sets) == 0 {
		return
	}
	delete(s.unindexed, model)
	n := 0
	for _, set := range sets {
		if fill := set.Fill; fill != nil {
			set.Fill = nil
			safeFill(fill, set)
		}
		n += len(set.IDs)
	}
	if s.rows == nil {
		s.rows = make(map[any]map[Key]*Set)
	}
	idx := s.rows[model]
	if idx == nil {
		idx = make(map[Key]*Set, n)
		s.rows[model] = idx
	}
	for _, set := range sets {
		for _, id := range set.IDs {
			if id.IsZero() {
				continue
			}
			if old, ok := idx[id]; ok && old.Len() > set.Len() {
				continue
			}
			idx[id] = set
		}
		s.placeLocked(set)
	}
}

// placeLocked indexes set.At; a later set at the same place replaces an
// earlier one (the caller reused its memory for a new result).
func (s *Sets) placeLocked(set *Set) {
	if len(set.At) != len(set.IDs) {
		return // no places, or a Fill that panicked
	}
	if s.at == nil {
		s.at = make(map[any]placed, len(set.At))
	}
	for i, at := range set.At {
		if at != nil && !set.IDs[i].IsZero() {
			s.at[at] = placed{set, i}
		}
	}
}

// safeFill runs an adapter's Fill. If it panics, the set is left without
// rows: its rows then load on their own, which is slower but correct, and
// the other sets of the model are still indexed.
func safeFill(fill func(*Set), set *Set) {
	defer func() {
		if v := recover(); v != nil {
			set.IDs, set.Rows, set.Data = nil, nil, nil
			slog.Error("relations: reading a load set's keys panicked; its rows load one by one", "model", fmt.Sprint(set.Model), "panic", v)
		}
	}()
	fill(set)
}

// Lookup returns the load set the row belongs to, or nil.
func (s *Sets) Lookup(model any, pk Key) *Set { return s.LookupAt(model, pk, nil) }

// LookupAt is Lookup for the row instance at at (see [Set.At]): if a
// recorded set holds that instance and it still has primary key pk, the
// result is that set, the query the caller's row came from; otherwise the
// set pk belongs to. So a row shown in a short list and again in a longer
// one (the authors of comments) loads its relations with the list the
// caller's instance came from, and does not drag in rows of another result
// that never ask for them.
func (s *Sets) LookupAt(model any, pk Key, at any) *Set {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexLocked(model)
	if at != nil {
		if p, ok := s.at[at]; ok && p.set.Model == model && p.set.IDs[p.i] == pk {
			return p.set
		}
	}
	return s.rows[model][pk]
}

// Claim claims token (e.g. a relation and a partition) on set. won is true
// for the first claim since the last [Sets.Invalidate]: the winner computes
// the keys of every row of the set, enqueues them all (dataloader's
// LoadWithThunk), calls [Claim.Release], waits for its own key, reports a
// failure with [Claim.Fail] and calls [Claim.Finish]; if its own key joined
// an entry that was there already (another set's batch), nothing of the set
// was enqueued and that batch is not the set's: it calls Finish right after
// Release and reports no failure, so the next load of the set retries the
// claim and enqueues the set. The others (won false)
// call [Claim.Wait] and then join the winner's batch for their own key
// (dataloader's LoadExisting), which is by then pending, in flight or cached,
// and report an error with Fail too. A loser whose key is no longer there
// (the batch failed, or a write cleared it) calls [Claim.WaitFinished], then
// takes its share of the failure with [Claim.Owed] or retries with
// [Sets.Retry]. This keeps a loop over n rows at O(n) work instead of O(n²),
// a burst of concurrent loads in one batch, and a failing batch at one
// statement however the loads interleave.
func (s *Sets) Claim(set *Set, token any) (c *Claim, won bool) {
	if s == nil || set == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.currentLocked(set, token); c != nil {
		return c, false
	}
	return s.claimLocked(set, token), true
}

// Claimed returns the claim of token on set since the last
// [Sets.Invalidate], or nil if there is none. It claims nothing. A load that
// joined its key's entry without claiming the set (its key was pending, in
// flight or cached: dataloader's LoadExisting) records an error it got on
// that claim with [Claim.Fail], as a loser does, so that its row is not owed
// the failure again. The claim is the current one when the error arrives: if
// the set was claimed again meanwhile (a retry after that batch failed, a
// claim after a write), the error is recorded on the newer claim, and should
// the newer batch fail too, the row's next load fetches again instead of
// taking its share of that failure: one statement more, in a rare
// interleaving, never a failure reported twice. (Recording on the claims
// made before the load joined would drop the error of a claim made between
// that moment and the join, and report that failure twice.)
func (s *Sets) Claimed(set *Set, token any) *Claim {
	if s == nil || set == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentLocked(set, token)
}

// Retry replaces failed, a claim of token on set whose batch failed, with a
// new claim, which the caller wins; if another load has replaced it already,
// the caller gets that claim and does not win.
func (s *Sets) Retry(set *Set, token any, failed *Claim) (c *Claim, won bool) {
	if s == nil || set == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.currentLocked(set, token); c != nil && c != failed {
		return c, false
	}
	return s.claimLocked(set, token), true
}

// currentLocked returns the claim of token on set since the last
// Invalidate, or nil.
func (s *Sets) currentLocked(set *Set, token any) *Claim {
	if c, ok := set.claims[token]; ok && c.gen == s.gen {
		return c
	}
	return nil
}

func (s *Sets) claimLocked(set *Set, token any) *Claim {
	if set.claims == nil {
		set.claims = make(map[any]*Claim)
	}
	c := &Claim{gen: s.gen, ready: make(chan struct{}), done: make(chan struct{})}
	set.claims[token] = c
	return c
}

// Invalidate forgets every claim, so the next load of each relation enqueues
// its whole load set again. Adapters call it when a write clears cached
// results.
func (s *Sets) Invalidate() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}
