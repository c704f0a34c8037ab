package web

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
)

// nextLink finds the batch page's link to its next page.
var nextLink = regexp.MustCompile(`href="([^"]*)" rel="next"`)

func TestBatchPageLinksEveryImage(t *testing.T) {
	t.Parallel()

	a := newBatchTestApp(t)
	id := a.createBatch(t)
	var ids []string
	for i := range 5 {
		item, err := a.batches.Add(context.Background(), id, fmt.Sprintf("img/%d.png", i),
			[]byte(fmt.Sprintf("not an image %d", i)))
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		ids = append(ids, item.ID)
	}

	linked := map[string]bool{}
	path := "/batches/" + id + "?page_size=2"
	for pages := 0; path != ""; pages++ {
		if pages == 5 {
			t.Fatal("the pages never end")
		}
		page := string(a.getBody(t, path))
		for _, pid := range ids {
			if strings.Contains(page, `href="/predictions/`+pid+`"`) {
				linked[pid] = true
			}
		}

		path = ""
		if m := nextLink.FindStringSubmatch(page); m != nil {
			path = "/batches/" + id + html.UnescapeString(m[1])
		}
	}

	if len(linked) != len(ids) {
		t.Fatalf("the pages link %d of the %d images", len(linked), len(ids))
	}
	last := string(a.getBody(t, "/batches/"+id+"?cursor=4&page_size=2"))
	if !strings.Contains(last, `rel="prev"`) || strings.Contains(last, `rel="next"`) {
		t.Fatal("the last page should link back and not forward")
	}
}
