package gormloader

import (
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// qualifyOrder qualifies plain column lists (so that a many-to-many JOIN's
// ORDER BY cannot be ambiguous) and leaves every other fragment as written.
func TestQualifyOrder(t *testing.T) {
	db, err := gorm.Open(sqlite.Open("file:qualify?mode=memory"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	l := &Loader{db: db}
	for order, want := range map[string]string{
		"name":                  "`people`.`name`",
		"name DESC, id":         "`people`.`name` DESC, `people`.`id`",
		" year asc ,id desc":    "`people`.`year` asc, `people`.`id` desc",
		"LOWER(name)":           "LOWER(name)",
		"people.name":           "people.name",
		"name DESC NULLS FIRST": "name DESC NULLS FIRST",
		"name, 2":               "name, 2",
	} {
		if got := l.qualifyOrder("people", order); got != want {
			t.Errorf("qualifyOrder(%q) = %q, want %q", order, got, want)
		}
	}
}
