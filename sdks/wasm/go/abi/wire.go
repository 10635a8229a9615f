// Package abi is the hand-written half of Ottavo's Go guest SDK: protobuf's wire
// format for the generated messages, and the call convention of the ottavo host
// imports. Function authors use the generated package ottavo; this one is what
// it calls into.
package abi

import (
	"errors"
	"math"
	"sort"
)

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// Encoder appends protobuf fields to a buffer. Zero values are not written (proto3).
type Encoder struct{ b []byte }

// Marshaler is a generated message.
type Marshaler interface{ MarshalTo(e *Encoder) }

// Unmarshaler is a generated message.
type Unmarshaler interface{ Unmarshal(b []byte) error }

// Encoded returns what was encoded.
func (e *Encoder) Encoded() []byte { return e.b }

func (e *Encoder) varint(v uint64) {
	for v >= 0x80 {
		e.b = append(e.b, byte(v)|0x80)
		v >>= 7
	}
	e.b = append(e.b, byte(v))
}

func (e *Encoder) tag(num int, wt int) { e.varint(uint64(num)<<3 | uint64(wt)) }

// StringAlways writes s even when empty (an element of a repeated field).
func (e *Encoder) StringAlways(num int, s string) {
	e.tag(num, wireBytes)
	e.varint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// BytesAlways writes b even when empty (an element of a repeated field).
func (e *Encoder) BytesAlways(num int, b []byte) {
	e.tag(num, wireBytes)
	e.varint(uint64(len(b)))
	e.b = append(e.b, b...)
}

func (e *Encoder) String(num int, s string) {
	if s != "" {
		e.StringAlways(num, s)
	}
}

func (e *Encoder) Bytes(num int, b []byte) {
	if len(b) > 0 {
		e.BytesAlways(num, b)
	}
}

func (e *Encoder) Bool(num int, v bool) {
	if v {
		e.tag(num, wireVarint)
		e.varint(1)
	}
}

func (e *Encoder) Int32(num int, v int32) { e.Int64(num, int64(v)) }

func (e *Encoder) Int64(num int, v int64) {
	if v != 0 {
		e.tag(num, wireVarint)
		e.varint(uint64(v))
	}
}

func (e *Encoder) Uint32(num int, v uint32) { e.Uint64(num, uint64(v)) }

func (e *Encoder) Uint64(num int, v uint64) {
	if v != 0 {
		e.tag(num, wireVarint)
		e.varint(v)
	}
}

func (e *Encoder) Double(num int, v float64) {
	if v != 0 {
		e.tag(num, wireFixed64)
		bits := math.Float64bits(v)
		for i := 0; i < 8; i++ {
			e.b = append(e.b, byte(bits>>(8*i)))
		}
	}
}

func (e *Encoder) Float(num int, v float32) {
	if v != 0 {
		e.tag(num, wireFixed32)
		bits := math.Float32bits(v)
		for i := 0; i < 4; i++ {
			e.b = append(e.b, byte(bits>>(8*i)))
		}
	}
}

// Message writes a nested message, length-prefixed, even when it has no fields set.
func (e *Encoder) Message(num int, m Marshaler) {
	var sub Encoder
	m.MarshalTo(&sub)
	e.BytesAlways(num, sub.b)
}

// StringMap writes a map<string, string>, keys sorted so output is deterministic.
func (e *Encoder) StringMap(num int, m map[string]string) {
	for _, k := range SortedKeys(m) {
		var sub Encoder
		sub.StringAlways(1, k)
		sub.StringAlways(2, m[k])
		e.BytesAlways(num, sub.b)
	}
}

// MessageMapEntry writes one entry of a map<string, message>.
func (e *Encoder) MessageMapEntry(num int, k string, v Marshaler) {
	var sub Encoder
	sub.StringAlways(1, k)
	if v != nil {
		sub.Message(2, v)
	}
	e.BytesAlways(num, sub.b)
}

// SortedKeys returns a map's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Decoder reads protobuf fields from a buffer.
type Decoder struct {
	b []byte
	i int
}

var (
	errTruncated = errors.New("protobuf: truncated message")
	errWireType  = errors.New("protobuf: wrong wire type for field")
	errOverflow  = errors.New("protobuf: varint overflows 64 bits")
)

func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// More reports whether fields remain.
func (d *Decoder) More() bool { return d.i < len(d.b) }

func (d *Decoder) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.i >= len(d.b) {
			return 0, errTruncated
		}
		c := d.b[d.i]
		d.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errOverflow
}

