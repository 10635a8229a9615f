// Stock answers how many copies of a book are in stock, reading the count from the
// state store state_demo: GET /stock?name=book1 on the function port answers
// "There are 100 inventories for book1." once state_demo holds book1 = 100.
// Layotto's FaaS quickstart in one function, on Ottavo's typed ABI.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o stock.wasm ./stock
package main

import (
	"fmt"
	"net/url"

	"github.com/ottavo/wasm-sdk/abi"
	"github.com/ottavo/wasm-sdk/ottavo"
)

func init() {
	ottavo.Handle(func(req *ottavo.CommonInvokeRequest) (*ottavo.InvokeResponse, error) {
		query := ""
		if req.HttpExtension != nil {
			query = req.HttpExtension.Querystring
		}
		values, _ := url.ParseQuery(query)
		name := values.Get("name")
		if name == "" && req.Data != nil {
			name = string(req.Data.Value)
		}
		if name == "" {
			return nil, abi.Errorf(abi.InvalidArgument, "name the book: ?name=<book>")
		}
		state, err := ottavo.State.GetState(&ottavo.GetStateRequest{StoreName: "state_demo", Key: name})
		if err != nil {
			return nil, err
		}
		text := fmt.Sprintf("There are %s inventories for %s.", state.Data, name)
		return &ottavo.InvokeResponse{Data: &ottavo.Any{Value: []byte(text)}, ContentType: "text/plain"}, nil
	})
}

func main() {}
