// Package proxywasm is a small guest library for Layotto's FaaS ABI (proxy-wasm 0.2
// plus Layotto's proxy_get_state and proxy_invoke_service), written for Go's
// GOOS=wasip1 with go:wasmimport / go:wasmexport. Layotto's own functions use
// TinyGo and its fork of proxy-wasm-go-sdk; these do the same from plain Go, so
// the quickstart's functions build here and run on Ottavo as on Layotto.
package proxywasm

import "unsafe"

// Status is a proxy-wasm status code.
type Status uint32

const (
	StatusOK       Status = 0
	StatusNotFound Status = 1
)

// Error is a host call that answered a status other than OK.
type Error struct{ Status Status }

func (e Error) Error() string { return "proxy-wasm status " + itoa(uint32(e.Status)) }

const (
	bufferHTTPRequestBody  = 0
	bufferHTTPResponseBody = 1
	bufferCallData         = 8
	mapHTTPRequestHeaders  = 0
)

//go:wasmimport env proxy_log
func proxyLog(level uint32, ptr unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(bufferType, start, maxSize uint32, ptrPtr, sizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(bufferType, start, size uint32, ptr unsafe.Pointer, dataSize uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType uint32, keyPtr unsafe.Pointer, keySize uint32, valuePtrPtr, valueSizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_get_state
func proxyGetState(storePtr unsafe.Pointer, storeSize uint32, keyPtr unsafe.Pointer, keySize uint32, valuePtrPtr, valueSizePtr unsafe.Pointer) uint32

//go:wasmimport env proxy_invoke_service
func proxyInvokeService(idPtr unsafe.Pointer, idSize uint32, methodPtr unsafe.Pointer, methodSize uint32, paramPtr unsafe.Pointer, paramSize uint32, resultPtrPtr, resultSizePtr unsafe.Pointer) uint32

// Buffers the host allocated, kept reachable until taken (Go's collector does not move objects).
var allocated = map[uintptr][]byte{}

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) unsafe.Pointer {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
	p := unsafe.Pointer(unsafe.SliceData(b))
	allocated[uintptr(p)] = b
	return p
}

func take(p unsafe.Pointer, n uint32) []byte {
	b, ok := allocated[uintptr(p)]
	if !ok {
		return nil
	}
	delete(allocated, uintptr(p))
	return b[:n]
}

func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// HTTPContext is one request: the function implements OnHTTPRequestBody.
type HTTPContext interface {
	OnHTTPRequestBody(bodySize int, endOfStream bool)
}

var newContext func(contextID uint32) HTTPContext
var contexts = map[uint32]HTTPContext{}

// SetHTTPContext registers how the function makes a context per request.
func SetHTTPContext(make func(contextID uint32) HTTPContext) { newContext = make }

//go:wasmexport proxy_on_context_create
func onContextCreate(contextID, rootContextID uint32) {
	if rootContextID != 0 && newContext != nil {
		contexts[contextID] = newContext(contextID)
	}
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(contextID, headers, endOfStream uint32) uint32 { return 0 }

//go:wasmexport proxy_on_request_body
func onRequestBody(contextID, bodySize, endOfStream uint32) uint32 {
	if c, ok := contexts[contextID]; ok {
		c.OnHTTPRequestBody(int(bodySize), endOfStream != 0)
	}
	return 0
}

//go:wasmexport proxy_on_done
func onDone(contextID uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(contextID uint32) { delete(contexts, contextID) }

func getBuffer(bufferType uint32, start, size int) ([]byte, error) {
	var p unsafe.Pointer
	var n uint32
	if st := proxyGetBufferBytes(bufferType, uint32(start), uint32(size), unsafe.Pointer(&p), unsafe.Pointer(&n)); st != 0 {
		return nil, Error{Status(st)}
	}
	return take(p, n), nil
}

// GetHTTPRequestBody reads the request body (Layotto hands a GET its query string).
func GetHTTPRequestBody(start, size int) ([]byte, error) {
	return getBuffer(bufferHTTPRequestBody, start, size)
}

// GetHTTPRequestHeader reads one request header.
func GetHTTPRequestHeader(key string) (string, error) {
	k := []byte(key)
	var p unsafe.Pointer
	var n uint32
	if st := proxyGetHeaderMapValue(mapHTTPRequestHeaders, ptr(k), uint32(len(k)), unsafe.Pointer(&p), unsafe.Pointer(&n)); st != 0 {
		return "", Error{Status(st)}
	}
	return string(take(p, n)), nil
}

// AppendHTTPResponseBody adds to the response body.
func AppendHTTPResponseBody(data []byte) error {
	if st := proxySetBufferBytes(bufferHTTPResponseBody, 1<<31-1, 0, ptr(data), uint32(len(data))); st != 0 {
		return Error{Status(st)}
	}
	return nil
}

// SetCallData sets Layotto's call data buffer (how proxy_get_id reports the function's id).
func SetCallData(data []byte) {
	proxySetBufferBytes(bufferCallData, 0, 1<<31-1, ptr(data), uint32(len(data)))
}

// GetState reads a key from a state store (Layotto's proxy_get_state).
func GetState(store, key string) (string, error) {
	s, k := []byte(store), []byte(key)
	var p unsafe.Pointer
	var n uint32
	if st := proxyGetState(ptr(s), uint32(len(s)), ptr(k), uint32(len(k)), unsafe.Pointer(&p), unsafe.Pointer(&n)); st != 0 {
		return "", Error{Status(st)}
	}
	return string(take(p, n)), nil
}

// InvokeService calls another function or service by id (Layotto's proxy_invoke_service).
func InvokeService(id, method, param string) (string, error) {
	i, m, a := []byte(id), []byte(method), []byte(param)
	var p unsafe.Pointer
	var n uint32
	if st := proxyInvokeService(ptr(i), uint32(len(i)), ptr(m), uint32(len(m)), ptr(a), uint32(len(a)), unsafe.Pointer(&p), unsafe.Pointer(&n)); st != 0 {
		return "", Error{Status(st)}
	}
	return string(take(p, n)), nil
}

// LogError writes an error line to the host's log.
func LogError(line string) {
	b := []byte(line)
	proxyLog(4, ptr(b), uint32(len(b)))
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var d []byte
	for ; v > 0; v /= 10 {
		d = append([]byte{byte('0' + v%10)}, d...)
	}
	return string(d)
}
