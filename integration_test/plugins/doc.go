// Package plugins tests ormloader with third-party plugins of the ORMs
// (GORM's read/write splitting, gorm.io/plugin/dbresolver), in a module of
// its own so that the library's module does not require them.
package plugins
