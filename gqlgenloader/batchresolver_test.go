package gqlgenloader_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// A stalled scope waits for the harness's one-minute watchdog per level; an
// operation that took half of that has stalled.
const stalled = 30 * time.Second

// gqlgen starts a batch field for every element of a list and lets one of
// them call the batch resolver; the others wait for that call. If they were
// tracked as running workers, the batch of the resolver's loads would wait
// for them until the watchdog, at every level.
func TestBatchResolvers(t *testing.T) {
	for _, tc := range []struct {
		name, query, want string
		sizes             []int
	}{{
		name:  "levels",
		query: `{ items(n: 3) { batchValue children(n: 2) { batchValue } } }`,
		want:  `{"items":[{"batchValue":10,"children":[{"batchValue":1010},{"batchValue":1020}]},{"batchValue":20,"children":[{"batchValue":2010},{"batchValue":2020}]},{"batchValue":30,"children":[{"batchValue":3010},{"batchValue":3020}]}]}`,
		// children loads its parent's value first: the second batch's
		// 3 keys are cached, so its 6 are the children's.
		sizes: []int{3, 6},
	}, {
		name:  "aliases are calls of their own",
		query: `{ items(n: 2) { a: batchValue b: batchValue } }`,
		want:  `{"items":[{"a":10,"b":10},{"a":20,"b":20}]}`,
		sizes: []int{2},
	}, {
		name:  "a parent outside a list",
		query: `{ item(id: 4) { batchValue } items(n: 2) { batchValue } }`,
		want:  `{"item":{"batchValue":40},"items":[{"batchValue":10},{"batchValue":20}]}`,
		sizes: []int{3}, // item's own load in its root resolver, then the lists': 4 is cached
	}, {
		name:  "beside per-element resolvers",
		query: `{ items(n: 3) { value batchValue siblingValue } }`,
		want:  `{"items":[{"value":10,"batchValue":10,"siblingValue":10},{"value":20,"batchValue":20,"siblingValue":20},{"value":30,"batchValue":30,"siblingValue":30}]}`,
		sizes: []int{3},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			start := time.Now()
			data := h.only(h.run(t.Context(), tc.query))
			if d := time.Since(start); d > stalled {
				t.Fatalf("the operation took %v: it waited for the watchdog", d)
			}
			if data != tc.want {
				t.Fatalf("data:\n%s\nwant:\n%s", data, tc.want)
			}
			if got := sizes(h.takeBatches()); !slices.Equal(got, tc.sizes) {
				t.Fatalf("batch sizes %v, want %v", got, tc.sizes)
			}
		})
	}
}

// More elements than gqlgen's worker limit (8): the elements waiting for the
// call hold slots, the one making it holds one too.
func TestBatchResolverWorkerLimit(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	var out struct {
		Items []struct {
			Children []struct{ BatchValue int }
		}
	}
	if err := json.Unmarshal([]byte(h.only(h.run(t.Context(), `{ items(n: 20) { children(n: 5) { batchValue } } }`))), &out); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > stalled {
		t.Fatalf("the operation took %v: it waited for the watchdog", d)
	}
	for i, it := range out.Items {
		for j, c := range it.Children {
			if want := ((i+1)*100 + j + 1) * 10; c.BatchValue != want {
				t.Fatalf("items[%d].children[%d]: %d, want %d", i, j, c.BatchValue, want)
			}
		}
	}
	bs := h.takeBatches()
	var keys int
	for _, n := range sizes(bs) {
		keys += n
	}
	// The parents' values load in waves of the worker limit; the children's
	// 100 values are 20 LoadMany calls of 5, one batch unless a wave cut it.
	if keys != 120 {
		t.Fatalf("batches %v: %d keys, want 120", sizes(bs), keys)
	}
}

// A batch resolver that panics releases the elements waiting for it.
func TestBatchResolverPanics(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	resps := h.run(t.Context(), `{ items(n: 3) { batchBoom value } }`)
	if d := time.Since(start); d > stalled {
		t.Fatalf("the operation took %v: it waited for the watchdog", d)
	}
	if len(resps) != 1 {
		t.Fatalf("got %d responses", len(resps))
	}
	const want = `{"items":[{"batchBoom":null,"value":10},{"batchBoom":null,"value":20},{"batchBoom":null,"value":30}]}`
	if string(resps[0].Data) != want {
		t.Fatalf("data %s\nwant %s", resps[0].Data, want)
	}
	if len(resps[0].Errors) == 0 || !strings.Contains(resps[0].Errors.Error(), "always panics") {
		t.Fatalf("errors %v, want the panic", resps[0].Errors)
	}
	if got := sizes(h.takeBatches()); !slices.Equal(got, []int{3}) {
		t.Fatalf("batch sizes %v, want [3]", got)
	}
}
