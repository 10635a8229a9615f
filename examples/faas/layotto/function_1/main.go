// function_1 of Layotto's FaaS quickstart, rebuilt from our own source: it reads the
// book's name from the request (name=<book>), asks function id_2 for its stock through
// InvokeService, and answers "There are <n> inventories for <book>.".
package main

import (
	"strings"

	"github.com/ottavo/faas-layotto/proxywasm"
)

const id = "id_1"

type request struct{}

func (request) OnHTTPRequestBody(bodySize int, endOfStream bool) {
	body, err := proxywasm.GetHTTPRequestBody(0, bodySize)
	if err != nil {
		proxywasm.LogError("cannot read the request body: " + err.Error())
		return
	}
	book := ""
	for _, pair := range strings.Split(string(body), "&") {
		if k, v, ok := strings.Cut(pair, "="); ok && k == "name" {
			book = v
		}
	}
	if book == "" {
		proxywasm.LogError("the request names no book (name=<book>)")
		return
	}
	stock, err := proxywasm.InvokeService("id_2", "", book)
	if err != nil {
		proxywasm.LogError("invoking id_2 failed: " + err.Error())
		return
	}
	proxywasm.AppendHTTPResponseBody([]byte("There are " + stock + " inventories for " + book + "."))
}

func init() {
	proxywasm.SetHTTPContext(func(uint32) proxywasm.HTTPContext { return request{} })
}

//go:wasmexport proxy_get_id
func getID() { proxywasm.SetCallData([]byte(id)) }

func main() {}
