package tenantapp

// Every table has a tenant_id, the join tables too, and the tenant scope
// (see Open) adds "tenant_id = ?" to every query of the current table. Rows
// of one tenant may point at rows of another (Seed does so on purpose): a
// foreign key is no proof of the tenant, only the scope is.

// User has one profile, has many posts (as their author) and belongs to
// teams (many-to-many through team_members).
type User struct {
	ID       uint
	TenantID uint `gorm:"index"`
	Name     string
	Profile  *Profile
	Posts    []Post `gorm:"foreignKey:AuthorID"`
	Teams    []Team `gorm:"many2many:team_members"`
}

// Profile belongs to a user (the inverse of User.Profile).
type Profile struct {
	ID       uint
	TenantID uint `gorm:"index"`
	UserID   uint
	User     *User
	Bio      string
}

// Team has members (many-to-many) and comments (polymorphic).
type Team struct {
	ID       uint
	TenantID uint `gorm:"index"`
	Name     string
	Members  []User    `gorm:"many2many:team_members"`
	Comments []Comment `gorm:"polymorphic:Owner"`
}

// Post belongs to its author, has tags (many-to-many through post_tags)
// and comments (polymorphic).
type Post struct {
	ID       uint
	TenantID uint `gorm:"index"`
	AuthorID uint
	Author   *User
	Title    string
	Tags     []Tag     `gorm:"many2many:post_tags"`
	Comments []Comment `gorm:"polymorphic:Owner"`
}

// Tag is on posts (many-to-many, the other way).
type Tag struct {
	ID       uint
	TenantID uint `gorm:"index"`
	Name     string
	Posts    []Post `gorm:"many2many:post_tags"`
}

// Comment is on a post or a team: OwnerType is the owner's table.
type Comment struct {
	ID        uint
	TenantID  uint `gorm:"index"`
	OwnerID   uint
	OwnerType string
	Body      string
}

// TeamMember is the join table of User.Teams and Team.Members.
type TeamMember struct {
	TeamID   uint `gorm:"primaryKey"`
	UserID   uint `gorm:"primaryKey"`
	TenantID uint `gorm:"index"`
}

// PostTag is the join table of Post.Tags and Tag.Posts.
type PostTag struct {
	PostID   uint `gorm:"primaryKey"`
	TagID    uint `gorm:"primaryKey"`
	TenantID uint `gorm:"index"`
}
