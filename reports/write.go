package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// The file names WriteAll writes.
const (
	HTMLFile     = "report.html"
	JUnitFile    = "junit.xml"
	MarkdownFile = "summary.md"
)

// Format is one output format of `gameday report`.
type Format string

// The formats of WriteFormats.
const (
	FormatHTML     Format = "html"
	FormatJUnit    Format = "junit"
	FormatMarkdown Format = "md"
)

// Formats lists every format in the order WriteAll writes them.
var Formats = []Format{FormatHTML, FormatJUnit, FormatMarkdown}

// FileName is the file a format is written to.
func (f Format) FileName() string {
	switch f {
	case FormatHTML:
		return HTMLFile
	case FormatJUnit:
		return JUnitFile
	case FormatMarkdown:
		return MarkdownFile
	}
	return ""
}

// ParseFormat reads a format name ("html", "junit", "md"/"markdown").
func ParseFormat(s string) (Format, error) {
	switch s {
	case "html":
		return FormatHTML, nil
	case "junit", "xml":
		return FormatJUnit, nil
	case "md", "markdown":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("unknown report format %q (valid: html, junit, md)", s)
}

// WriteAll writes report.html, junit.xml and summary.md into dir.
func WriteAll(dir string, r *Run) error {
	_, err := WriteFormats(dir, r, Formats)
	return err
}

// WriteFormats writes the given formats into dir (created if needed) and
// returns the paths written. Each file is rendered in memory first and
// written atomically, so a failed render leaves no half file behind.
func WriteFormats(dir string, r *Run, formats []Format) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write reports: %w", err)
	}
	var paths []string
	for _, f := range formats {
		var buf bytes.Buffer
		var err error
		switch f {
		case FormatHTML:
			err = WriteHTML(&buf, r)
		case FormatJUnit:
			err = WriteJUnit(&buf, r)
		case FormatMarkdown:
			err = WriteMarkdown(&buf, r)
		default:
			err = fmt.Errorf("unknown report format %q", f)
		}
		if err != nil {
			return paths, err
		}
		p := filepath.Join(dir, f.FileName())
		if err := writeFileAtomic(p, buf.Bytes()); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
