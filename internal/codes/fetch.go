package codes

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/store"
)

// Source is one release archive to download: a name for messages, the
// publisher's URL and, optionally, the archive's expected SHA-256.
type Source struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256,omitempty"`
}

// DefaultSources are the publishers' download locations of the current
// releases (CMS and CDC/NCHS). Publishers rename these files with each
// release; codedesk codes fetch --source NAME=URL overrides them, and the
// list is checked at each release in docs/codes.md.
func DefaultSources() []Source {
	return []Source{
		{Name: "icd10cm", URL: "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/2026/icd10cm-Code%20Descriptions-2026.zip"},
		{Name: "icd10cm-addenda", URL: "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/2026/icd10cm-Addenda-2026.zip"},
		{Name: "icd10cm-xml", URL: "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/2026/icd10cm-Table%20and%20Index-2026.zip"},
		{Name: "icd10pcs", URL: "https://www.cms.gov/files/zip/2026-icd-10-pcs-order-file-long-and-abbreviated-titles.zip"},
		{Name: "hcpcs", URL: "https://www.cms.gov/files/zip/january-2026-alpha-numeric-hcpcs-file.zip"},
		{Name: "ncci-ptp-practitioner", URL: "https://www.cms.gov/files/zip/medicare-ncci-2026-q1-practitioner-ptp-edits-ccipra-v320r0-f1.zip"},
		{Name: "ncci-mue-practitioner", URL: "https://www.cms.gov/files/zip/medicare-ncci-2026-q1-practitioner-services-mue-table.zip"},
	}
}

// FetchOptions tunes Fetch.
type FetchOptions struct {
	// Sources to download (nil: DefaultSources).
	Sources []Source
	// Client does the downloads (nil: a client with a 10-minute timeout).
	Client *http.Client
	// MaxBytes caps one archive's size (0: 1 GiB).
	MaxBytes int64
	// Import is passed to Import for the unpacked files.
	Import ImportOptions
	// Logger receives a line per download and per skipped member (nil: none).
	Logger *slog.Logger
}

// Fetch downloads each source archive, verifies it (HTTP status, size
// limit, zip integrity, and the SHA-256 when the source gives one), unpacks
// the members that are code-set files (layout PDFs, spreadsheets and notes
// are skipped) and imports them. It stops at the first failure; what was
// imported before it stays.
func Fetch(ctx context.Context, db *store.DB, opts FetchOptions) ([]ImportResult, error) {
	srcs := opts.Sources
	if srcs == nil {
		srcs = DefaultSources()
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	max := opts.MaxBytes
	if max <= 0 {
		max = 1 << 30
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "codedesk-fetch-")
	if err != nil {
		return nil, fmt.Errorf("creating download directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var out []ImportResult
	for i, s := range srcs {
		archive := filepath.Join(dir, fmt.Sprintf("%02d.zip", i))
		if err := download(ctx, client, s, archive, max); err != nil {
			return out, err
		}
		log.Info("code set archive downloaded", "source", s.Name)
		files, err := unpack(archive, filepath.Join(dir, fmt.Sprintf("%02d", i)), max, log)
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.Name, err)
		}
		if len(files) == 0 {
			return out, fmt.Errorf("%s: the archive holds no code-set file", s.Name)
		}
		res, err := Import(ctx, db, files, opts.Import)
		out = append(out, res...)
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return out, nil
}

// download fetches one source to path, checking status, size and checksum.
func download(ctx context.Context, client *http.Client, s Source, path string, max int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	req.Header.Set("User-Agent", "codedesk-codes-fetch")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: downloading: %w", s.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: downloading %s: HTTP %s", s.Name, s.URL, resp.Status)
	}
	if resp.ContentLength > max {
		return fmt.Errorf("%s: archive is %d bytes, more than the %d allowed", s.Name, resp.ContentLength, max)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, max+1))
	if err != nil {
		return fmt.Errorf("%s: downloading: %w", s.Name, err)
	}
	if n > max {
		return fmt.Errorf("%s: archive is larger than the %d bytes allowed", s.Name, max)
	}
	if s.SHA256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, s.SHA256) {
			return fmt.Errorf("%s: archive SHA-256 is %s, want %s", s.Name, got, s.SHA256)
		}
	}
	return f.Close()
}

// maxDepth bounds nested archives.
const maxDepth = 2

// unpack extracts the code-set files of a zip archive (and of zips inside
// it) into dir and returns their paths, sorted. Member names are reduced to
// their base name, so no member can write outside dir.
func unpack(archive, dir string, max int64, log *slog.Logger) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var files []string
	var walk func(archive string, depth int) error
	walk = func(archive string, depth int) error {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			return fmt.Errorf("opening archive: %w", err)
		}
		defer zr.Close()
		for i, m := range zr.File {
			if m.FileInfo().IsDir() {
				continue
			}
			base := path.Base(strings.ReplaceAll(m.Name, "\\", "/"))
			low := strings.ToLower(base)
			if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "__") {
				continue
			}
			nested := strings.HasSuffix(low, ".zip")
			if !nested && !isCodeSetName(low) {
				log.Debug("archive member skipped", "member", base)
				continue
			}
			if int64(m.UncompressedSize64) > max {
				return fmt.Errorf("member %s is larger than the %d bytes allowed", base, max)
			}
			dst := filepath.Join(dir, fmt.Sprintf("%d-%d-%s", depth, i, base))
			if err := extract(m, dst, max); err != nil {
				return fmt.Errorf("member %s: %w", base, err)
			}
			if nested {
				if depth+1 >= maxDepth {
					return fmt.Errorf("member %s: archives nested too deep", base)
				}
				if err := walk(dst, depth+1); err != nil {
					return fmt.Errorf("member %s: %w", base, err)
				}
				continue
			}
			head, err := readHead(dst)
			if err != nil {
				return err
			}
			if _, err := codefile.Detect(base, head); err != nil {
				log.Debug("archive member is not a code-set file", "member", base)
				continue
			}
			// Keep the publisher's file name: it tells the release.
			final := filepath.Join(dir, fmt.Sprintf("%d-%d", depth, i), base)
			if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
				return err
			}
			if err := os.Rename(dst, final); err != nil {
				return err
			}
			files = append(files, final)
		}
		return nil
	}
	if err := walk(archive, 0); err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
	return files, nil
}

func isCodeSetName(low string) bool {
	for _, ext := range []string{".txt", ".xml", ".csv", ".tsv", ".gz"} {
		if strings.HasSuffix(low, ext) {
			return true
		}
	}
	return false
}

func extract(m *zip.File, dst string, max int64) error {
	rc, err := m.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// Reading to the end makes archive/zip check the member's CRC-32.
	n, err := io.Copy(f, io.LimitReader(rc, max+1))
	if err != nil {
		return err
	}
	if n > max {
		return errors.New("larger than allowed")
	}
	return f.Close()
}

func readHead(path string) ([]byte, error) {
	src, err := openSource(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return src.head(), nil
}
