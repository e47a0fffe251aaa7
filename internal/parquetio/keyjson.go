package parquetio

// JSON decodes an encoded key back into its values as the commit log
// records key ranges (the JSON-friendly values of FileStats.KeyMin), for
// messages and key ranges.
func (e *KeyEncoder) JSON(k Key) ([]any, error) {
	vals, err := decodeKey(e.cols, k)
	if err != nil {
		return nil, err
	}
	return keyJSON(e.cols, vals), nil
}
