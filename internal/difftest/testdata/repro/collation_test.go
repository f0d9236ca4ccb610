package repro

import (
	"context"
	"os"
	"testing"

	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ormloader/ormloader/dataloader"
	"github.com/ormloader/ormloader/gormloader"
	"github.com/ormloader/ormloader/internal/testdb"
)

type Owner struct {
	Code string `gorm:"primaryKey;size:8"`
	Pets []Pet  `gorm:"foreignKey:OwnerCode"`
}

type Pet struct {
	ID        uint
	OwnerCode string `gorm:"size:8"`
	Owner     *Owner `gorm:"foreignKey:OwnerCode"`
}

func TestCollation(t *testing.T) {
	if os.Getenv(testdb.MySQLEnv) == "" {
		t.Skip()
	}
	d, _ := testdb.MySQL(t)
	db, _ := gorm.Open(mysql.Open(d.DSN), &gorm.Config{Logger: logger.Discard})
	db.AutoMigrate(&Owner{}, &Pet{})
	db.Create(&Owner{Code: "ab"})
	db.Create(&[]Pet{{ID: 1, OwnerCode: "AB"}, {ID: 2, OwnerCode: "ab "}})
	db.Use(gormloader.New())
	ctx, sc := dataloader.NewScope(context.Background())
	defer sc.Close()
	var pets []Pet
	db.WithContext(ctx).Find(&pets)
	for i := range pets {
		got, err := gormloader.LoadOne[Owner](ctx, db, &pets[i], "Owner")
		var want []Owner
		db.Model(&pets[i]).Association("Owner").Find(&want)
		t.Logf("pet %d (%q): gormloader %v %v, Association %v", pets[i].ID, pets[i].OwnerCode, got, err, want)
	}
	var owners []Owner
	db.WithContext(ctx).Find(&owners)
	got, err := gormloader.Load[Pet](ctx, db, &owners[0], "Pets")
	var want []Pet
	db.Model(&owners[0]).Association("Pets").Find(&want)
	t.Logf("owner %q pets: gormloader %v %v, Association %v", owners[0].Code, got, err, want)
}
