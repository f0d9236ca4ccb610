package ormloadertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Request is a GraphQL operation to send with [Operation].
type Request struct {
	Query     string
	Variables map[string]any
	Path      string      // where the handler serves GraphQL; "" is "/query"
	Header    http.Header // added to the request: authentication, a viewer
}

// Budget is what one GraphQL operation may cost. The zero Budget is the
// N+1 rule alone: every relation in one batch per GraphQL path, with no
// limit on the total.
type Budget struct {
	// Statements is the most statements the operation may run in all;
	// zero or less sets no limit.
	Statements int
	// Batches is the most batches of one relation at one GraphQL path
	// (for statements that resolvers run themselves, the most resolver
	// calls of one field at one path that run any); zero or less means 1.
	// Whatever it is, a relation loaded one key at a time in two batches
	// or more under a list is an N+1.
	Batches int
}

func (b Budget) maxBatches() int { return max(b.Batches, 1) }

// Operation sends req to h as a POST request with a JSON body, counts what
// it runs on the databases that report to c, and fails t (with t.Errorf)
// if the response is not a success without GraphQL errors, or if the
// operation exceeds budget. The failure names each N+1 by relation,
// GraphQL path and call site, with its statements:
//
//	Band.albums ×20 at bands[*].albums: 20 statements in 20 resolver calls, one key each, at graph/naive.go:83 (graph.naiveBand.Albums)
//	    20× SELECT * FROM `albums` WHERE band_id = ? ORDER BY id LIMIT 4
//
// Statements are attributed through their contexts: a statement of a
// dataloader batch (in a scope opened under the request, such as
// gqlgenloader's) counts for the batch's loader at the GraphQL paths of the
// loads that waited for it; one a resolver ran with its own context counts
// for that resolver's field and path.
func Operation(t testing.TB, c *Counter, h http.Handler, req Request, budget Budget) *Report {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": req.Query, "variables": req.Variables})
	if err != nil {
		t.Fatalf("ormloadertest: the request's variables: %v", err)
	}
	path := req.Path
	if path == "" {
		path = "/query"
	}
	ctx := t.Context()
	rec := newRecording(ctx, nil)
	r := httptest.NewRequestWithContext(rec.context(ctx), http.MethodPost, path, bytes.NewReader(body))
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	c.start(rec)
	func() {
		defer c.stop(rec)
		h.ServeHTTP(w, r)
	}()
	rep := rec.report()
	name := rep.Operation
	if name == "" {
		name = shorten(strings.Join(strings.Fields(req.Query), " "), 80)
	}
	var resp struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &resp) != nil || len(resp.Errors) > 0 {
		t.Errorf("ormloadertest: operation %s failed: HTTP %d: %s", name, w.Code, shorten(w.Body.String(), 2000))
		return rep
	}
	if msg := budgetError(rep, budget); msg != "" {
		t.Errorf("ormloadertest: operation %s: %sAll %s", name, msg, rep)
	}
	return rep
}

// budgetError describes what of rep exceeds b, or returns "".
func budgetError(rep *Report, b Budget) string {
	var msg string
	if reps := rep.repeated(b.maxBatches()); len(reps) > 0 {
		msg += fmt.Sprintf("N+1: %s loaded in more than %s at one GraphQL path, or one key at a time under a list:\n",
			plural(len(reps), "relation"), plural(b.maxBatches(), "batch"))
		for _, rel := range reps {
			msg += relationText(rel)
		}
	}
	if b.Statements > 0 && rep.Statements > b.Statements {
		msg += fmt.Sprintf("ran %d statements, more than the budget of %d.\n", rep.Statements, b.Statements)
	}
	return msg
}
