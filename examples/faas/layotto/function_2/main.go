// function_2 of Layotto's FaaS quickstart, rebuilt from our own source: the request
// body is a book's name; it answers the stock the state store "redis" holds for it.
package main

import "github.com/ottavo/faas-layotto/proxywasm"

const id = "id_2"

type request struct{}

func (request) OnHTTPRequestBody(bodySize int, endOfStream bool) {
	body, err := proxywasm.GetHTTPRequestBody(0, bodySize)
	if err != nil {
		proxywasm.LogError("cannot read the request body: " + err.Error())
		return
	}
	stock, err := proxywasm.GetState("redis", string(body))
	if err != nil {
		proxywasm.LogError("GetState failed: " + err.Error())
		return
	}
	proxywasm.AppendHTTPResponseBody([]byte(stock))
}

func init() {
	proxywasm.SetHTTPContext(func(uint32) proxywasm.HTTPContext { return request{} })
}

//go:wasmexport proxy_get_id
func getID() { proxywasm.SetCallData([]byte(id)) }

func main() {}
