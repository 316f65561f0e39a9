package typed

import "encoding/json"

// A Codec turns values of type T into bytes and back. Unmarshal must not
// keep its argument after returning (it is the store's memory) and must
// return a T that does not share it.
type Codec[T any] interface {
	Marshal(v T) ([]byte, error)
	Unmarshal(b []byte) (T, error)
}

// JSON encodes values with encoding/json.
type JSON[T any] struct{}

// Marshal returns the JSON encoding of v.
func (JSON[T]) Marshal(v T) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON into a new T.
func (JSON[T]) Unmarshal(b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// String stores strings as their bytes.
type String struct{}

// Marshal returns the bytes of v.
func (String) Marshal(v string) ([]byte, error) { return []byte(v), nil }

// Unmarshal returns b as a string (a copy).
func (String) Unmarshal(b []byte) (string, error) { return string(b), nil }

// Bytes stores byte slices as they are.
type Bytes struct{}

// Marshal returns v itself: the store copies it.
func (Bytes) Marshal(v []byte) ([]byte, error) { return v, nil }

// Unmarshal returns a copy of b (never nil, so that a stored empty value
// reads back as a non-nil empty slice).
func (Bytes) Unmarshal(b []byte) ([]byte, error) {
	return append(make([]byte, 0, len(b)), b...), nil
}
