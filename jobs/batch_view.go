package jobs

import "strconv"

// DefaultBatchPageSize is how many items GET /api/v1/batches/{id} lists when
// the client names no page size, and how many the batch.completed webhook
// body holds, so the body is what that GET returns.
const DefaultBatchPageSize = 100

// BatchView is a batch as the JSON API shows it: its state, one page of its
// items and the addresses of its resources. The batch.completed webhook body
// is the same JSON, so one parser serves both.
type BatchView struct {
	*Batch
	// Items is one page of the batch's images, in the order they arrived.
	Items []BatchItem `json:"items,omitempty"`
	// NextCursor is the cursor of the next page; empty on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
	// URLs are the addresses of the batch's resources.
	URLs BatchURLs `json:"urls"`
}

// BatchURLs are the addresses of a batch's resources.
type BatchURLs struct {
	Get          string `json:"get"`
	Page         string `json:"page"`
	Images       string `json:"images"`
	Seal         string `json:"seal"`
	ResultsCSV   string `json:"results_csv"`
	ResultsJSONL string `json:"results_jsonl"`
	HeatmapsZip  string `json:"heatmaps_zip"`
	Webhooks     string `json:"webhooks"`
}

// NewBatchView shows b with one page of its items and its URLs under base,
// the web app's address such as "https://dermq.example.org". next is the
// position of the next page, 0 when items reach the end.
func NewBatchView(b *Batch, items []BatchItem, next int, base string) BatchView {
	api := base + "/api/v1/batches/" + b.ID

	view := BatchView{Batch: b, Items: items, URLs: BatchURLs{
		Get:          api,
		Page:         base + "/batches/" + b.ID,
		Images:       api + "/images",
		Seal:         api + "/seal",
		ResultsCSV:   api + "/results.csv",
		ResultsJSONL: api + "/results.jsonl",
		HeatmapsZip:  api + "/heatmaps.zip",
		Webhooks:     api + "/webhooks",
	}}
	if next > 0 {
		view.NextCursor = strconv.Itoa(next)
	}
	return view
}
