package entloader

import (
	"embed"
	"fmt"
	"go/token"
	"text/template/parse"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

// Extension is the entc extension that generates the batched loaders into the
// application's ent package. Register it with entc.Extensions (with entgql,
// in either order):
//
//	ex, err := entloader.NewExtension()
//	...
//	err = entc.Generate("./schema", &gen.Config{}, entc.Extensions(gqlExt, ex))
type Extension struct {
	entc.DefaultExtension
	prefix    string
	templates []*gen.Template
	// entgql is set by the generation hook when entgql's gql_edge template is
	// registered; the templates read it through the entloaderGQL function.
	// The hook runs before the templates execute.
	entgql bool
}

var _ entc.Extension = (*Extension)(nil)

// Option configures the Extension.
type Option func(*Extension) error

// WithMethodPrefix prefixes the generated edge methods: with "Load",
// Band.Albums(ctx) becomes Band.LoadAlbums(ctx). Use it when the schema's
// types already have methods named after their edges. With a prefix, entgql's
// own edge methods (gql_edge.go) are left as entgql generates them.
func WithMethodPrefix(prefix string) Option {
	return func(e *Extension) error {
		if prefix != "" && (!token.IsIdentifier(prefix) || !token.IsExported(prefix)) {
			return fmt.Errorf("entloader: method prefix %q is not an exported Go identifier", prefix)
		}
		e.prefix = prefix
		return nil
	}
}

// NewExtension returns the extension. It validates the options.
func NewExtension(opts ...Option) (*Extension, error) {
	e := &Extension{}
	for _, opt := range opts {
		if err := opt(e); err != nil {
			return nil, err
		}
	}
	main, err := gen.NewTemplate("entloader").Funcs(e.funcs()).ParseFS(templates, "template/entloader.tmpl")
	if err != nil {
		return nil, fmt.Errorf("entloader: parsing templates: %w", err)
	}
	e.templates = []*gen.Template{main}
	return e, nil
}

//go:embed template/*.tmpl
var templates embed.FS

// Templates returns the extension's templates.
func (e *Extension) Templates() []*gen.Template { return e.templates }

func (e *Extension) funcs() map[string]any {
	return map[string]any{
		"entloaderGQL":        func() bool { return e.entgql && e.prefix == "" },
		"entloaderPrefix":     func() string { return e.prefix },
		"entloaderRelayConn":  relayConnection,
		"entloaderGQLEdge":    gqlEdge,
		"entloaderMultiOrder": multiOrder,
	}
}

// Hooks returns the generation hook that detects entgql and, if it is
// there, adds the replacement of its gql_edge template.
func (e *Extension) Hooks() []gen.Hook {
	return []gen.Hook{func(next gen.Generator) gen.Generator {
		return gen.GenerateFunc(func(g *gen.Graph) error {
			if err := e.replaceEntGQLEdges(g); err != nil {
				return err
			}
			return next.Generate(g)
		})
	}}
}

// replaceEntGQLEdges looks for another extension's gql_edge template
// (entgql's). If there is one (and no method prefix), it parses entloader's
// gql_edge with that extension's template functions (entgql's pagination
// helpers, without importing entgql here) and appends it to the graph's
// templates: the later definition of a template wins.
func (e *Extension) replaceEntGQLEdges(g *gen.Graph) error {
	var gql *gen.Template
	for _, t := range g.Templates {
		for _, tt := range t.Templates() {
			if tt.Name() == "gql_edge" && tt.Tree != nil && !parse.IsEmptyTree(tt.Tree.Root) && !e.owns(t) {
				gql = t
			}
		}
	}
	e.entgql = gql != nil
	if !e.entgql || e.prefix != "" {
		return nil
	}
	t, err := gen.NewTemplate("entloader_gql").Funcs(gql.FuncMap).Funcs(e.funcs()).ParseFS(templates, "template/gql_edge.tmpl")
	if err != nil {
		return fmt.Errorf("entloader: parsing the gql_edge template: %w", err)
	}
	e.templates = append(e.templates, t)
	g.Templates = append(g.Templates, t)
	return nil
}

func (e *Extension) owns(t *gen.Template) bool {
	for _, o := range e.templates {
		if o == t {
			return true
		}
	}
	return false
}

// gqlEdge reports whether entgql generates an edge method for e of n: the
// types have single-field IDs and neither n, e nor e's type is skipped
// (entgql.Skip(entgql.SkipType)).
func gqlEdge(n *gen.Type, e *gen.Edge) bool {
	if n.HasCompositeID() || e.Type.HasCompositeID() {
		return false
	}
	return !gqlSkipped(n.Annotations) && !gqlSkipped(e.Annotations) && !gqlSkipped(e.Type.Annotations)
}

// gqlSkipped reads the entgql annotation's Skip bit mask for SkipType (1).
func gqlSkipped(annotations map[string]any) bool {
	ant, ok := annotations["EntGQL"].(map[string]any)
	if !ok {
		return false
	}
	skip, _ := ant["Skip"].(float64)
	return int(skip)&1 != 0
}

// multiOrder reports whether the type's entgql annotation has MultiOrder.
func multiOrder(t *gen.Type) bool {
	ant, ok := t.Annotations["EntGQL"].(map[string]any)
	if !ok {
		return false
	}
	v, _ := ant["MultiOrder"].(bool)
	return v
}

// relayConnection reports whether entgql generates a Relay connection for
// the edge (annotation entgql.RelayConnection), read without importing entgql.
func relayConnection(e *gen.Edge) bool {
	ant, ok := e.Annotations["EntGQL"].(map[string]any)
	if !ok {
		return false
	}
	v, _ := ant["RelayConnection"].(bool)
	return v
}
