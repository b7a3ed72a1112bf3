// Package pdfdoc renders the documents Custos hands out — handover and
// destruction certificates, statements — as PDFs with Chinese text, using a
// TrueType font with Chinese glyphs (Debian's fonts-lxgw-wenkai by default)
// embedded as a subset.
package pdfdoc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/go-pdf/fpdf"
)

// DefaultFont is where Debian's fonts-lxgw-wenkai puts its regular face.
const DefaultFont = "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"

// ErrNoFont says the font with Chinese glyphs is missing.
var ErrNoFont = errors.New("pdfdoc: the Chinese font is missing (install fonts-lxgw-wenkai or set CUSTOS_PDF_FONT)")

// Renderer renders documents with one font. It is safe for concurrent use.
type Renderer struct {
	path string
	once sync.Once
	font []byte
	err  error
}

// New returns a renderer using the TrueType font at path ("" for DefaultFont).
// The font is read on first use.
func New(path string) *Renderer {
	if path == "" {
		path = DefaultFont
	}
	return &Renderer{path: path}
}

// Available reports whether the font can be read.
func (r *Renderer) Available() error {
	r.once.Do(func() {
		r.font, r.err = os.ReadFile(r.path)
		if r.err != nil {
			r.err = fmt.Errorf("%w: %v", ErrNoFont, r.err)
		}
	})
	return r.err
}

// Doc is a simple document: a title, then blocks in order.
type Doc struct {
	Title    string
	Subtitle string
	Blocks   []Block
	Footer   string
}

// Block is one part of a document.
type Block interface{ render(p *fpdf.Fpdf) }

// Heading is a section heading.
type Heading string

// Para is a paragraph.
type Para string

// Fields is a two-column table of labels and values.
type Fields [][2]string

// Table is a table with a header row.
type Table struct {
	Header []string
	Widths []float64 // millimetres; zero means equal shares
	Rows   [][]string
}

// Signatures lists who signed and when.
type Signatures [][2]string

const family = "cjk"

func (h Heading) render(p *fpdf.Fpdf) {
	p.Ln(3)
	p.SetFont(family, "", 13)
	p.MultiCell(0, 7, string(h), "B", "L", false)
	p.Ln(1)
	p.SetFont(family, "", 10.5)
}

func (t Para) render(p *fpdf.Fpdf) {
	p.MultiCell(0, 5.5, string(t), "", "L", false)
	p.Ln(1)
}

func (f Fields) render(p *fpdf.Fpdf) {
	for _, kv := range f {
		x, y := p.GetXY()
		p.SetFillColor(242, 242, 242)
		p.MultiCell(45, 6, kv[0], "1", "L", true)
		h := p.GetY() - y
		p.SetXY(x+45, y)
		p.MultiCell(0, 6, kv[1], "1", "L", false)
		if h2 := p.GetY() - y; h2 > h {
			h = h2
		}
		p.SetXY(x, y+h)
	}
	p.Ln(2)
}

func (t Table) render(p *fpdf.Fpdf) {
	w, _ := p.GetPageSize()
	l, _, r, _ := p.GetMargins()
	avail := w - l - r
	widths := t.Widths
	if len(widths) != len(t.Header) {
		widths = make([]float64, len(t.Header))
		for i := range widths {
			widths[i] = avail / float64(len(t.Header))
		}
	}
	p.SetFillColor(230, 230, 230)
	for i, h := range t.Header {
		p.CellFormat(widths[i], 6.5, h, "1", 0, "L", true, 0, "")
	}
	p.Ln(-1)
	for _, row := range t.Rows {
		for i := range t.Header {
			cell := ""
			if i < len(row) {
				cell = row[i]
			}
			p.CellFormat(widths[i], 6, fit(p, cell, widths[i]-2), "1", 0, "L", false, 0, "")
		}
		p.Ln(-1)
	}
	p.Ln(2)
}

// fit shortens text to a cell's width.
func fit(p *fpdf.Fpdf, s string, w float64) string {
	if p.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && p.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func (s Signatures) render(p *fpdf.Fpdf) {
	p.Ln(2)
	for _, kv := range s {
		p.CellFormat(60, 8, kv[0], "B", 0, "L", false, 0, "")
		p.CellFormat(5, 8, "", "", 0, "L", false, 0, "")
		p.CellFormat(0, 8, kv[1], "B", 1, "L", false, 0, "")
		p.Ln(2)
	}
}

// Render produces the PDF.
func (r *Renderer) Render(d Doc) ([]byte, error) {
	if err := r.Available(); err != nil {
		return nil, err
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreator("Custos", true)
	p.SetTitle(d.Title, true)
	p.AddUTF8FontFromBytes(family, "", r.font)
	p.SetMargins(18, 18, 18)
	p.SetAutoPageBreak(true, 18)
	footer := d.Footer
	p.SetFooterFunc(func() {
		p.SetY(-14)
		p.SetFont(family, "", 8)
		p.CellFormat(0, 5, fmt.Sprintf("%s    %d/{nb}", footer, p.PageNo()), "", 0, "C", false, 0, "")
	})
	p.AliasNbPages("{nb}")
	p.AddPage()
	p.SetFont(family, "", 17)
	p.MultiCell(0, 9, d.Title, "", "C", false)
	if d.Subtitle != "" {
		p.SetFont(family, "", 10)
		p.MultiCell(0, 6, d.Subtitle, "", "C", false)
	}
	p.Ln(4)
	p.SetFont(family, "", 10.5)
	for _, b := range d.Blocks {
		b.render(p)
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("pdfdoc: %w", err)
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdfdoc: %w", err)
	}
	return buf.Bytes(), nil
}
