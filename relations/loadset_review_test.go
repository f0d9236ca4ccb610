package relations_test

// Written for the review of fd7d150/d46e1a8.

import (
	"context"
	"errors"
	"testing"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/relations"
)

// When a loser that woke first records the batch's failure (Fail with its
// own key only) before the winner does, the winner's Fail, which names the
// set's other keys as owed, is dropped ("the first failure recorded is
// kept"): the rows that load later are owed nothing and refetch the set.
// This is the interleaving behind integration_test/reliability's
// TestConcurrentLoadsOfAFailedSet (2-3 statements for one failing set).
// Fails on d46e1a8; passes since 073aa4f.
func TestReviewFailKeepsOwedKeysWhenALoserRecordsFirst(t *testing.T) {
	ctx, scope := dataloader.NewScope(context.Background())
	defer scope.Close()
	sets := relations.SetsOf(ctx)
	k := relations.MustKey
	set := &relations.Set{Model: "bands", IDs: []relations.Key{k(1), k(2), k(3)}}
	sets.Record(set)
	sets.Lookup("bands", k(1))
	boom := errors.New("boom")
	c, won := sets.Claim(set, "albums")
	if !won {
		t.Fatal("first claim not won")
	}
	c.Release()
	loser, _ := sets.Claim(set, "albums")
	// A waiter woken first; its key may have been in another set's batch,
	// whose error is not the one the set is owed.
	other := errors.New("another set's batch")
	loser.Fail(ctx, other, k(2))
	c.Fail(ctx, boom, k(1), k(1), k(2), k(3))       // the winner, naming the set's keys
	if err := c.Owed(k(3)); !errors.Is(err, boom) { // a late sibling
		t.Errorf("late sibling of the failed set: Owed = %v, want the winner's failure", err)
	}
	if err := c.Owed(k(2)); err != nil {
		t.Errorf("the loser that had its error: Owed = %v, want nil", err)
	}
}
