package tenantapp

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Seed inserts the rows of tenants 1 to n. Tenant t's rows have IDs 10(t-1)+1
// and up in every table, and some of its rows point at the next tenant's
// (t%n+1) on purpose, so that every relation would show a foreign row if the
// tenant scope were missing from its statement:
//   - a post of the next tenant is authored by t's user 3 (has-many);
//   - a profile of the next tenant belongs to t's user 2, who has none of
//     their own (has-one);
//   - t's team 1 has the next tenant's user 1 as a member, and t's user 3 is
//     a member of the next tenant's team 2 (many-to-many, both ways);
//   - t's post 2 is tagged with the next tenant's tag 1, and the next
//     tenant's post 3 with t's tag 2 (many-to-many, both ways);
//   - comments of the next tenant are on t's post 2 and team 2
//     (polymorphic).
//
// Join-table rows belong to the tenant of the row they start from.
func Seed(db *gorm.DB, n int) error {
	var (
		users    []User
		profiles []Profile
		teams    []Team
		posts    []Post
		tags     []Tag
		comments []Comment
		members  []TeamMember
		postTags []PostTag
	)
	for t := uint(1); t <= uint(n); t++ {
		next := t%uint(n) + 1
		id := func(k uint) uint { return 10*(t-1) + k }
		nid := func(k uint) uint { return 10*(next-1) + k }
		for k := uint(1); k <= 3; k++ {
			users = append(users, User{ID: id(k), TenantID: t, Name: fmt.Sprintf("user %d.%d", t, k)})
			tags = append(tags, Tag{ID: id(k), TenantID: t, Name: fmt.Sprintf("tag %d.%d", t, k)})
		}
		profiles = append(profiles,
			Profile{ID: id(1), TenantID: t, UserID: id(1), Bio: fmt.Sprintf("bio %d.1", t)},
			Profile{ID: id(2), TenantID: next, UserID: id(2), Bio: fmt.Sprintf("bio of tenant %d for %d.2", next, t)})
		teams = append(teams,
			Team{ID: id(1), TenantID: t, Name: fmt.Sprintf("team %d.1", t)},
			Team{ID: id(2), TenantID: t, Name: fmt.Sprintf("team %d.2", t)})
		members = append(members,
			TeamMember{TeamID: id(1), UserID: id(1), TenantID: t},
			TeamMember{TeamID: id(1), UserID: id(2), TenantID: t},
			TeamMember{TeamID: id(2), UserID: id(3), TenantID: t},
			TeamMember{TeamID: id(1), UserID: nid(1), TenantID: t},
			TeamMember{TeamID: nid(2), UserID: id(3), TenantID: next})
		posts = append(posts,
			Post{ID: id(1), TenantID: t, AuthorID: id(1), Title: fmt.Sprintf("post %d.1", t)},
			Post{ID: id(2), TenantID: t, AuthorID: id(1), Title: fmt.Sprintf("post %d.2", t)},
			Post{ID: id(3), TenantID: t, AuthorID: id(2), Title: fmt.Sprintf("post %d.3", t)},
			Post{ID: id(4), TenantID: next, AuthorID: id(3), Title: fmt.Sprintf("post of tenant %d by %d.3", next, t)})
		postTags = append(postTags,
			PostTag{PostID: id(1), TagID: id(1), TenantID: t},
			PostTag{PostID: id(1), TagID: id(2), TenantID: t},
			PostTag{PostID: id(2), TagID: id(3), TenantID: t},
			PostTag{PostID: id(3), TagID: id(1), TenantID: t},
			PostTag{PostID: id(2), TagID: nid(1), TenantID: t},
			PostTag{PostID: nid(3), TagID: id(2), TenantID: next},
			PostTag{PostID: id(4), TagID: nid(2), TenantID: next})
		comments = append(comments,
			Comment{ID: id(1), TenantID: t, OwnerID: id(1), OwnerType: "posts", Body: fmt.Sprintf("comment %d.1", t)},
			Comment{ID: id(2), TenantID: t, OwnerID: id(1), OwnerType: "posts", Body: fmt.Sprintf("comment %d.2", t)},
			Comment{ID: id(3), TenantID: t, OwnerID: id(1), OwnerType: "teams", Body: fmt.Sprintf("comment %d.3", t)},
			Comment{ID: id(4), TenantID: next, OwnerID: id(2), OwnerType: "posts", Body: fmt.Sprintf("comment of tenant %d on post %d.2", next, t)},
			Comment{ID: id(5), TenantID: next, OwnerID: id(2), OwnerType: "teams", Body: fmt.Sprintf("comment of tenant %d on team %d.2", next, t)})
	}
	return db.Transaction(func(tx *gorm.DB) error {
		for _, rows := range []any{&users, &profiles, &teams, &posts, &tags, &comments, &members, &postTags} {
			// 100 rows at a time stay below every dialect's bind limit.
			if err := tx.Omit(clause.Associations).CreateInBatches(rows, 100).Error; err != nil {
				return fmt.Errorf("tenantapp: seed: %w", err)
			}
		}
		return nil
	})
}
