package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
)

// maxPartBytes caps one decoded attachment.
const maxPartBytes = 30 << 20

// extractPart returns the decoded body of the MIME part numbered part
// ("1", "2.3": IMAP numbering, as mailparse reports it) of a raw message.
func extractPart(raw []byte, part string) ([]byte, error) {
	var path []int
	for _, p := range strings.Split(part, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad part number %q", part)
		}
		path = append(path, n)
	}
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	return walkPart(e, path)
}

func walkPart(e *message.Entity, path []int) ([]byte, error) {
	mr := e.MultipartReader()
	if mr == nil {
		// A single-part message is part 1.
		if len(path) == 1 && path[0] == 1 {
			return readBody(e)
		}
		return nil, errors.New("no such part")
	}
	for i := 1; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errors.New("no such part")
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("reading part %d: %w", i, err)
		}
		if i != path[0] {
			continue
		}
		if len(path) == 1 {
			return readBody(p)
		}
		return walkPart(p, path[1:])
	}
}

// readBody reads a part's transfer-decoded bytes without charset
// conversion (an attachment is downloaded as sent).
func readBody(e *message.Entity) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(e.Body, maxPartBytes+1))
	if err != nil {
		return nil, fmt.Errorf("decoding part: %w", err)
	}
	if len(b) > maxPartBytes {
		return nil, fmt.Errorf("part is larger than %d MiB", maxPartBytes>>20)
	}
	return b, nil
}
