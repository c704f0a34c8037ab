package web

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

func parsePages() (*template.Template, error) {
	t, err := template.New("pages").Funcs(template.FuncMap{
		"percent":     percent,
		"width":       func(p float64) string { return fmt.Sprintf("%.1f", p*100) },
		"statusWords": statusWords,
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parsing page templates: %w", err)
	}

	return t, nil
}

func staticHandler() fiber.Handler {
	return filesystem.New(filesystem.Config{
		Root:       http.FS(staticFiles),
		PathPrefix: "static",
		MaxAge:     3600,
	})
}

// percent shows a probability as a percentage, never rounding a small one
// down to zero.
func percent(p float64) string {
	if p > 0 && p < 0.001 {
		return "<0.1%"
	}

	return fmt.Sprintf("%.1f%%", p*100)
}
