package zoo

import (
	"bytes"
	"strings"
	"testing"
)

// Every row of the models table starts each column where the header does (issue 24, item
// 14: objectives longer than the fixed width pushed the rest of the row out of line).
func TestModelsTableAligned(t *testing.T) {
	var b, errs bytes.Buffer
	if err := WriteTable(&b, &errs, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	var cols []int
	for _, name := range []string{"KIND", "STEPS", "OBJECTIVE", "TRAINED", "WHERE"} {
		cols = append(cols, strings.Index(header, name))
	}
	rows := 0
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "    ") || l == "" { // a description or a card
			continue
		}
		rows++
		for _, c := range cols {
			if len(l) <= c || l[c-1] != ' ' || l[c] == ' ' {
				t.Errorf("row not aligned with the header at column %d:\n%s\n%s", c, header, l)
				break
			}
		}
	}
	if rows == 0 {
		t.Fatalf("no rows:\n%s", out)
	}
}
