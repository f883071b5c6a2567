package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"coffre/ingest"
)

// trustList is the 2D-Doc trust list in use, read from COFFRE_2DDOC_TRUST and read again
// every COFFRE_2DDOC_REFRESH: the operator replaces the files (the ANTS publishes new
// certificates as issuers renew them) and the service follows without a restart. A
// list that fails to read never replaces the one in use.
type trustList struct {
	path string
	cur  atomic.Pointer[ingest.TrustList]
}

// loadTrustList reads the list at path once; an unreadable list stops the start.
func loadTrustList(path string) (*trustList, error) {
	t := &trustList{path: path}
	tl, err := readTrustList(path)
	if err != nil {
		return nil, hinted{fmt.Errorf("COFFRE_2DDOC_TRUST: %w", err),
			"name a file or a directory of the ANTS trust list (XML) and PEM certificates, or leave it empty"}
	}
	t.cur.Store(tl)
	return t, nil
}

// Get returns the list in use.
func (t *trustList) Get() *ingest.TrustList { return t.cur.Load() }

// refresh reads the list again every period until ctx ends.
func (t *trustList) refresh(ctx context.Context, period time.Duration, log *slog.Logger) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := t.reload(); err != nil {
			log.Error("2d-doc trust list not refreshed: the previous one stays in use", "err", err)
		}
	}
}

// reload reads the list again; on error the one in use stays.
func (t *trustList) reload() error {
	tl, err := readTrustList(t.path)
	if err != nil {
		return err
	}
	t.cur.Store(tl)
	return nil
}

// readTrustList reads a file, or every *.xml, *.pem and *.crt file of a directory.
func readTrustList(path string) (*ingest.TrustList, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = files[:0]
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && slices.Contains([]string{".xml", ".pem", ".crt"}, ext) {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no .xml, .pem or .crt file", path)
		}
	}
	readers := make([]io.Reader, 0, len(files))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		readers = append(readers, fh)
	}
	return ingest.ReadTrustList(readers...)
}
