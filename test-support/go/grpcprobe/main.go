// grpcprobe calls one gRPC method with grpc-go and prints how it ended, as JSON on
// one line: {"code":N,"message":"...","response":"<base64>"}. The request and the
// response are raw protobuf bytes (base64), so it needs no generated stubs and can
// call methods the server does not know. Tests use it as "a real grpc-go client".
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// rawCodec passes the bytes through: the caller encodes and decodes the messages.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

type outcome struct {
	Code     uint32 `json:"code"`
	Message  string `json:"message"`
	Response string `json:"response,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "host:port of the server (plaintext HTTP/2)")
	method := flag.String("method", "", "the full method, /package.Service/Method")
	data := flag.String("data", "", "the request message, base64")
	timeout := flag.Duration("timeout", 10*time.Second, "the call's deadline")
	flag.Parse()
	request, err := base64.StdEncoding.DecodeString(*data)
	if err != nil || *addr == "" || *method == "" {
		fmt.Fprintln(os.Stderr, "usage: grpcprobe -addr host:port -method /pkg.Service/Method [-data base64]")
		os.Exit(2)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var response []byte
	err = conn.Invoke(ctx, *method, &request, &response)
	st := status.Convert(err)
	out := outcome{Code: uint32(st.Code()), Message: st.Message()}
	if err == nil {
		out.Response = base64.StdEncoding.EncodeToString(response)
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}
