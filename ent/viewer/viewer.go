// Package viewer carries the request's viewer in a context.Context. The
// reference schema's privacy policy (Review) reads it.
package viewer

import "context"

type ctxKey struct{}

// NewContext returns a copy of ctx that carries the viewer's name.
func NewContext(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, ctxKey{}, name)
}

// FromContext returns the viewer's name and whether ctx carries one.
func FromContext(ctx context.Context) (string, bool) {
	name, ok := ctx.Value(ctxKey{}).(string)
	return name, ok
}
