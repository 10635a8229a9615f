// Abi-tour calls any host import by name: the invocation's method names the import
// ("get_state", "try_lock", ...), its body is the encoded request, and the answer is
// the encoded response, decoded and re-encoded by the generated Go messages on the
// way. The tests drive every import through it and compare with the gRPC API.
// A few methods exercise the host's limits instead: "spin" loops forever, "grow"
// allocates until the memory cap, "panic" traps, "print" writes to stdout.
package main

import (
	"fmt"
	"os"

	"github.com/ottavo/wasm-sdk/abi"
	"github.com/ottavo/wasm-sdk/ottavo"
)

var hoard [][]byte

func init() {
	ottavo.Handle(func(req *ottavo.CommonInvokeRequest) (*ottavo.InvokeResponse, error) {
		var body []byte
		if req.Data != nil {
			body = req.Data.Value
		}
		switch req.Method {
		case "spin":
			for i := 0; ; i++ {
				if i < 0 {
					break
				}
			}
			return nil, nil
		case "grow":
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		case "panic":
			panic("abi-tour was asked to panic")
		case "print":
			fmt.Fprintln(os.Stdout, "abi-tour says", string(body))
			abi.Log(abi.LevelInfo, "abi-tour logs "+string(body))
			return &ottavo.InvokeResponse{}, nil
		}
		out, err := ottavo.CallByName(req.Method, body)
		if err != nil {
			return nil, err
		}
		return &ottavo.InvokeResponse{Data: &ottavo.Any{Value: out}}, nil
	})
}

func main() {}
