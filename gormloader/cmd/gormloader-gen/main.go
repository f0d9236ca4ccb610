// Command gormloader-gen writes typed relation loaders for GORM models:
// for every association field of every model struct in a package, a method
//
//	func (b *Band) LoadAlbums(ctx context.Context, opts ...gormloader.LoadOption) ([]Album, error)
//	func (b *Band) CountAlbums(ctx context.Context, opts ...gormloader.LoadOption) (int64, error)
//	func (b *Band) LoadLabel(ctx context.Context, opts ...gormloader.LoadOption) (*Label, error)
//
// that calls gormloader.Load, Count or LoadOne. GORM forbids a method named
// like a field, hence the Load prefix. The methods take the *gorm.DB from the
// context (gormloader.WithDB), so resolvers need nothing but ctx.
//
// Use it from the models' package:
//
//	//go:generate go run github.com/ormloader/ormloader/gormloader/cmd/gormloader-gen
//
// Flags: -dir (the package directory, default "."), -out (the file to write,
// default "gormloader_gen.go"), -types (comma-separated model names; default:
// every struct with an association field).
//
// An association field is what GORM treats as one: an exported, non-embedded
// field whose type is a struct, a pointer to a struct, or a slice of either,
// that is not a column type (time.Time, anything with a Scan or Value method)
// and is not tagged gorm:"-", embedded or serializer. The relation itself is
// resolved at run time by GORM's parser: a field GORM cannot use as a relation
// gives a clear error on the first call (or from Loader.Register at start-up).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

const gormloaderPath = "github.com/ormloader/ormloader/gormloader"

func main() {
	dir := flag.String("dir", ".", "directory of the models' package")
	out := flag.String("out", "gormloader_gen.go", "output file, relative to -dir")
	only := flag.String("types", "", "comma-separated model types (default: all with associations)")
	flag.Parse()
	if err := run(*dir, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "gormloader-gen:", err)
		os.Exit(1)
	}
}

// loadPackage type-checks the package in dir as if the output file were
// empty, so that its previous content neither takes the method names nor
// breaks the build when it is stale.
func loadPackage(dir, out string) (*packages.Package, error) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax, Dir: dir}
	outPath, err := filepath.Abs(filepath.Join(dir, out))
	if err != nil {
		return nil, err
	}
	if old, err := os.ReadFile(outPath); err == nil {
		for _, line := range strings.Split(string(old), "\n") {
			if strings.HasPrefix(line, "package ") {
				cfg.Overlay = map[string][]byte{outPath: []byte(line + "\n")}
				break
			}
		}
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("expected one package in %s, found %d", dir, len(pkgs))
	}
	if len(pkgs[0].Errors) > 0 {
		return nil, fmt.Errorf("loading %s: %v", dir, pkgs[0].Errors[0])
	}
	return pkgs[0], nil
}

func run(dir, out, only string) error {
	pkg, err := loadPackage(dir, out)
	if err != nil {
		return err
	}
	var want map[string]bool
	if only != "" {
		want = map[string]bool{}
		for _, n := range strings.Split(only, ",") {
			want[strings.TrimSpace(n)] = true
		}
	}
	src, err := generate(pkg.Types, want)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, out), src, 0o644)
}

// method is one generated method.
type method struct {
	recv, typ, field, name string
	target                 string // the target type as written in the package
	many, ptrElems         bool
	count                  bool // also CountX
}

