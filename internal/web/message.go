package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
)

// frameView is the content of a sandboxed frame.
type frameView struct {
	Title string
	Body  template.HTML
	Note  string
}

// frameDoc renders sanitised HTML as the document of a sandboxed iframe's
// srcdoc: the frame has an opaque origin, no scripts, and inherits the
// desk's CSP, so it can load nothing from elsewhere.
func (s *Server) frameDoc(v frameView) (string, error) {
	var b strings.Builder
	if err := s.pages["frame"].Execute(&b, v); err != nil {
		return "", fmt.Errorf("rendering frame: %w", err)
	}
	return b.String(), nil
}

// serveFrame writes sanitised HTML for a sandboxed iframe on a case page.
func (s *Server) serveFrame(w http.ResponseWriter, r *http.Request, v frameView) {
	h := w.Header()
	h.Set("Content-Security-Policy", cspFrame)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	if err := s.pages["frame"].Execute(w, v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering frame", "error", err)
	}
}

// messageHTML shows an inbound email's HTML part, sanitised, for the
// sandboxed frame on the case page.
func (s *Server) messageHTML(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMessage(w, r)
	if !ok {
		return
	}
	p, err := mailparse.Parse(m.Raw, parseOptions)
	if err != nil || p.HTML == "" {
		s.fail(w, r, http.StatusNotFound, "This message has no HTML part.", err)
		return
	}
	// The sanitiser is the guard; the frame's sandbox and CSP are the
	// second line should it ever miss something.
	clean := sanitizeMail(p.HTML)
	s.serveFrame(w, r, frameView{Title: "Message " + r.PathValue("mid"), Body: template.HTML(clean), Note: remoteNote(p.HTML)}) //nolint:gosec // sanitised above
}

// messageRaw downloads a stored message exactly as received (.eml).
func (s *Server) messageRaw(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMessage(w, r)
	if !ok {
		return
	}
	u := userFrom(r.Context())
	if err := store.AddEvent(r.Context(), s.cfg.DB, *m.CaseID, u.Email, "downloaded", fmt.Sprintf("message_id=%d raw", m.ID)); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The message could not be read.", err)
		return
	}
	download(w, fmt.Sprintf("message-%d.eml", m.ID), m.Raw)
}

// attachment downloads one attachment of an inbound email, always as a
// download (never rendered by the browser).
func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	m, ok := s.loadMessage(w, r)
	if !ok {
		return
	}
	part := r.PathValue("part")
	p, err := mailparse.Parse(m.Raw, parseOptions)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "The message could not be read.", err)
		return
	}
	var att *mailparse.Attachment
	for i := range p.Attachments {
		if p.Attachments[i].Part == part {
			att = &p.Attachments[i]
		}
	}
	if att == nil {
		s.fail(w, r, http.StatusNotFound, "There is no such attachment.", nil)
		return
	}
	data, err := extractPart(m.Raw, part)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "The attachment could not be read.", err)
		return
	}
	u := userFrom(r.Context())
	if err := store.AddEvent(r.Context(), s.cfg.DB, *m.CaseID, u.Email, "downloaded",
		fmt.Sprintf("message_id=%d part=%s", m.ID, part)); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The attachment could not be read.", err)
		return
	}
	download(w, att.Name, data)
}

func download(w http.ResponseWriter, name string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("Content-Length", fmt.Sprint(len(data)))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(data)
}

// contentDisposition builds an attachment disposition with an ASCII
// fallback and the RFC 6266/5987 UTF-8 name.
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	if ascii == "" {
		ascii = "attachment"
	}
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, pathEscape(name))
}

func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// draftPreview shows a draft's HTML alternative as the recipient will see
// it, in the sandboxed frame.
func (s *Server) draftPreview(w http.ResponseWriter, r *http.Request) {
	c, ok := s.loadCase(w, r)
	if !ok {
		return
	}
	var did int64
	if _, err := fmt.Sscan(r.PathValue("did"), &did); err != nil {
		s.fail(w, r, http.StatusNotFound, "There is no such draft.", nil)
		return
	}
	d, err := store.GetDraft(r.Context(), s.cfg.DB, did)
	if err != nil || d.CaseID != c.ID {
		s.fail(w, r, http.StatusNotFound, "There is no such draft in this case.", nil)
		return
	}
	// The reply's HTML comes from codedesk's own templates, but it quotes
	// what the asker wrote: it goes through the same sanitiser.
	s.serveFrame(w, r, frameView{Title: "Reply preview", Body: template.HTML(sanitizeMail(d.BodyHTML))}) //nolint:gosec // sanitised
}

// remoteNote tells the reader when images were held back.
func remoteNote(html string) string {
	if strings.Contains(strings.ToLower(html), "<img") {
		return "Images from the internet are not loaded."
	}
	return ""
}
