package demo

import (
	"flag"
	"fmt"
	"math/rand/v2"
)

// Size is the size of the generated data set.
type Size struct {
	Labels  int // record labels
	Bands   int
	Albums  int // per band (a few bands have fewer)
	Tracks  int // per album (some albums have one fewer)
	Members int // per band, drawn from Bands*2 people
}

// DefaultSize is the data set of the example servers: 100 bands, 1 000
// albums, about 9 500 tracks.
var DefaultSize = Size{Labels: 10, Bands: 100, Albums: 10, Tracks: 10, Members: 4}

// RegisterFlags adds -labels, -bands, -albums, -tracks and -members to fs,
// defaulting to DefaultSize.
func (s *Size) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&s.Labels, "labels", DefaultSize.Labels, "record labels")
	fs.IntVar(&s.Bands, "bands", DefaultSize.Bands, "bands")
	fs.IntVar(&s.Albums, "albums", DefaultSize.Albums, "albums per band")
	fs.IntVar(&s.Tracks, "tracks", DefaultSize.Tracks, "tracks per album")
	fs.IntVar(&s.Members, "members", DefaultSize.Members, "members per band")
}

// Dataset is the example data, independent of any ORM: each example inserts
// it in this order (labels, people, then bands with their albums and tracks),
// so on a fresh database the rows get the same ids in every example.
type Dataset struct {
	Labels []string
	People []string
	Bands  []Band
}

// Band is a generated band.
type Band struct {
	Name    string
	Label   int   // index into Labels, or -1 for none
	Members []int // indexes into People
	Albums  []Album
}

// Album is a generated album.
type Album struct {
	Title  string
	Year   int
	Tracks []string // in order: position i+1
}

// Generate returns the data set of size s. The same size gives the same
// data: the generator has a fixed seed.
func Generate(s Size) Dataset {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(list []string) string { return list[rng.IntN(len(list))] }
	var d Dataset
	for range s.Labels {
		d.Labels = append(d.Labels, fmt.Sprintf("%s %s Records", word(adjectives), word(nouns)))
	}
	for i := range s.Bands * 2 {
		d.People = append(d.People, fmt.Sprintf("%s %s%d", word(firstNames), word(lastNames), i+1))
	}
	for i := range s.Bands {
		b := Band{Name: fmt.Sprintf("The %s %ss", word(adjectives), word(nouns)), Label: -1}
		if s.Labels > 0 && i%7 != 6 { // every seventh band has no label
			b.Label = rng.IntN(s.Labels)
		}
		if len(d.People) > 0 {
			b.Members = rng.Perm(len(d.People))[:min(s.Members, len(d.People))]
		}
		year := 1965 + rng.IntN(40)
		for j := range max(s.Albums-i%3, 0) { // 10, 9, 8, 10, ... albums
			a := Album{Title: fmt.Sprintf("%s %s", word(adjectives), word(nouns)), Year: year + j*2}
			for k := range max(s.Tracks-j%2, 0) {
				a.Tracks = append(a.Tracks, fmt.Sprintf("%s of the %s (%d)", word(nouns), word(nouns), k+1))
			}
			b.Albums = append(b.Albums, a)
		}
		d.Bands = append(d.Bands, b)
	}
	return d
}

var (
	adjectives = []string{"Velvet", "Electric", "Silent", "Golden", "Crimson", "Hollow", "Neon", "Wandering", "Paper", "Iron", "Blue", "Distant", "Broken", "Lunar", "Wild", "Quiet"}
	nouns      = []string{"Owl", "Harbour", "Engine", "Garden", "Mirror", "River", "Comet", "Lantern", "Machine", "Forest", "Signal", "Tide", "Crown", "Echo", "Window", "Orchard"}
	firstNames = []string{"Ada", "Bo", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Juno", "Kit", "Lev", "Mira", "Noor", "Otto", "Pia"}
	lastNames  = []string{"Arden", "Brook", "Cole", "Dunn", "Ellis", "Frost", "Grey", "Hale", "Ives", "Jansen", "Kerr", "Lund", "Moss", "Nash", "Orr", "Pike"}
)