// Tag reads the next field's number and wire type.
func (d *Decoder) Tag() (int, int, error) {
	v, err := d.varint()
	return int(v >> 3), int(v & 7), err
}

func (d *Decoder) fixed(n int) (uint64, error) {
	if len(d.b)-d.i < n {
		return 0, errTruncated
	}
	var v uint64
	for k := 0; k < n; k++ {
		v |= uint64(d.b[d.i+k]) << (8 * k)
	}
	d.i += n
	return v, nil
}

func (d *Decoder) lengthDelimited(wt int) ([]byte, error) {
	if wt != wireBytes {
		return nil, errWireType
	}
	n, err := d.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.i) {
		return nil, errTruncated
	}
	out := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return out, nil
}

func (d *Decoder) number(wt int) (uint64, error) {
	if wt != wireVarint {
		return 0, errWireType
	}
	return d.varint()
}

func (d *Decoder) String(wt int) (string, error) {
	b, err := d.lengthDelimited(wt)
	return string(b), err
}

func (d *Decoder) Bytes(wt int) ([]byte, error) {
	b, err := d.lengthDelimited(wt)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

func (d *Decoder) Bool(wt int) (bool, error) {
	v, err := d.number(wt)
	return v != 0, err
}

func (d *Decoder) Int32(wt int) (int32, error) {
	v, err := d.number(wt)
	return int32(v), err
}

func (d *Decoder) Int64(wt int) (int64, error) {
	v, err := d.number(wt)
	return int64(v), err
}

func (d *Decoder) Uint32(wt int) (uint32, error) {
	v, err := d.number(wt)
	return uint32(v), err
}

func (d *Decoder) Uint64(wt int) (uint64, error) { return d.number(wt) }

func (d *Decoder) Double(wt int) (float64, error) {
	if wt != wireFixed64 {
		return 0, errWireType
	}
	v, err := d.fixed(8)
	return math.Float64frombits(v), err
}

func (d *Decoder) Float(wt int) (float32, error) {
	if wt != wireFixed32 {
		return 0, errWireType
	}
	v, err := d.fixed(4)
	return math.Float32frombits(uint32(v)), err
}

// Message decodes a nested message into m.
func (d *Decoder) Message(wt int, m Unmarshaler) error {
	b, err := d.lengthDelimited(wt)
	if err != nil {
		return err
	}
	return m.Unmarshal(b)
}

// StringMapEntry decodes one entry of a map<string, string> into m.
func (d *Decoder) StringMapEntry(wt int, m map[string]string) error {
	b, err := d.lengthDelimited(wt)
	if err != nil {
		return err
	}
	entry := NewDecoder(b)
	var k, v string
	for entry.More() {
		num, ewt, err := entry.Tag()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			k, err = entry.String(ewt)
		case 2:
			v, err = entry.String(ewt)
		default:
			err = entry.Skip(ewt)
		}
		if err != nil {
			return err
		}
	}
	m[k] = v
	return nil
}

// MessageMapEntry decodes one entry of a map<string, message>: its key, and its value into v.
func (d *Decoder) MessageMapEntry(wt int, v Unmarshaler) (string, error) {
	b, err := d.lengthDelimited(wt)
	if err != nil {
		return "", err
	}
	entry := NewDecoder(b)
	var k string
	for entry.More() {
		num, ewt, err := entry.Tag()
		if err != nil {
			return "", err
		}
		switch num {
		case 1:
			k, err = entry.String(ewt)
		case 2:
			err = entry.Message(ewt, v)
		default:
			err = entry.Skip(ewt)
		}
		if err != nil {
			return "", err
		}
	}
	return k, nil
}

// Skip passes over a field this codec does not know.
func (d *Decoder) Skip(wt int) error {
	var err error
	switch wt {
	case wireVarint:
		_, err = d.varint()
	case wireFixed64:
		_, err = d.fixed(8)
	case wireBytes:
		_, err = d.lengthDelimited(wt)
	case wireFixed32:
		_, err = d.fixed(4)
	default:
		err = errWireType
	}
	return err
}

// SkipAll checks that the rest of the buffer is well-formed fields (a message with none known).
func (d *Decoder) SkipAll() error {
	for d.More() {
		_, wt, err := d.Tag()
		if err != nil {
			return err
		}
		if err := d.Skip(wt); err != nil {
			return err
		}
	}
	return nil
}
