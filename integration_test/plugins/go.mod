module github.com/ormloader/ormloader/integration_test/plugins

go 1.26.0

replace github.com/ormloader/ormloader => ../../

require (
	github.com/ormloader/ormloader v0.0.0-00010101000000-000000000000
	gorm.io/driver/sqlite v1.6.0
	gorm.io/gorm v1.31.2
	gorm.io/plugin/dbresolver v1.6.2
)

require (
	github.com/jinzhu/inflection v1.0.0 // indirect
	github.com/jinzhu/now v1.1.5 // indirect
	github.com/mattn/go-sqlite3 v1.14.22 // indirect
	golang.org/x/text v0.43.0 // indirect
)
