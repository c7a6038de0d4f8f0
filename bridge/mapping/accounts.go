package mapping

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseAccounts reads the CSV table "idp_value,fuyun_account_name". Lines starting with "#" and blank lines
// are skipped; a first record reading exactly "idp_value,fuyun_account_name" (any case) is a header. Keys are
// stored after the mapping's own transform, so a table written as "Alice@Corp.com" matches under lowercase,
// and two rows that collapse to the same key are reported instead of one silently winning.
func parseAccounts(data []byte, tf transformFunc) (map[string]string, error) {
	// Spreadsheet exports often start with a byte-order mark.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1 // counted below, for a message that names the expected columns
	r.TrimLeadingSpace = true
	accounts := make(map[string]string)
	lineOf := make(map[string]int)
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err // *csv.ParseError already names the line
		}
		line, _ := r.FieldPos(0)
		if first && len(rec) == 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "idp_value") &&
			strings.EqualFold(strings.TrimSpace(rec[1]), "fuyun_account_name") {
			continue
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("line %d: want 2 fields \"idp_value,fuyun_account_name\", got %d", line, len(rec))
		}
		idp, account := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if err := checkValue(idp); err != nil {
			return nil, fmt.Errorf("line %d: idp_value %q %w", line, truncate(idp), err)
		}
		if err := checkValue(account); err != nil {
			return nil, fmt.Errorf("line %d: fuyun_account_name %q %w", line, truncate(account), err)
		}
		key, err := tf(idp)
		if err == nil {
			err = checkValue(key)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: idp_value %q %w", line, truncate(idp), err)
		}
		if prev, dup := lineOf[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate idp_value %q (after the transform: %q, first on line %d)", line, truncate(idp), truncate(key), prev)
		}
		lineOf[key] = line
		accounts[key] = account
	}
	if len(accounts) == 0 {
		return nil, errors.New("no entries; with an empty table nobody could log in")
	}
	return accounts, nil
}