func generate(pkg *types.Package, want map[string]bool) ([]byte, error) {
	imports := map[string]string{gormloaderPath: "gormloader", "context": "context"}
	qual := func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		if name, ok := imports[p.Path()]; ok {
			return name
		}
		imports[p.Path()] = p.Name()
		return p.Name()
	}
	var methods []method
	scope := pkg.Scope()
	names := scope.Names()
	sort.Strings(names)
	for _, name := range names {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() || !tn.Exported() {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok || named.TypeParams().Len() > 0 {
			continue
		}
		st, ok := named.Underlying().(*types.Struct)
		if !ok || (want != nil && !want[name]) {
			continue
		}
		recv := strings.ToLower(name[:1])
		for i := range st.NumFields() {
			f := st.Field(i)
			if !f.Exported() || f.Embedded() || skipTag(st.Tag(i)) {
				continue
			}
			target, many, ptrElems, ok := association(f.Type())
			if !ok {
				continue
			}
			m := method{recv: recv, typ: name, field: f.Name(), name: "Load" + f.Name(),
				target: types.TypeString(target, qual), many: many, ptrElems: ptrElems}
			if taken(named, m.name) {
				fmt.Fprintf(os.Stderr, "gormloader-gen: skipping %s.%s: %s already exists\n", name, f.Name(), m.name)
				continue
			}
			m.count = many && !taken(named, "Count"+f.Name())
			methods = append(methods, m)
		}
	}
	if want != nil {
		for n := range want {
			if !slicesContainsTyp(methods, n) {
				return nil, fmt.Errorf("type %s: not a struct with association fields in package %s", n, pkg.Path())
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by gormloader-gen. DO NOT EDIT.\n\npackage %s\n\nimport (\n", pkg.Name())
	paths := make([]string, 0, len(imports))
	for p := range imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	b.WriteString(")\n")
	for _, m := range methods {
		writeMethod(&b, m)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated code: %w\n%s", err, b.Bytes())
	}
	return src, nil
}

func slicesContainsTyp(ms []method, typ string) bool {
	for _, m := range ms {
		if m.typ == typ {
			return true
		}
	}
	return false
}

func writeMethod(b *bytes.Buffer, m method) {
	const doc = "// %s loads %s.%s through gormloader: batched with the same relation of\n" +
		"// every row loaded together with %s, cached for the request scope in ctx.\n" +
		"// The *gorm.DB comes from ctx (gormloader.WithDB).\n"
	switch {
	case m.many && m.ptrElems:
		fmt.Fprintf(b, "\n"+doc, m.name, m.typ, m.field, m.recv)
		fmt.Fprintf(b, "func (%s *%s) %s(ctx context.Context, opts ...gormloader.LoadOption) ([]*%s, error) {\n", m.recv, m.typ, m.name, m.target)
		fmt.Fprintf(b, "\trows, err := gormloader.Load[%s](ctx, nil, %s, %q, opts...)\n", m.target, m.recv, m.field)
		fmt.Fprintf(b, "\tif err != nil {\n\t\treturn nil, err\n\t}\n")
		fmt.Fprintf(b, "\tout := make([]*%s, len(rows))\n\tfor i := range rows {\n\t\tout[i] = &rows[i]\n\t}\n\treturn out, nil\n}\n", m.target)
	case m.many:
		fmt.Fprintf(b, "\n"+doc, m.name, m.typ, m.field, m.recv)
		fmt.Fprintf(b, "func (%s *%s) %s(ctx context.Context, opts ...gormloader.LoadOption) ([]%s, error) {\n", m.recv, m.typ, m.name, m.target)
		fmt.Fprintf(b, "\treturn gormloader.Load[%s](ctx, nil, %s, %q, opts...)\n}\n", m.target, m.recv, m.field)
	default:
		fmt.Fprintf(b, "\n"+doc+"// It returns nil (and issues no statement) for a NULL foreign key.\n", m.name, m.typ, m.field, m.recv)
		fmt.Fprintf(b, "func (%s *%s) %s(ctx context.Context, opts ...gormloader.LoadOption) (*%s, error) {\n", m.recv, m.typ, m.name, m.target)
		fmt.Fprintf(b, "\treturn gormloader.LoadOne[%s](ctx, nil, %s, %q, opts...)\n}\n", m.target, m.recv, m.field)
	}
	if m.count {
		fmt.Fprintf(b, "\n// Count%s counts %s.%s with one GROUP BY statement per batch.\n", m.field, m.typ, m.field)
		fmt.Fprintf(b, "func (%s *%s) Count%s(ctx context.Context, opts ...gormloader.LoadOption) (int64, error) {\n", m.recv, m.typ, m.field)
		fmt.Fprintf(b, "\treturn gormloader.Count(ctx, nil, %s, %q, opts...)\n}\n", m.recv, m.field)
		fmt.Fprintf(b, "\n// Page%s loads a page of %s.%s (gormloader.LoadPage): at most size rows after\n"+
			"// the After option's cursor, whether more follow, and the count, in one statement per batch.\n", m.field, m.typ, m.field)
		fmt.Fprintf(b, "func (%s *%s) Page%s(ctx context.Context, size int, opts ...gormloader.LoadOption) (gormloader.Page[%s], error) {\n", m.recv, m.typ, m.field, m.target)
		fmt.Fprintf(b, "\treturn gormloader.LoadPage[%s](ctx, nil, %s, %q, size, opts...)\n}\n", m.target, m.recv, m.field)
	}
}

// skipTag reports whether a gorm tag makes the field a non-association.
func skipTag(tag string) bool {
	g, ok := reflect.StructTag(tag).Lookup("gorm")
	if !ok {
		return false
	}
	for _, part := range strings.Split(g, ";") {
		k, _, _ := strings.Cut(strings.TrimSpace(part), ":")
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "-", "EMBEDDED", "SERIALIZER", "TYPE":
			return true
		}
	}
	return false
}

// association reports whether t is an association type: S, *S, []S or []*S
// for a named struct S that is not a column type.
func association(t types.Type) (target types.Type, many, ptrElems, ok bool) {
	if p, isPtr := t.(*types.Pointer); isPtr {
		t = p.Elem()
	}
	if s, isSlice := t.(*types.Slice); isSlice {
		many = true
		t = s.Elem()
		if p, isPtr := t.(*types.Pointer); isPtr {
			ptrElems = true
			t = p.Elem()
		}
	}
	named, isNamed := t.(*types.Named)
	if !isNamed {
		return nil, false, false, false
	}
	if _, isStruct := named.Underlying().(*types.Struct); !isStruct {
		return nil, false, false, false
	}
	if obj := named.Obj(); obj.Pkg() != nil && obj.Pkg().Path() == "time" {
		return nil, false, false, false
	}
	ms := types.NewMethodSet(types.NewPointer(named))
	for _, name := range []string{"Scan", "Value"} {
		if ms.Lookup(nil, name) != nil || ms.Lookup(named.Obj().Pkg(), name) != nil {
			return nil, false, false, false
		}
	}
	return named, many, ptrElems, true
}

// taken reports whether the method name is already a field or method of *T.
func taken(named *types.Named, name string) bool {
	obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(named), true, named.Obj().Pkg(), name)
	return obj != nil
}
