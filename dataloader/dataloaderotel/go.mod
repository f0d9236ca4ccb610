module github.com/ormloader/ormloader/dataloader/dataloaderotel

go 1.26.0

require (
	github.com/ormloader/ormloader v0.0.0-00010101000000-000000000000
	go.opentelemetry.io/otel v1.11.1
	go.opentelemetry.io/otel/sdk v1.11.1
	go.opentelemetry.io/otel/trace v1.11.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/go-logr/logr v1.2.3 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	golang.org/x/sys v0.0.0-20220919091848-fb04ddd9f9c8 // indirect
)

replace github.com/ormloader/ormloader => ../../
