package abi

import (
	"fmt"
	"unsafe"
)

// Status codes of the ottavo host imports: gRPC's codes (0 is OK).
const (
	OK                 uint32 = 0
	Canceled           uint32 = 1
	Unknown            uint32 = 2
	InvalidArgument    uint32 = 3
	DeadlineExceeded   uint32 = 4
	NotFound           uint32 = 5
	AlreadyExists      uint32 = 6
	PermissionDenied   uint32 = 7
	ResourceExhausted  uint32 = 8
	FailedPrecondition uint32 = 9
	Aborted            uint32 = 10
	OutOfRange         uint32 = 11
	Unimplemented      uint32 = 12
	Internal           uint32 = 13
	Unavailable        uint32 = 14
)

// Error is a failed host call, or what a function answers to fail its invocation.
type Error struct {
	Code    uint32
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("ottavo: status %d: %s", e.Code, e.Message) }

// Errorf builds an Error with a formatted message.
func Errorf(code uint32, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// HostCall is the shape of every ottavo host import: request bytes in, response bytes
// out through two out-pointers the host fills after allocating with ottavo_alloc.
type HostCall func(reqPtr unsafe.Pointer, reqLen uint32, respPtrPtr unsafe.Pointer, respLenPtr unsafe.Pointer) uint32

// Call runs a host import: encodes req, decodes the response into out, or returns an
// *Error whose message is the text the host wrote back.
func Call(fn HostCall, req Marshaler, out Unmarshaler) error {
	var e Encoder
	req.MarshalTo(&e)
	in := e.Encoded()
	var respPtr unsafe.Pointer
	var respLen uint32
	status := fn(unsafe.Pointer(unsafe.SliceData(in)), uint32(len(in)), unsafe.Pointer(&respPtr), unsafe.Pointer(&respLen))
	resp := take(respPtr, respLen)
	if status != OK {
		return &Error{Code: status, Message: string(resp)}
	}
	return out.Unmarshal(resp)
}

// Buffers the host asked for, kept reachable until the guest takes them: Go's
// collector does not move objects, so a pointer into one stays valid meanwhile.
var allocated = map[uintptr][]byte{}

//go:wasmexport ottavo_alloc
func alloc(size uint32) unsafe.Pointer {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
	p := unsafe.Pointer(unsafe.SliceData(b))
	allocated[uintptr(p)] = b
	return p
}

// take returns the buffer the host allocated at p, releasing it to the collector.
func take(p unsafe.Pointer, n uint32) []byte {
	if p == nil {
		return nil
	}
	b, ok := allocated[uintptr(p)]
	if !ok {
		return nil
	}
	delete(allocated, uintptr(p))
	if int(n) < len(b) {
		b = b[:n]
	}
	return b
}

// The ABI version this SDK speaks; the host refuses a module without a version it knows.
//
//go:wasmexport ottavo_abi_version_1
func abiVersion1() {}

//go:wasmimport ottavo output
func output(ptr unsafe.Pointer, n uint32)

//go:wasmimport ottavo log
func hostLog(level uint32, ptr unsafe.Pointer, n uint32)

// Log levels of Log.
const (
	LevelDebug uint32 = 1
	LevelInfo  uint32 = 2
	LevelWarn  uint32 = 3
	LevelError uint32 = 4
)

// Log writes a line to the runtime's log, naming the function.
func Log(level uint32, line string) {
	b := []byte(line)
	hostLog(level, unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
}

var handler func(in []byte) ([]byte, error)

// Serve registers the raw handler of invocations; the generated ottavo.Handle wraps it with types.
func Serve(h func(in []byte) ([]byte, error)) { handler = h }

//go:wasmexport ottavo_handle
func handle(ptr unsafe.Pointer, n uint32) uint32 {
	in := take(ptr, n)
	if handler == nil {
		return fail(Unimplemented, "the function registered no handler (call ottavo.Handle in init)")
	}
	out, err := handler(in)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return fail(e.Code, e.Message)
		}
		return fail(Unknown, err.Error())
	}
	output(unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
	return OK
}

func fail(code uint32, message string) uint32 {
	b := []byte(message)
	output(unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)))
	return code
}
